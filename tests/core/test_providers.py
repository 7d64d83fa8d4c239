"""The provider layer against real peers: an SMTP server and an HTTP provider."""

import hashlib
import hmac
import json
import socket
from email import message_from_bytes, policy

import pytest

from core.factories import ChannelFactory
from core.providers import (
    OutboundMessage,
    ProviderError,
    adapters,
    delivery_reported,
    send_message,
    sending_session,
)
from tests.receivers import free_port

pytestmark = pytest.mark.django_db

SECRET = "provider-secret"


def message(**overrides):
    return OutboundMessage(
        **{
            "to": "sara@example.com",
            "text": "Hello Sara",
            "idempotency_key": "campaign-1:customer-9",
            **overrides,
        }
    )


@pytest.mark.smtp
def test_email_goes_through_a_real_smtp_server_with_a_stable_message_id(smtp_server):
    channel = ChannelFactory(code="email", kind="email", provider="smtp")
    result = send_message(channel, message(subject="Welcome", html="<p>Hello Sara</p>"))
    envelope = smtp_server.wait_for(1)[0]
    assert envelope.rcpt_tos == ["sara@example.com"]
    received = message_from_bytes(envelope.content, policy=policy.default)
    assert received["Subject"] == "Welcome"
    assert (
        received["Message-ID"].strip()
        == result.provider_message_id
        == "<campaign-1.customer-9@localhost>"
    )
    # A retry of the same send carries the same Message-ID, so mail systems can drop it.
    assert (
        send_message(channel, message(subject="Welcome")).provider_message_id
        == result.provider_message_id
    )
    assert {part.get_content_type() for part in received.walk()} >= {"text/plain", "text/html"}


@pytest.mark.smtp
def test_a_sending_session_sends_many_emails_over_one_smtp_connection(smtp_server):
    channel = ChannelFactory(code="email", kind="email", provider="smtp")
    with sending_session():
        for index in range(20):
            send_message(channel, message(to=f"c{index}@example.com", idempotency_key=f"k-{index}"))
    send_message(channel, message(idempotency_key="outside"))
    send_message(channel, message(idempotency_key="outside-2"))
    smtp_server.wait_for(22)
    assert len(smtp_server.messages) == 22
    assert len(set(smtp_server.peers[:20])) == 1  # one connection for the session
    assert len(set(smtp_server.peers[20:])) == 2  # one each outside it


@pytest.mark.smtp
def test_a_session_reconnects_after_the_server_drops_it(smtp_server):
    channel = ChannelFactory(code="email", kind="email", provider="smtp")
    with sending_session():
        send_message(channel, message(idempotency_key="a"))
        adapters._session.smtp.connection.sock.shutdown(socket.SHUT_RDWR)  # the link drops
        with pytest.raises(ProviderError) as error:
            send_message(channel, message(idempotency_key="b"))
        assert error.value.retryable
        send_message(channel, message(idempotency_key="b"))  # the retry reconnects
    assert len(smtp_server.wait_for(2)) == 2


@pytest.mark.smtp
def test_unreachable_smtp_is_a_retryable_error(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    channel = ChannelFactory(code="email", kind="email", provider="smtp")
    with pytest.raises(ProviderError) as error:
        send_message(channel, message())
    assert error.value.retryable


def http_channel(url):
    return ChannelFactory(
        code="sms", kind="sms", provider="http", provider_settings={"url": url, "secret": SECRET}
    )


def test_http_provider_posts_signed_json_and_returns_the_provider_id(http_receiver):
    http_receiver.reply = {"id": "gw-123"}
    result = send_message(http_channel(http_receiver.url), message(to="+989121234567"))
    assert result.provider_message_id == "gw-123"
    headers, body = http_receiver.received[0]
    assert (
        headers["X-Omni-Signature"]
        == "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    )
    assert headers["Idempotency-Key"] == "campaign-1:customer-9"
    assert json.loads(body)["to"] == "+989121234567"


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (429, True), (400, False)])
def test_http_provider_failures_say_whether_to_retry(http_receiver, status, retryable):
    http_receiver.fail_next, http_receiver.fail_status = 1, status
    with pytest.raises(ProviderError) as error:
        send_message(http_channel(http_receiver.url), message())
    assert error.value.retryable is retryable


def test_http_channel_without_settings_is_refused_plainly():
    channel = ChannelFactory(code="sms", kind="sms", provider="http", provider_settings={})
    with pytest.raises(ProviderError, match="url"):
        send_message(channel, message())


class TestDeliveryReports:
    def post(self, client, body, secret=SECRET):
        raw = json.dumps(body).encode()
        signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        return client.post(
            "/api/v1/providers/sms/delivery-reports",
            raw,
            content_type="application/json",
            HTTP_X_OMNI_SIGNATURE=signature,
        )

    def test_signed_report_reaches_the_apps(self, client):
        http_channel("https://gw.example.com/send")
        reports = []

        def receive(sender, **kwargs):
            reports.append(kwargs)

        delivery_reported.connect(receive)
        try:
            response = self.post(client, {"id": "gw-123", "status": "delivered"})
        finally:
            delivery_reported.disconnect(receive)
        assert response.status_code == 202
        assert reports[0]["provider_message_id"] == "gw-123"
        assert reports[0]["status"] == "delivered"

    def test_forged_report_is_refused(self, client):
        http_channel("https://gw.example.com/send")
        response = self.post(client, {"id": "gw-123", "status": "delivered"}, secret="guess")
        assert response.status_code in (401, 403)
        assert response.json()["error"]["code"] == "not_authenticated"

    def test_bad_status_names_the_field(self, client):
        http_channel("https://gw.example.com/send")
        response = self.post(client, {"id": "gw-123", "status": "eaten"})
        assert response.status_code == 400
        assert "status" in response.json()["error"]["fields"]
