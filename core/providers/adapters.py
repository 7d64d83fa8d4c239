"""Provider adapters: console, SMTP (Django's email backend) and signed HTTP."""

import importlib
import json
import logging
import re
import threading
import urllib.error
import urllib.request

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend

from core.providers import OutboundMessage, ProviderError, SendResult
from core.providers.mime import InvalidEmail, compose, envelope_address
from core.services.outbox import post_signed

logger = logging.getLogger("omni.providers")
# Every provider call is bounded: a provider that answers slowly costs a sending thread at
# most this long, then the send is a retryable error (the row waits and is sent again).
HTTP_TIMEOUT_SECONDS = 10  # a channel may ask for less or more: provider_settings["timeout"]
HTTP_TIMEOUT_MAX_SECONDS = 60
SMTP_TIMEOUT_SECONDS = 30  # when EMAIL_TIMEOUT is not set (Django's default is no timeout)
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
    outside a session. Its socket operations time out (EMAIL_TIMEOUT, else
    SMTP_TIMEOUT_SECONDS): a server that stops answering cannot hold a worker."""
    timeout = getattr(settings, "EMAIL_TIMEOUT", None) or SMTP_TIMEOUT_SECONDS
    if not getattr(_session, "active", False):
        return get_connection(fail_silently=False, timeout=timeout)
    if _session.smtp is None:
        connection = get_connection(fail_silently=False, timeout=timeout)
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
    key, so a retried send carries the same id and mail systems can drop the duplicate.

    With Django's SMTP backend the message is composed by `core.providers.mime` and handed to
    the backend's SMTP connection (the generic MIME classes cost more CPU than the SMTP
    dialogue); any other backend (console, file, locmem in tests, a subclass) gets an
    EmailMultiAlternatives as before."""

    def __init__(self, channel):
        self.channel = channel

    def send(self, message: OutboundMessage) -> SendResult:
        domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(">") or "localhost"
        local_part = re.sub(r"[^A-Za-z0-9._-]", ".", message.idempotency_key)
        message_id = f"<{local_part}@{domain}>"
        from_email = self.channel.provider_settings.get("from_email") or settings.DEFAULT_FROM_EMAIL
        try:
            backend = _smtp_connection()
            # Exactly Django's SMTP backend: a subclass may sign or rewrite what it sends.
            if type(backend) is SmtpBackend and settings.DEFAULT_CHARSET.lower() == "utf-8":
                self._send_composed(backend, message, from_email, message_id)
            else:
                self._send_email_message(backend, message, from_email, message_id)
        except InvalidEmail as error:
            raise ProviderError(f"SMTP send refused: {error}", retryable=False) from error
        except (OSError, ConnectionError) as error:  # smtplib errors are OSError subclasses
            _drop_smtp_session()
            raise ProviderError(f"SMTP send failed: {error}", retryable=True) from error
        return SendResult(provider_message_id=message_id)

    def _send_composed(self, backend, message, from_email, message_id):
        raw = compose(
            subject=message.subject,
            text=message.text,
            html=message.html,
            from_email=from_email,
            to=message.to,
            message_id=message_id,
            headers=message.headers,
        )
        envelope_from, envelope_to = envelope_address(from_email), envelope_address(message.to)
        opened = backend.open()  # True: a connection of its own, closed below
        try:
            if backend.connection is None:
                raise OSError("the email backend could not connect")
            backend.connection.sendmail(envelope_from, [envelope_to], raw)
        finally:
            if opened:
                backend.close()

    def _send_email_message(self, backend, message, from_email, message_id):
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.text,
            from_email=from_email,
            to=[message.to],
            headers={"Message-ID": message_id, **message.headers},
            connection=backend,
        )
        if message.html:
            email.attach_alternative(message.html, "text/html")
        try:
            sent = email.send()
        except ValueError as error:  # BadHeaderError, an address Django cannot parse
            raise InvalidEmail(str(error)) from error
        if sent != 1:
            raise OSError("the email backend sent nothing")


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
        try:
            timeout = float(channel.provider_settings.get("timeout", HTTP_TIMEOUT_SECONDS))
        except (TypeError, ValueError):
            timeout = HTTP_TIMEOUT_SECONDS
        # Bounded both ways: 0 or a negative number would mean "no timeout" to a socket.
        self.timeout = min(max(timeout, 0.1), HTTP_TIMEOUT_MAX_SECONDS)

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
                timeout=self.timeout,
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

# The adapters that speak each provider's own API, one module of this package each, imported
# when a channel first uses them.
PROVIDER_APIS = {
    "telegram": ("core.providers.telegram", "TelegramProvider"),
    "whatsapp": ("core.providers.whatsapp", "WhatsAppProvider"),
    "messenger": ("core.providers.meta", "MessengerProvider"),
    "instagram": ("core.providers.meta", "InstagramProvider"),
    "twilio": ("core.providers.twilio", "TwilioProvider"),
    "kavenegar": ("core.providers.kavenegar", "KavenegarProvider"),
}


def adapter_class(name):
    """The adapter class for a provider name, or None when there is none."""
    if name in ADAPTERS:
        return ADAPTERS[name]
    if name in PROVIDER_APIS:
        module, attribute = PROVIDER_APIS[name]
        return getattr(importlib.import_module(module), attribute)
    return None
