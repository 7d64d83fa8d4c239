"""Provider test servers as fixtures, importable by any test package:

    from tests.providers.conftest import whatsapp_server  # noqa: F401  (a pytest fixture)

`whatsapp_server` (and `meta_server`, the same server for Messenger and Instagram) speaks the
Graph API (tests/providers/meta_server.py); `telegram_server` the Bot API
(tests/providers/telegram_server.py). Each exposes `.url` (a channel's api_base_url),
`.received`, `.accepted` and its switches (`.fail_next_with_429 = n`, ...)."""

import pytest

from tests.providers.meta_server import MetaServer
from tests.providers.telegram_server import TelegramServer


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
