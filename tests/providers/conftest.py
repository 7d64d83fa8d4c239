"""Provider test servers as fixtures, importable by any test package:

    from tests.providers.conftest import whatsapp_server  # noqa: F401  (a pytest fixture)

`whatsapp_server` (and `meta_server`, the same server for Messenger and Instagram) speaks the
Graph API (tests/providers/meta_server.py); `telegram_server` the Bot API
(tests/providers/telegram_server.py). Each exposes `.url` (a channel's api_base_url),
`.received`, `.accepted` and its switches (`.fail_next_with_429 = n`, ...)."""

import pytest

from tests.providers.meta_server import MetaServer
from tests.providers.telegram_server import TelegramServer
from tests.support.conftest import make_channel


@pytest.fixture
def meta_server():
    server = MetaServer()
    yield server
    server.close()


@pytest.fixture
def whatsapp_server(meta_server):
    return meta_server


@pytest.fixture
def telegram_server():
    server = TelegramServer()
    yield server
    server.close()


# --- channels wired to those servers, and an agent in the inbox ----------------------------
@pytest.fixture
def agent(client, staff_in_role):
    user = staff_in_role("Support agent", username="maryam")
    client.force_login(user)
    return user


def provider_channel(code, kind, provider, **settings):
    return make_channel(code, kind, provider=provider, **settings)


@pytest.fixture
def telegram_channel(db, telegram_server):
    return provider_channel(
        "tg-shop",
        "telegram",
        "telegram",
        bot_token=telegram_server.token,
        api_base_url=telegram_server.url,
    )


@pytest.fixture
def whatsapp_channel(db, whatsapp_server):
    return provider_channel(
        "wa-shop",
        "whatsapp",
        "whatsapp",
        access_token=whatsapp_server.token,
        phone_number_id=whatsapp_server.phone_number_id,
        api_version=whatsapp_server.version,
        api_base_url=whatsapp_server.url,
    )


@pytest.fixture
def messenger_channel(db, meta_server):
    return provider_channel(
        "fb-shop",
        "messenger",
        "messenger",
        page_access_token=meta_server.page_token,
        api_base_url=meta_server.url,
    )


@pytest.fixture
def instagram_channel(db, meta_server):
    return provider_channel(
        "ig-shop",
        "instagram",
        "instagram",
        page_access_token=meta_server.page_token,
        api_version=meta_server.version,
        api_base_url=meta_server.url,
        human_agent_tag=True,
    )
