"""Provider adapters: console, SMTP (Django's email backend) and signed HTTP."""

import json
import logging
import re
import threading
import urllib.error
import urllib.request

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from core.providers import OutboundMessage, ProviderError, SendResult
from core.services.outbox import post_signed

logger = logging.getLogger("omni.providers")
HTTP_TIMEOUT_SECONDS = 10
_session = threading.local()


def open_session() -> bool:
    """Start reusing connections on this thread; False if a session is already open."""
    if getattr(_session, "active", False):
        return False
    _session.active, _session.smtp = True, None
    return True


def close_session():
    smtp = getattr(_session, "smtp", None)
    _session.active, _session.smtp = False, None
    if smtp is not None:
        try:
            smtp.close()
        except OSError:
            logger.warning("closing the SMTP session failed", exc_info=True)


def _smtp_connection():
    """The session's open SMTP connection (opened on first use), or a fresh one per send
    outside a session."""
    if not getattr(_session, "active", False):
        return get_connection(fail_silently=False)
    if _session.smtp is None:
        connection = get_connection(fail_silently=False)
        connection.open()
        _session.smtp = connection
    return _session.smtp


def _drop_smtp_session():
    # After a failure the server may have closed the connection; the next send reopens it.
    if getattr(_session, "active", False) and _session.smtp is not None:
        try:
            _session.smtp.close()
        except OSError:
            pass
        _session.smtp = None


class ConsoleProvider:
    def __init__(self, channel):
        self.channel = channel

    def send(self, message: OutboundMessage) -> SendResult:
        logger.info(
            "[%s] to %s: %s %s", self.channel.code, message.to, message.subject, message.text[:200]
        )
        return SendResult(provider_message_id=f"console-{message.idempotency_key}")


class SmtpProvider:
    """Email through Django's email backend. The Message-ID is derived from the idempotency
    key, so a retried send carries the same id and mail systems can drop the duplicate."""

    def __init__(self, channel):
        self.channel = channel

    def send(self, message: OutboundMessage) -> SendResult:
        domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(">") or "localhost"
        local_part = re.sub(r"[^A-Za-z0-9._-]", ".", message.idempotency_key)
        message_id = f"<{local_part}@{domain}>"
        from_email = self.channel.provider_settings.get("from_email") or settings.DEFAULT_FROM_EMAIL
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.text,
            from_email=from_email,
            to=[message.to],
            headers={"Message-ID": message_id, **message.headers},
        )
        if message.html:
            email.attach_alternative(message.html, "text/html")
        try:
            email.connection = _smtp_connection()
            if email.send() != 1:
                raise OSError("the email backend sent nothing")
        except (OSError, ConnectionError) as error:  # smtplib errors are OSError subclasses
            _drop_smtp_session()
            raise ProviderError(f"SMTP send failed: {error}", retryable=True) from error
        return SendResult(provider_message_id=message_id)


class HttpProvider:
    """A messaging provider (SMS gateway, WhatsApp/Telegram/Instagram bridge) reached by a
    signed JSON POST. It answers `{"id": "<provider message id>"}`."""

    def __init__(self, channel):
        self.channel = channel
        self.url = channel.provider_settings.get("url", "")
        self.secret = channel.provider_settings.get("secret", "")
        if not self.url.startswith(("http://", "https://")) or not self.secret:
            raise ProviderError(
                f"Channel {channel.code}: provider_settings need an http(s) 'url' and a 'secret'.",
                retryable=False,
            )

    def send(self, message: OutboundMessage) -> SendResult:
        body = json.dumps(
            {
                "channel": self.channel.kind,
                "to": message.to,
                "text": message.text,
                "subject": message.subject,
                "metadata": message.metadata,
            }
        ).encode()
        try:
            _status, answer = post_signed(
                self.url,
                self.secret,
                body,
                headers={"Idempotency-Key": message.idempotency_key},
                timeout=HTTP_TIMEOUT_SECONDS,
            )
            answer = json.loads(answer or b"{}")
        except urllib.error.HTTPError as error:
            # 4xx: the provider refused this message; retrying will not help. 5xx/429: retry.
            retryable = error.code >= 500 or error.code == 429
            raise ProviderError(f"provider answered {error.code}", retryable=retryable) from error
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise ProviderError(f"provider unreachable: {error}", retryable=True) from error
        return SendResult(provider_message_id=str(answer.get("id") or message.idempotency_key))


ADAPTERS = {"console": ConsoleProvider, "smtp": SmtpProvider, "http": HttpProvider}
