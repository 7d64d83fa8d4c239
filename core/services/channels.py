"""Setting a channel up: its provider and provider settings, its inbound secret, a test
message through it, and the WhatsApp templates its provider approved. The staff page
(core.views_channels) is the door; the rules live here."""

import logging
import secrets
import uuid
from dataclasses import dataclass

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from core.models import Channel, ProviderTemplate
from core.providers import OutboundMessage, ProviderError, send_message
from core.providers.catalogue import channel_settings
from core.services import shared_cache

logger = logging.getLogger("omni.providers")

TEST_MESSAGES_PER_MINUTE = 5


def _actor(user) -> str:
    return user.get_username() if user is not None else "system"


class TemplateExists(Exception):
    """A template of this name and language is already registered on the channel."""


def save_channel_setup(channel: Channel, *, provider: str, values: dict, actor=None) -> Channel:
    """Set the channel's provider and the settings the catalogue names for its kind and that
    provider. A secret given as "" keeps its stored value (the page never shows it back); any
    other setting given as "" is removed. Settings the catalogue does not name for the new
    provider are kept (a provider switched back finds its credentials), except nothing is
    invented. Locks the row, so two staff saving at once do not lose each other's keys."""
    with transaction.atomic():
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        stored = dict(locked.provider_settings or {})
        changed = []
        for setting in channel_settings(locked.kind, provider):
            if setting.name not in values:
                continue
            value = values[setting.name]
            if value in ("", None):
                if setting.secret:
                    continue
                if setting.name in stored:
                    stored.pop(setting.name)
                    changed.append(setting.name)
                continue
            if stored.get(setting.name) != value:
                stored[setting.name] = value
                changed.append(setting.name)
        if locked.provider != provider:
            changed.append("provider")
        locked.provider = provider
        locked.provider_settings = stored
        locked.save(update_fields=["provider", "provider_settings", "updated_at"])
        if changed:
            # The names only: a secret never reaches the log.
            logger.info(
                "channel %s set up by %s: %s",
                locked.code,
                _actor(actor),
                ", ".join(sorted(changed)),
            )
    return locked


def generate_inbound_secret(channel: Channel, *, actor=None, name="inbound_secret") -> str:
    """Give the channel a new random inbound secret (or the secret setting `name`, such as
    WooCommerce's `webhook_secret`) and return it (shown once)."""
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        locked.provider_settings = {**(locked.provider_settings or {}), name: secret}
        locked.save(update_fields=["provider_settings", "updated_at"])
        logger.info("channel %s: new %s by %s", locked.code, name, _actor(actor))
    return secret


@dataclass
class TestOutcome:
    ok: bool
    provider_message_id: str = ""
    scope: str = ""
    code: str = ""
    text: str = ""


def may_send_test_message(user) -> bool:
    """At most TEST_MESSAGES_PER_MINUTE a minute per staff member (a test sends a real,
    possibly paid, message). Fails open when the shared cache is down."""
    key = f"channel-test-message:{user.pk}"
    try:
        if cache.add(key, 1, timeout=60):
            return True
        return cache.incr(key) <= TEST_MESSAGES_PER_MINUTE
    except ValueError:  # the key expired between add and incr
        return True
    except shared_cache.CACHE_ERRORS as error:
        shared_cache.unavailable("rate limit", error)
        return True


def send_test_message(channel: Channel, recipient: str, text: str, *, actor=None) -> TestOutcome:
    """Send one message through the channel's provider as configured now, and say what the
    provider answered: its message id, or the failure as the adapter mapped it (scope, the
    provider's code and text). Never raises for a provider's failure."""
    message = OutboundMessage(
        to=recipient,
        text=text,
        subject=text[:78],
        idempotency_key=f"channel-test-{channel.pk}-{uuid.uuid4().hex}",
        metadata={"test": True},
    )
    try:
        result = send_message(channel, message)
    except ProviderError as error:
        outcome = TestOutcome(False, scope=error.scope, code=error.code, text=str(error))
    except ImportError as error:
        # The provider's adapter module is not installed in this deployment.
        outcome = TestOutcome(False, scope=ProviderError.MESSAGE, text=str(error))
    except Exception as error:  # an adapter's bug must not become the page's 500
        logger.exception("test message through channel %s failed", channel.code)
        outcome = TestOutcome(
            False,
            scope=ProviderError.MESSAGE,
            text=_("The provider's adapter failed: %(error)s") % {"error": type(error).__name__},
        )
    else:
        outcome = TestOutcome(True, provider_message_id=result.provider_message_id)
    logger.info(
        "test message through channel %s by %s: %s",
        channel.code,
        _actor(actor),
        "sent" if outcome.ok else f"failed ({outcome.scope} {outcome.code})",
    )
    return outcome


def add_provider_template(
    channel: Channel, *, name: str, language: str, text: str = "", parameters=()
) -> ProviderTemplate:
    """Register a template the provider approved. Raises TemplateExists for a name and
    language already registered (an inactive one is made active again with the new text)."""
    with transaction.atomic():
        existing = (
            ProviderTemplate.objects.select_for_update()
            .filter(channel=channel, name=name, language=language)
            .first()
        )
        if existing is not None:
            if existing.is_active:
                raise TemplateExists(name)
            existing.is_active = True
            existing.text = text
            existing.parameters = list(parameters)
            existing.save(update_fields=["is_active", "text", "parameters"])
            return existing
        try:
            with transaction.atomic():
                return ProviderTemplate.objects.create(
                    channel=channel,
                    name=name,
                    language=language,
                    text=text,
                    parameters=list(parameters),
                )
        except IntegrityError:  # added by a colleague at the same moment
            raise TemplateExists(name) from None


def deactivate_provider_template(template: ProviderTemplate) -> None:
    ProviderTemplate.objects.filter(pk=template.pk).update(is_active=False)
