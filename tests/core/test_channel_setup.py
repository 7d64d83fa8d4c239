"""The channel set-up page, through its door: who may open it, settings saved with secrets
never shown back, http(s)-only API addresses, the webhook URLs to paste, a test message to a
real local HTTP server (and to a dead port), and WhatsApp's template registry."""

import re

import pytest
from django.test import Client

from core.factories import ChannelFactory
from core.models import Channel, ProviderTemplate
from core.roles import ADMINISTRATOR, MARKETER, SUPPORT_AGENT
from tests.receivers import free_port

pytestmark = pytest.mark.django_db

BOT_TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
INBOUND = "inbound-secret-of-the-telegram-channel"


@pytest.fixture
def admin_client(staff_in_role):
    client = Client(raise_request_exception=False)
    client.force_login(staff_in_role(ADMINISTRATOR))
    return client


@pytest.fixture
def telegram():
    return ChannelFactory(code="tg", name="Telegram shop", kind="telegram", messages=True)


def setup_url(channel):
    return f"/channels/{channel.code}/setup/"


@pytest.mark.parametrize("role", [SUPPORT_AGENT, MARKETER])
def test_other_roles_get_403_and_see_no_set_up_link(staff_in_role, telegram, role):
    client = Client(raise_request_exception=False)
    client.force_login(staff_in_role(role))
    listing = client.get("/channels/").content.decode()
    assert setup_url(telegram) not in listing
    assert client.get(setup_url(telegram)).status_code == 403
    assert client.post(setup_url(telegram), {"provider": "console"}).status_code == 403
    test = client.post(f"{setup_url(telegram)}test-message", {"recipient": "1", "text": "x"})
    assert test.status_code == 403
    telegram.refresh_from_db()
    assert telegram.provider == ""


def test_administrator_reaches_the_page_from_the_channel_list(admin_client, telegram):
    listing = admin_client.get("/channels/").content.decode()
    assert setup_url(telegram) in listing
    page = admin_client.get(setup_url(telegram))
    assert page.status_code == 200
    html = page.content.decode()
    assert "/api/v1/inbound/telegram?channel=tg" in html
    assert "X-Telegram-Bot-Api-Secret-Token" in html


def test_settings_saved_and_secrets_never_shown_again(admin_client, telegram):
    # Choosing the provider first shows its fields.
    response = admin_client.post(setup_url(telegram), {"provider": "telegram", "fields_for": ""})
    assert response.status_code == 302
    page = admin_client.get(setup_url(telegram)).content.decode()
    assert 'name="bot_token"' in page
    response = admin_client.post(
        setup_url(telegram),
        {
            "provider": "telegram",
            "fields_for": "telegram",
            "bot_token": BOT_TOKEN,
            "inbound_secret": INBOUND,
            "api_base_url": "https://bot-api.example.com",
            "timeout": "۵",  # Persian digits read as 5
        },
    )
    assert response.status_code == 302
    telegram.refresh_from_db()
    assert telegram.provider == "telegram"
    assert telegram.provider_settings == {
        "bot_token": BOT_TOKEN,
        "inbound_secret": INBOUND,
        "api_base_url": "https://bot-api.example.com",
        "timeout": 5.0,
    }
    page = admin_client.get(setup_url(telegram)).content.decode()
    assert BOT_TOKEN not in page and INBOUND not in page
    assert "••••w11" not in page and "••••ew11" in page  # the last four characters only
    assert "••••" + INBOUND[-4:] in page

    # Empty secret fields keep the stored values; a typed one replaces it.
    response = admin_client.post(
        setup_url(telegram),
        {
            "provider": "telegram",
            "fields_for": "telegram",
            "bot_token": "",
            "inbound_secret": "a-brand-new-inbound-secret",
            "api_base_url": "",
            "timeout": "",
        },
    )
    assert response.status_code == 302
    telegram.refresh_from_db()
    assert telegram.provider_settings == {
        "bot_token": BOT_TOKEN,
        "inbound_secret": "a-brand-new-inbound-secret",
    }


def test_a_required_setting_left_empty_is_a_form_error(admin_client, telegram):
    telegram.provider = "telegram"
    telegram.save()
    response = admin_client.post(
        setup_url(telegram), {"provider": "telegram", "fields_for": "telegram"}
    )
    assert response.status_code == 400
    assert 'data-error-for="bot_token"' in response.content.decode()


@pytest.mark.parametrize(
    "bad",
    [
        "file:///etc/passwd",
        "javascript:alert(1)",
        " java\tscript:alert(1)",
        "//evil.example",
        "ftp://x.example",
    ],
)
def test_an_api_base_url_must_be_http_or_https(admin_client, telegram, bad):
    telegram.provider = "telegram"
    telegram.provider_settings = {"bot_token": BOT_TOKEN}
    telegram.save()
    response = admin_client.post(
        setup_url(telegram),
        {"provider": "telegram", "fields_for": "telegram", "api_base_url": bad},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-error-for="api_base_url"' in html
    assert BOT_TOKEN not in html
    telegram.refresh_from_db()
    assert "api_base_url" not in telegram.provider_settings


def test_an_inbound_secret_generated_is_shown_once_then_masked(admin_client, telegram):
    page = admin_client.get(setup_url(telegram)).content.decode()
    assert 'data-action="generate-secret"' in page
    response = admin_client.post(f"{setup_url(telegram)}inbound-secret")
    assert response.status_code == 200
    telegram.refresh_from_db()
    secret = telegram.provider_settings["inbound_secret"]
    assert len(secret) >= 32 and secret in response.content.decode()
    again = admin_client.get(setup_url(telegram)).content.decode()
    assert secret not in again and "••••" + secret[-4:] in again
    assert 'data-action="generate-secret"' not in again
    # A second press does not replace a secret already pasted into the provider's console.
    admin_client.post(f"{setup_url(telegram)}inbound-secret")
    telegram.refresh_from_db()
    assert telegram.provider_settings["inbound_secret"] == secret


def test_meta_channels_take_the_app_secret_and_show_the_verify_handshake(admin_client):
    whatsapp = ChannelFactory(code="wa", name="WhatsApp", kind="whatsapp", provider="whatsapp")
    html = admin_client.get(setup_url(whatsapp)).content.decode()
    for name in (
        "access_token",
        "phone_number_id",
        "api_version",
        "inbound_secret",
        "verify_token",
    ):
        assert f'name="{name}"' in html
    assert "X-Hub-Signature-256" in html
    assert 'data-action="generate-secret"' not in html  # Meta's App Secret is copied, not made


def test_a_test_message_reaches_a_real_http_provider_and_shows_its_id(admin_client, http_receiver):
    http_receiver.reply = {"id": "prov-msg-42"}
    sms = ChannelFactory(
        code="sms-gw",
        name="SMS gateway",
        kind="sms",
        provider="http",
        provider_settings={"url": http_receiver.url, "secret": "http-provider-signing-secret"},
    )
    response = admin_client.post(
        f"{setup_url(sms)}test-message", {"recipient": "+98 912 123 4567", "text": "Hello"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-test-outcome="sent"' in html and "prov-msg-42" in html
    assert "http-provider-signing-secret" not in html
    [body] = http_receiver.json_bodies()
    assert body["to"] == "+989121234567" and body["text"] == "Hello"


def test_a_test_message_to_a_dead_provider_shows_the_error_not_a_500(admin_client):
    sms = ChannelFactory(
        code="sms-dead",
        name="Dead gateway",
        kind="sms",
        provider="http",
        provider_settings={"url": f"http://127.0.0.1:{free_port()}/hook", "secret": "s3cret-value"},
    )
    response = admin_client.post(
        f"{setup_url(sms)}test-message", {"recipient": "+989121234567", "text": "Hello"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-test-outcome="failed"' in html
    assert "unreachable" in html


def test_a_refused_test_message_shows_the_mapped_scope(admin_client, http_receiver):
    http_receiver.fail_next, http_receiver.fail_status = 1, 400
    sms = ChannelFactory(
        code="sms-refuses",
        name="Refusing gateway",
        kind="sms",
        provider="http",
        provider_settings={"url": http_receiver.url, "secret": "s3cret-value"},
    )
    response = admin_client.post(
        f"{setup_url(sms)}test-message", {"recipient": "+989121234567", "text": "Hello"}
    )
    html = response.content.decode()
    assert 'data-test-outcome="failed"' in html and "answered 400" in html


def test_a_bad_recipient_names_the_field(admin_client, telegram):
    response = admin_client.post(
        f"{setup_url(telegram)}test-message", {"recipient": "not a chat", "text": "Hello"}
    )
    assert response.status_code == 400
    assert 'data-error-for="recipient"' in response.content.decode()


def test_test_messages_are_rate_limited_per_user(admin_client):
    channel = ChannelFactory(code="console-sms", name="Console SMS", kind="sms", provider="console")
    statuses = [
        admin_client.post(
            f"{setup_url(channel)}test-message", {"recipient": "+989121234567", "text": "Hi"}
        ).status_code
        for _ in range(6)
    ]
    assert statuses == [200] * 5 + [429]


def test_whatsapp_templates_are_added_and_deactivated_on_the_page(admin_client):
    whatsapp = ChannelFactory(code="wa", name="WhatsApp", kind="whatsapp", provider="whatsapp")
    response = admin_client.post(
        f"{setup_url(whatsapp)}templates",
        {
            "name": "order_ready",
            "language": "fa",
            "text": "سفارش {{1}} آماده است",
            "parameters": "order_number",
        },
    )
    assert response.status_code == 302
    template = ProviderTemplate.objects.get(channel=whatsapp)
    assert template.parameters == ["order_number"] and template.is_active
    duplicate = admin_client.post(
        f"{setup_url(whatsapp)}templates", {"name": "order_ready", "language": "fa"}
    )
    assert duplicate.status_code == 400
    assert 'data-error-for="name"' in duplicate.content.decode()
    bad = admin_client.post(
        f"{setup_url(whatsapp)}templates", {"name": "Order Ready!", "language": "farsi"}
    )
    assert bad.status_code == 400
    html = bad.content.decode()
    assert 'data-error-for="name"' in html and 'data-error-for="language"' in html
    page = admin_client.get(setup_url(whatsapp)).content.decode()
    assert 'data-template="order_ready"' in page
    admin_client.post(f"{setup_url(whatsapp)}templates/{template.pk}/deactivate")
    template.refresh_from_db()
    assert not template.is_active


def test_the_page_reads_right_to_left_in_persian(admin_client, telegram):
    admin_client.cookies["django_language"] = "fa"
    response = admin_client.get(setup_url(telegram), HTTP_ACCEPT_LANGUAGE="fa")
    assert response.status_code == 200
    assert 'dir="rtl"' in response.content.decode()
    assert Channel.objects.filter(code="tg").exists()


def test_the_verify_token_saved_on_the_page_answers_metas_handshake(admin_client):
    whatsapp = ChannelFactory(code="wa", name="WhatsApp", kind="whatsapp", provider="whatsapp")
    response = admin_client.post(
        setup_url(whatsapp),
        {
            "provider": "whatsapp",
            "fields_for": "whatsapp",
            "access_token": "EAAG-access-token-of-the-shop",
            "phone_number_id": "106540352242922",
            "inbound_secret": "meta-app-secret-0123456789",
            "verify_token": "token-typed-in-meta",
        },
    )
    assert response.status_code == 302
    hook = "/api/v1/inbound/whatsapp?channel=wa"
    assert hook in admin_client.get(setup_url(whatsapp)).content.decode()
    meta = Client()
    ok = meta.get(
        hook + "&hub.mode=subscribe&hub.verify_token=token-typed-in-meta&hub.challenge=8472"
    )
    assert ok.status_code == 200 and ok.content == b"8472"
    for query in (
        "&hub.mode=subscribe&hub.verify_token=token-typed-in-mets&hub.challenge=1",
        "&hub.mode=unsubscribe&hub.verify_token=token-typed-in-meta&hub.challenge=1",
        "&hub.mode=subscribe&hub.challenge=1",
    ):
        assert meta.get(hook + query).status_code == 401


def test_messenger_settings_include_the_human_agent_tag(admin_client):
    messenger = ChannelFactory(code="fb", name="Messenger", kind="messenger", provider="messenger")
    response = admin_client.post(
        setup_url(messenger),
        {
            "provider": "messenger",
            "fields_for": "messenger",
            "page_access_token": "EAAG-page-token-0123456789",
            "api_version": "v21.0",
            "human_agent_tag": "on",
        },
    )
    assert response.status_code == 302
    messenger.refresh_from_db()
    assert messenger.provider_settings["human_agent_tag"] is True
    assert messenger.provider_settings["api_version"] == "v21.0"
    html = admin_client.get(setup_url(messenger)).content.decode()
    assert "EAAG-page-token-0123456789" not in html and "••••6789" in html
    assert re.search(r"<input[^>]*name=\"human_agent_tag\"[^>]*checked", html)


def test_webhook_urls_are_absolute_from_site_url_and_a_mismatch_is_said(
    admin_client, telegram, settings
):
    settings.SITE_URL = "https://shop.example.com"
    html = admin_client.get(setup_url(telegram)).content.decode()
    assert "https://shop.example.com/api/v1/inbound/telegram?channel=tg" in html
    assert "data-site-url-differs" in html  # the page was opened at testserver
    settings.SITE_URL = "http://testserver"
    html = admin_client.get(setup_url(telegram)).content.decode()
    assert "http://testserver/api/v1/inbound/telegram?channel=tg" in html
    assert "data-site-url-differs" not in html
