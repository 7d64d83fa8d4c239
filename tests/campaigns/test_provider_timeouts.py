"""Every provider call is bounded in time, against real peers that never answer: an SMTP
server that accepts the connection and says nothing, an HTTP provider that reads the request
and says nothing. Each send gives up on its timeout with a retryable error (the campaign
row then waits and is sent again: test_fault_smtp_and_slow_provider.py)."""

import socket
import threading

import pytest

from core.factories import ChannelFactory
from core.providers import OutboundMessage, ProviderError, send_message, sending_session
from core.providers.adapters import HTTP_TIMEOUT_MAX_SECONDS, HTTP_TIMEOUT_SECONDS, HttpProvider

pytestmark = pytest.mark.django_db


class SilentPeer:
    """A real TCP server on loopback that accepts connections, reads what comes and never
    answers, until closed."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = []
        self.closed = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.closed.is_set():
            try:
                peer, _address = self.listener.accept()
            except OSError:
                return
            self.accepted.append(peer)

    def close(self):
        self.closed.set()
        self.listener.close()
        for peer in self.accepted:
            peer.close()


@pytest.fixture
def silent_peer():
    peer = SilentPeer()
    yield peer
    peer.close()


def message():
    return OutboundMessage(to="sara@example.com", text="Hello", idempotency_key="c1-u1")


@pytest.mark.smtp
def test_an_smtp_server_that_never_answers_costs_one_timeout(settings, silent_peer):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", silent_peer.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 0.3
    channel = ChannelFactory(code="email", kind="email", provider="smtp")
    with sending_session(), pytest.raises(ProviderError) as error:
        send_message(channel, message())
    assert error.value.retryable
    assert "timed out" in str(error.value)
    assert silent_peer.accepted  # it connected, then gave up waiting for the greeting


def test_an_http_provider_that_never_answers_costs_the_channels_timeout(silent_peer):
    channel = ChannelFactory(
        code="sms",
        kind="sms",
        provider="http",
        provider_settings={
            "url": f"http://127.0.0.1:{silent_peer.port}/send",
            "secret": "s",
            "timeout": 0.3,
        },
    )
    with pytest.raises(ProviderError) as error:
        send_message(channel, message())
    assert error.value.retryable
    assert "timed out" in str(error.value)


@pytest.mark.parametrize(
    ("given", "used"),
    [
        (None, HTTP_TIMEOUT_SECONDS),
        ("2.5", 2.5),
        (0, 0.1),  # 0 would mean "wait for ever" to a socket
        (-5, 0.1),
        (10_000, HTTP_TIMEOUT_MAX_SECONDS),
        ("soon", HTTP_TIMEOUT_SECONDS),
    ],
)
def test_an_http_channels_timeout_is_always_bounded(given, used):
    settings = {"url": "http://127.0.0.1:9/send", "secret": "s"}
    if given is not None:
        settings["timeout"] = given
    channel = ChannelFactory(code="sms", kind="sms", provider="http", provider_settings=settings)
    assert HttpProvider(channel).timeout == used
