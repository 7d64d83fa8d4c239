"""The provider layer: how a message leaves through a channel.

Support replies and campaign sends both call `send_message(channel, message)`; the channel's
`provider` picks the adapter:

- `console`: logs the message (the embedded default; nothing leaves the machine);
- `smtp`: Django's email backend (SMTP in production, set by EMAIL_URL);
- `http`: POSTs JSON to `provider_settings["url"]`, signed with HMAC-SHA256 under
  `provider_settings["secret"]`; the provider later reports delivery to
  `/api/v1/providers/<channel code>/delivery-reports`, signed the same way.

Adapters raise `ProviderError(retryable=...)`; callers (Celery tasks) retry the retryable ones.
Every call is bounded in time: SMTP by EMAIL_TIMEOUT (30 s when unset), HTTP by the channel's
`provider_settings["timeout"]` (10 s by default, at most 60); a timeout is retryable.
Every message carries an idempotency key, passed to the provider (SMTP Message-ID, HTTP
`Idempotency-Key`) so a retried send is recognisable downstream too.
"""

from contextlib import contextmanager
from dataclasses import dataclass, field

import django.dispatch

# Sent when a provider reports a delivery status; apps that own message rows connect to it.
# kwargs: channel, provider_message_id, status ("delivered", "failed", "bounced", "complained",
# "read"), detail (dict).
delivery_reported = django.dispatch.Signal()


@dataclass
class OutboundMessage:
    to: str
    text: str
    idempotency_key: str
    subject: str = ""
    html: str = ""
    headers: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)


@dataclass
class SendResult:
    provider_message_id: str
    status: str = "sent"


class ProviderError(Exception):
    def __init__(self, message, *, retryable):
        super().__init__(message)
        self.retryable = retryable


def provider_for(channel):
    from core.providers.adapters import ADAPTERS

    name = channel.provider or "console"
    try:
        return ADAPTERS[name](channel)
    except KeyError:
        raise ProviderError(
            f"Channel {channel.code} has no usable provider ({name!r}).", retryable=False
        ) from None


def send_message(channel, message: OutboundMessage) -> SendResult:
    """Send one message through the channel's provider. Raises ProviderError."""
    return provider_for(channel).send(message)


@contextmanager
def sending_session():
    """Within this block, sends on this thread reuse their provider connections (one SMTP
    session for many emails instead of a handshake each). Bulk senders wrap their loop:

        with sending_session():
            for message in batch:
                send_message(channel, message)
    """
    from core.providers.adapters import close_session, open_session

    opened = open_session()
    try:
        yield
    finally:
        if opened:
            close_session()
