"""The provider layer: how a message leaves through a channel.

Support replies and campaign sends both call `send_message(channel, message)`; the channel's
`provider` picks the adapter:

- `console`: logs the message (the embedded default; nothing leaves the machine);
- `smtp`: Django's email backend (SMTP in production, set by EMAIL_URL);
- `http`: POSTs JSON to `provider_settings["url"]`, signed with HMAC-SHA256 under
  `provider_settings["secret"]`; the provider later reports delivery to
  `/api/v1/providers/<channel code>/delivery-reports`, signed the same way.

- `telegram`, `whatsapp`, `messenger`, `instagram`, `twilio`, `kavenegar`: each provider's own
  documented API (one module each in this package), credentials in `provider_settings`, and
  `provider_settings["api_base_url"]` overriding the provider's public host (tests, proxies,
  regional endpoints).

Adapters map every failure once, to a `ProviderError` whose `scope` says what it means:
`retry` (try again later, after `retry_after` seconds when the provider said so), `message`
(this message cannot be sent; others may) or `recipient` (this address cannot be reached on
this channel any more: the caller marks the identity unreachable and sends it nothing more).
Support replies and campaign sends read that mapping alike.
Every call is bounded in time: SMTP by EMAIL_TIMEOUT (30 s when unset), HTTP by the channel's
`provider_settings["timeout"]` (10 s by default, at most 60); a timeout is retryable.
Every message carries an idempotency key, passed to the provider (SMTP Message-ID, HTTP
`Idempotency-Key`) so a retried send is recognisable downstream too.
"""

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

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
    # A provider-approved template instead of free text (WhatsApp outside the 24-hour
    # window, campaigns on WhatsApp): {"name": ..., "language": ..., "parameters": [str, ...]}.
    template: dict | None = None
    # Files to send with the text: [{"url": ..., "content_type": ..., "name": ...}].
    attachments: list = field(default_factory=list)
    # When the recipient last wrote to us on this channel (Meta's 24-hour window), if known.
    last_inbound_at: datetime | None = None


@dataclass
class SendResult:
    provider_message_id: str
    status: str = "sent"


class ProviderError(Exception):
    """A send that did not happen. `scope`: RETRY (later, after `retry_after` seconds when
    known), MESSAGE (this message is refused) or RECIPIENT (the address is unreachable on this
    channel for good). `code` is the provider's own error code, kept on the message."""

    RETRY = "retry"
    MESSAGE = "message"
    RECIPIENT = "recipient"

    def __init__(self, message, *, retryable=None, scope=None, retry_after=None, code=""):
        super().__init__(message)
        if scope is None:
            scope = self.RETRY if retryable else self.MESSAGE
        self.scope = scope
        self.retry_after = retry_after
        self.code = str(code or "")

    @property
    def retryable(self) -> bool:
        return self.scope == self.RETRY

    @property
    def recipient_unreachable(self) -> bool:
        return self.scope == self.RECIPIENT

    def after_part_sent(self) -> "ProviderError":
        """This error, met on a later part of a message whose first part reached the
        recipient: retrying would send that part twice, so it is not retried (an unreachable
        recipient stays unreachable)."""
        error = ProviderError(
            f"{self} (after part of the message was sent)",
            scope=self.scope if self.recipient_unreachable else self.MESSAGE,
            code=self.code,
        )
        error.__cause__ = self
        return error


def provider_for(channel):
    # The adapters import this package's types: a module-level import would be a cycle.
    from core.providers.adapters import adapter_class  # noqa: PLC0415

    name = channel.provider or "console"
    adapter = adapter_class(name)
    if adapter is None:
        raise ProviderError(
            f"Channel {channel.code} has no usable provider ({name!r}).", retryable=False
        )
    return adapter(channel)


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
    from core.providers.adapters import close_session, open_session  # noqa: PLC0415 (cycle)

    opened = open_session()
    try:
        yield
    finally:
        if opened:
            close_session()
