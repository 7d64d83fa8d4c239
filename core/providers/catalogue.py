"""What each provider needs to be set up, in one place: the settings it reads from
`Channel.provider_settings` (which are secrets), the webhooks the provider's console must call
and how they are signed, a one-line how-to, and what a recipient looks like on each channel
kind. The channel set-up page (core.views_channels) is generated from it; the adapters read
the same names.

Inbound webhooks depend on the channel's kind (support's `inbound/<kind>` door verifies them,
support.adapters), receipts on the provider; both are given here by URL name, so core imports
no app.
"""

import re
from dataclasses import dataclass, field

from django.conf import settings as django_settings
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from core.models import ChannelKind, ChannelProvider

MASK = "••••"


@dataclass(frozen=True)
class Setting:
    """One key of provider_settings."""

    name: str
    label: str
    secret: bool = False
    required: bool = True
    help: str = ""
    kind: str = "text"  # text, url (http/https only), number (seconds), email, bool


@dataclass(frozen=True)
class Webhook:
    """A URL to paste into the provider's console."""

    purpose: str
    url_name: str
    kwargs: dict = field(default_factory=dict)  # "{code}" and "{kind}" are filled in
    signature: str = ""
    query: str = ""


@dataclass(frozen=True)
class ProviderSpec:
    provider: str
    settings: tuple = ()
    howto: str = ""
    receipts: tuple = ()  # Webhooks for delivery and read receipts
    receipts_note: str = ""
    # A secret setting we generate and show once, for the provider's console to sign with
    # (WooCommerce's webhook secret); "" when there is none besides the inbound secret.
    generated_secret: str = ""
    # False for a shop connector (WooCommerce): it takes orders and stock, not messages, so
    # its page offers no test message.
    sends_messages: bool = True


API_BASE_URL = Setting(
    "api_base_url",
    _("API base URL"),
    required=False,
    kind="url",
    help=_("Leave empty for the provider's public host; set it for a proxy or a test server."),
)
TIMEOUT = Setting(
    "timeout",
    _("Timeout (seconds)"),
    required=False,
    kind="number",
    help=_("How long one call may take, 10 seconds when empty, at most 60."),
)
HTTP_OPTIONS = (API_BASE_URL, TIMEOUT)
API_VERSION = Setting(
    "api_version",
    _("Graph API version"),
    required=False,
    help=_("Like v21.0; empty for the adapter's default."),
)
HUMAN_AGENT_TAG = Setting(
    "human_agent_tag",
    _("Human agent tag granted"),
    required=False,
    kind="bool",
    help=_(
        "Meta granted the page the human agent permission: agents may answer up to 7 days "
        "after the customer's last message instead of 24 hours."
    ),
)

PROVIDERS = {
    ChannelProvider.NONE: ProviderSpec("", howto=_("Nothing is sent through this channel.")),
    ChannelProvider.CONSOLE: ProviderSpec(
        "console",
        howto=_("Messages are written to the server's log and leave nothing: for development."),
    ),
    ChannelProvider.SMTP: ProviderSpec(
        "smtp",
        settings=(
            Setting(
                "from_email",
                _("Sender address"),
                required=False,
                kind="email",
                help=_("Empty: the site's default sender."),
            ),
        ),
        howto=_("Email leaves through the server's mail settings (EMAIL_URL)."),
    ),
    ChannelProvider.HTTP: ProviderSpec(
        "http",
        settings=(
            Setting("url", _("Endpoint URL"), kind="url"),
            Setting("secret", _("Signing secret"), secret=True),
            TIMEOUT,
        ),
        howto=_(
            "Each message is POSTed as JSON to the endpoint, signed with X-Omni-Signature "
            "(HMAC-SHA256 of the body under the signing secret)."
        ),
        receipts=(
            Webhook(
                _("Delivery reports"),
                "api-delivery-reports",
                {"channel_code": "{code}"},
                _("X-Omni-Signature: sha256=HMAC-SHA256 of the body under the signing secret"),
            ),
        ),
    ),
    ChannelProvider.TELEGRAM: ProviderSpec(
        "telegram",
        settings=(
            Setting(
                "bot_token",
                _("Bot token"),
                secret=True,
                help=_("From @BotFather, like 123456:ABC-DEF…"),
            ),
            *HTTP_OPTIONS,
        ),
        howto=_(
            "Create the bot with @BotFather, paste its token here, then call setWebhook with "
            "the inbound URL below and the inbound secret as secret_token."
        ),
        receipts_note=_("Telegram reports neither delivery nor reads to bots: replies stay sent."),
    ),
    ChannelProvider.WHATSAPP: ProviderSpec(
        "whatsapp",
        settings=(
            Setting("access_token", _("Access token"), secret=True),
            Setting(
                "phone_number_id",
                _("Phone number ID"),
                help=_("In Meta's app dashboard, WhatsApp > API Setup."),
            ),
            API_VERSION,
            *HTTP_OPTIONS,
        ),
        howto=_(
            "In Meta's app dashboard, subscribe the webhook below (messages and statuses) with "
            "the verify token; the inbound secret is the app's App Secret."
        ),
        receipts_note=_("Delivery and read receipts arrive on the inbound webhook."),
    ),
    ChannelProvider.MESSENGER: ProviderSpec(
        "messenger",
        settings=(
            Setting("page_access_token", _("Page access token"), secret=True),
            API_VERSION,
            HUMAN_AGENT_TAG,
            *HTTP_OPTIONS,
        ),
        howto=_(
            "Connect the Facebook page to your Meta app, paste the page's access token, and "
            "subscribe the webhook below with the verify token; the inbound secret is the "
            "app's App Secret."
        ),
        receipts_note=_("Delivery and read receipts arrive on the inbound webhook."),
    ),
    ChannelProvider.INSTAGRAM: ProviderSpec(
        "instagram",
        settings=(
            Setting("page_access_token", _("Page access token"), secret=True),
            API_VERSION,
            HUMAN_AGENT_TAG,
            *HTTP_OPTIONS,
        ),
        howto=_(
            "Link the Instagram professional account to a Facebook page of your Meta app, "
            "paste the page's access token, and subscribe the webhook below with the verify "
            "token; the inbound secret is the app's App Secret."
        ),
        receipts_note=_("Read receipts arrive on the inbound webhook."),
    ),
    ChannelProvider.TWILIO: ProviderSpec(
        "twilio",
        settings=(
            Setting("account_sid", _("Account SID")),
            Setting("auth_token", _("Auth token"), secret=True),
            Setting(
                "from",
                _("From number or sender id"),
                required=False,
                help=_("Needed unless a messaging service SID is given."),
            ),
            Setting("messaging_service_sid", _("Messaging service SID"), required=False),
            *HTTP_OPTIONS,
        ),
        howto=_(
            "Copy the account SID and auth token from Twilio's console; each message asks "
            "Twilio to report its status to the URL below."
        ),
        receipts=(
            Webhook(
                _("Status callback"),
                "api-twilio-status",
                {"channel_code": "{code}"},
                _("X-Twilio-Signature: HMAC-SHA1 under the auth token"),
            ),
        ),
    ),
    ChannelProvider.KAVENEGAR: ProviderSpec(
        "kavenegar",
        settings=(
            Setting("api_key", _("API key"), secret=True),
            Setting("sender", _("Sender line"), required=False, help=_("Like 10004346.")),
            *HTTP_OPTIONS,
        ),
        howto=_("Copy the API key and a sender line from Kavenegar's panel."),
        receipts_note=_("Kavenegar has no callback: delivery is asked every five minutes."),
    ),
    ChannelProvider.WOOCOMMERCE: ProviderSpec(
        "woocommerce",
        settings=(
            Setting(
                "site_url",
                _("Shop address"),
                kind="url",
                help=_("Like https://shop.example.com: https, or http only on this machine."),
            ),
            Setting(
                "consumer_key",
                _("Consumer key"),
                secret=True,
                help=_("WooCommerce > Settings > Advanced > REST API, a key with Read/Write."),
            ),
            Setting("consumer_secret", _("Consumer secret"), secret=True),
            Setting(
                "webhook_secret",
                _("Webhook secret"),
                secret=True,
                required=False,
                help=_(
                    "Generate it below, or type the secret of the shop's webhooks. Empty: "
                    "the shop's webhooks are refused."
                ),
            ),
            TIMEOUT,
        ),
        howto=_(
            "Paste the shop address and a Read/Write REST API key, generate the webhook "
            "secret, then add the webhook below in WooCommerce > Settings > Advanced > "
            "Webhooks four times, one per topic (Order created, Order updated, Customer "
            "created, Product updated), with that secret. Stock goes out when the channel's "
            "stock rule pushes stock changes."
        ),
        receipts=(
            Webhook(
                _("Orders, customers and products (WooCommerce webhooks)"),
                "api-woocommerce-webhook",
                {"channel_code": "{code}"},
                _(
                    "X-WC-Webhook-Signature: base64 HMAC-SHA256 of the body under the webhook secret"
                ),
            ),
        ),
        sends_messages=False,
        generated_secret="webhook_secret",  # noqa: S106 (a setting's name)
    ),
}

# Channel kind -> (the `kind` of support's inbound webhook, how its requests are signed,
# whether the inbound secret is ours to choose). Meta signs with the app's App Secret, so that
# one is copied from Meta, not generated here.
META_SIGNATURE = _("X-Hub-Signature-256: sha256=HMAC-SHA256 of the body under the inbound secret")
OMNI_SIGNATURE = _("X-Omni-Signature: sha256=HMAC-SHA256 of the body under the inbound secret")
INBOUND = {
    ChannelKind.EMAIL: ("email", OMNI_SIGNATURE, True),
    ChannelKind.SMS: ("sms", OMNI_SIGNATURE, True),
    ChannelKind.WHATSAPP: ("whatsapp", META_SIGNATURE, False),
    ChannelKind.TELEGRAM: (
        "telegram",
        _("X-Telegram-Bot-Api-Secret-Token: the inbound secret itself (setWebhook's secret_token)"),
        True,
    ),
    ChannelKind.INSTAGRAM: ("instagram", META_SIGNATURE, False),
    ChannelKind.MESSENGER: ("messenger", META_SIGNATURE, False),
    ChannelKind.WEB: ("webchat", OMNI_SIGNATURE, True),
}
META_KINDS = {ChannelKind.WHATSAPP, ChannelKind.INSTAGRAM, ChannelKind.MESSENGER}

INBOUND_SECRET = Setting(
    "inbound_secret",
    _("Inbound secret"),
    secret=True,
    required=False,
    help=_("Signs what the provider sends us. Empty: inbound messages are refused."),
)
META_INBOUND_SECRET = Setting(
    "inbound_secret",
    _("App Secret (inbound secret)"),
    secret=True,
    required=False,
    help=_("Your Meta app's App Secret: Meta signs every webhook with it."),
)
VERIFY_TOKEN = Setting(
    "verify_token",
    _("Verify token"),
    secret=True,
    required=False,
    help=_("Any string you choose; type the same in Meta's webhook settings."),
)

# What a recipient of a test message is, per channel kind: (label, pattern, example).
RECIPIENTS = {
    ChannelKind.SMS: (_("Phone number"), r"^\+?[1-9][0-9]{6,14}$", "+989121234567"),
    ChannelKind.WHATSAPP: (_("Phone number"), r"^\+?[1-9][0-9]{6,14}$", "+971501234567"),
    ChannelKind.TELEGRAM: (_("Chat id"), r"^(-?[0-9]{1,20}|@[A-Za-z0-9_]{5,32})$", "123456789"),
    ChannelKind.INSTAGRAM: (_("Instagram-scoped id (IGSID)"), r"^[0-9]{5,30}$", "17841400000000"),
    ChannelKind.MESSENGER: (_("Page-scoped id (PSID)"), r"^[0-9]{5,30}$", "24000000000000"),
    ChannelKind.EMAIL: (_("Email address"), None, "someone@example.com"),
}
DEFAULT_RECIPIENT = (_("Recipient"), None, "")


def spec_for(provider: str) -> ProviderSpec:
    return PROVIDERS.get(provider or "", PROVIDERS[ChannelProvider.NONE])


def channel_settings(kind: str, provider: str) -> list[Setting]:
    """Every setting the page asks for on a channel of this kind and provider: the
    provider's, then the inbound webhook's."""
    fields = list(spec_for(provider).settings)
    if kind in INBOUND:
        fields.append(META_INBOUND_SECRET if kind in META_KINDS else INBOUND_SECRET)
    if kind in META_KINDS:
        fields.append(VERIFY_TOKEN)
    return fields


def inbound_secret_is_ours(kind: str) -> bool:
    return kind in INBOUND and INBOUND[kind][2]


def secret_to_generate(channel) -> str:
    """The name of the secret the set-up page may generate for this channel now, or "": the
    provider's own generated secret (WooCommerce's webhook secret) first, else the inbound
    secret when it is ours to choose; never one already stored."""
    stored = channel.provider_settings or {}
    generated = spec_for(channel.provider).generated_secret
    if generated and not stored.get(generated):
        return generated
    if inbound_secret_is_ours(channel.kind) and not stored.get("inbound_secret"):
        return "inbound_secret"
    return ""


def missing_settings(channel) -> list[Setting]:
    """The required settings the channel's provider lacks."""
    values = channel.provider_settings or {}
    return [
        s
        for s in spec_for(channel.provider).settings
        if s.required and not str(values.get(s.name) or "").strip()
    ]


def masked(value) -> str:
    """A secret as the page may show it: its last four characters only (nothing of a short
    one)."""
    value = str(value or "")
    if not value:
        return ""
    return MASK + (value[-4:] if len(value) >= 12 else "")


def _absolute(path: str) -> str:
    return django_settings.SITE_URL.rstrip("/") + path


def webhooks_for(channel) -> list[dict]:
    """The URLs to paste into the provider's console, absolute (SITE_URL), with their
    signature scheme: the inbound webhook of the channel's kind and the provider's receipts."""
    hooks = []
    if channel.kind in INBOUND:
        path_kind, signature, _ours = INBOUND[channel.kind]
        path = reverse("api-support-inbound", kwargs={"kind": path_kind})
        hooks.append(
            {
                "purpose": _("Inbound messages"),
                "url": _absolute(path) + f"?channel={channel.code}",
                "signature": signature,
            }
        )
    for hook in spec_for(channel.provider).receipts:
        kwargs = {
            key: value.format(code=channel.code, kind=channel.kind)
            for key, value in hook.kwargs.items()
        }
        try:
            path = reverse(hook.url_name, kwargs=kwargs)
        except NoReverseMatch:
            continue
        hooks.append({"purpose": hook.purpose, "url": _absolute(path), "signature": hook.signature})
    return hooks


def recipient_for(kind: str) -> tuple:
    return RECIPIENTS.get(kind, DEFAULT_RECIPIENT)


def is_valid_recipient(kind: str, value: str) -> bool:
    _label, pattern, _example = recipient_for(kind)
    return pattern is None or re.fullmatch(pattern, value) is not None
