"""Core tables: sales and messaging channels, partner API keys, idempotency records, the outbox."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.names import NamedPerLanguage


def validate_currency(code):
    """A channel prices in one of the shop's currencies (settings.CURRENCIES, each an ISO 4217
    code: core.checks): the catalog's prices and the orders are kept in those."""
    if code not in settings.CURRENCIES:
        raise ValidationError(
            _("%(code)s is not one of the shop's currencies: %(currencies)s."),
            code="unknown_currency",
            params={"code": code, "currencies": ", ".join(settings.CURRENCIES)},
        )


class ChannelKind(models.TextChoices):
    WEB = "web", _("Web shop")
    MOBILE_APP = "mobile_app", _("Mobile app")
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WHATSAPP = "whatsapp", _("WhatsApp")
    TELEGRAM = "telegram", _("Telegram")
    INSTAGRAM = "instagram", _("Instagram")
    MESSENGER = "messenger", _("Facebook Messenger")
    PHONE = "phone", _("Phone")
    STORE = "store", _("Store")
    PRINT_CATALOG = "print_catalog", _("Printed catalogue")
    MARKETPLACE = "marketplace", _("Marketplace")
    ADS = "ads", _("Ads")


class ChannelProvider(models.TextChoices):
    """How messages leave through this channel (used by campaigns and support replies)."""

    NONE = "", _("No sending")
    CONSOLE = "console", _("Console (prints, for development)")
    SMTP = "smtp", _("Email backend (SMTP)")
    HTTP = "http", _("HTTP provider with signed webhooks")
    TELEGRAM = "telegram", _("Telegram Bot API")
    WHATSAPP = "whatsapp", _("WhatsApp Cloud API")
    MESSENGER = "messenger", _("Messenger (Meta Send API)")
    INSTAGRAM = "instagram", _("Instagram (Meta Send API)")
    TWILIO = "twilio", _("SMS through a Twilio-compatible API")
    KAVENEGAR = "kavenegar", _("SMS through Kavenegar")
    WOOCOMMERCE = "woocommerce", _("WooCommerce shop (orders in, stock out)")


class IrrUnit(models.TextChoices):
    """How a channel shows amounts in Iranian rial. Iranian shops price in toman (1 toman = 10
    rial); some marketplaces require rial. Amounts are stored in rial either way."""

    RIAL = "rial", _("Rial")
    TOMAN = "toman", _("Toman")


class ChannelQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def selling(self):
        return self.filter(is_active=True, sells=True)

    def messaging(self):
        return self.filter(is_active=True, messages=True)


class Channel(NamedPerLanguage):
    """A configured touchpoint. Everything that happens (event, order, message, stock
    movement, coupon redemption) names the channel it happened in."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=ChannelKind.choices, db_index=True)
    sells = models.BooleanField(_("sells"), default=False, help_text=_("Orders are placed here."))
    messages = models.BooleanField(
        _("messages"), default=False, help_text=_("Customers can be messaged here.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    currency = models.CharField(
        _("currency"),
        max_length=3,
        default="USD",
        validators=[validate_currency],
        help_text=_("ISO 4217 code of its prices."),
    )
    irr_unit = models.CharField(
        _("rial amounts shown in"),
        max_length=5,
        choices=IrrUnit.choices,
        default=IrrUnit.RIAL,
        help_text=_(
            "For IRR prices: toman (1/10 of the rial amount) as Iranian shops show them, or "
            "rial. Stored amounts stay in rial."
        ),
    )
    provider = models.CharField(
        _("provider"), max_length=20, choices=ChannelProvider.choices, blank=True, default=""
    )
    provider_settings = models.JSONField(
        _("provider settings"),
        default=dict,
        blank=True,
        help_text=_("Endpoint URL, sender id, signing secret and the like, per provider."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ChannelQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("channel")
        verbose_name_plural = _("channels")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(currency__regex=r"^[A-Z]{3}$"), name="channel_currency_iso"
            )
        ]

    def __str__(self):
        return self.display_name


class ProviderTemplate(models.Model):
    """A message template the provider approved for this channel (WhatsApp's template
    messages): what may be sent outside the 24-hour customer-service window, and what a
    campaign on WhatsApp sends. `parameters` names, in order, the plain values that fill the
    provider's {{1}}, {{2}}, ... (e.g. ["first_name", "coupon_code"])."""

    channel = models.ForeignKey(
        Channel, verbose_name=_("channel"), on_delete=models.CASCADE, related_name="templates"
    )
    name = models.CharField(_("name at the provider"), max_length=512)
    language = models.CharField(
        _("language"), max_length=15, help_text=_("The provider's language code, e.g. fa or en_US.")
    )
    text = models.TextField(
        _("text"), blank=True, help_text=_("The approved body, as the provider shows it.")
    )
    parameters = models.JSONField(
        _("parameters"),
        default=list,
        blank=True,
        help_text=_("Names of the values filling {{1}}, {{2}}, ... in order."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["channel", "name", "language"]
        verbose_name = _("provider template")
        verbose_name_plural = _("provider templates")
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "name", "language"], name="core_provider_template_unique"
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.language})"


class ApiKeyQuerySet(models.QuerySet):
    def usable(self):
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    """A partner's key. Only a SHA-256 digest is stored; the key itself is shown once.

    Keys are 32 random bytes, so a fast digest is safe here (unlike passwords, they cannot be
    guessed from a dictionary) and lets every request be checked with one indexed lookup.
    """

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, unique=True, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    rate = models.CharField(
        _("rate limit"),
        max_length=20,
        blank=True,
        help_text=_("Requests per period, e.g. 600/min. Empty: the default rate."),
    )
    channel = models.ForeignKey(
        Channel,
        verbose_name=_("channel"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        help_text=_("The partner's own channel, used when a request names none."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self):
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        """`x:write` implies `x:read`."""
        if scope in self.scopes:
            return True
        area, _sep, action = scope.partition(":")
        return action == "read" and f"{area}:write" in self.scopes


class IdempotencyRecord(models.Model):
    """The stored answer to a POST sent with an Idempotency-Key, per client.

    A row without a status is a request still being processed; a second request with the same
    key meanwhile gets 409 rather than running twice.
    """

    client = models.CharField(max_length=80)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_digest = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["client", "key"], name="idempotency_client_key")
        ]

    def __str__(self):
        return f"{self.client} {self.key}"


class OutboxEvent(models.Model):
    """A domain event written in the same transaction as the change it describes, later
    delivered to partners' webhooks. Writing it with the change means no event is lost and
    none is sent for a change that rolled back."""

    topic = models.CharField(_("topic"), max_length=100, db_index=True)
    payload = models.JSONField(_("payload"))
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")

    def __str__(self):
        return f"{self.topic} #{self.pk}"


class WebhookEndpoint(models.Model):
    """A partner URL that receives outbox events of the topics it subscribes to, signed
    with HMAC-SHA256 of the body under its secret."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"))
    secret = models.CharField(_("signing secret"), max_length=128)
    topics = models.JSONField(_("topics"), default=list, help_text=_('e.g. ["order_*"]'))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self):
        return self.name


class CalendarChoice(models.TextChoices):
    AUTO = "auto", _("The language's own (Jalali in Persian)")
    JALALI = "jalali", _("Jalali (Solar Hijri)")
    GREGORIAN = "gregorian", _("Gregorian")


class DigitsChoice(models.TextChoices):
    AUTO = "auto", _("The language's own")
    LATIN = "latin", _("Latin (0123456789)")
    PERSIAN = "persian", _("Persian (۰۱۲۳۴۵۶۷۸۹)")
    ARABIC_INDIC = "arabic_indic", _("Arabic-Indic (٠١٢٣٤٥٦٧٨٩)")


class StaffPreferences(models.Model):
    """How dates and numbers are shown to one staff member (core.l10n reads it). Without a
    row, everything follows the active language."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="display_preferences",
        verbose_name=_("user"),
    )
    calendar = models.CharField(
        _("calendar"), max_length=10, choices=CalendarChoice.choices, default=CalendarChoice.AUTO
    )
    digits = models.CharField(
        _("digits"), max_length=12, choices=DigitsChoice.choices, default=DigitsChoice.AUTO
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("display preferences")
        verbose_name_plural = _("display preferences")

    def __str__(self):
        return str(self.user)


class LiveEvent(models.Model):
    """A change staff pages show live (core.live): written in the transaction of the change,
    read by the pages' event streams in id order; a reconnecting page asks for the ids after
    the last one it got. Plain values only (ids, kinds), never personal data: a page fetches
    what changed through its normal, permission-checked views. Old rows are pruned."""

    id = models.BigAutoField(primary_key=True)
    topic = models.CharField(max_length=50)  # e.g. "support.conversation"
    object_id = models.BigIntegerField(null=True, blank=True)  # the changed row, in the topic
    kind = models.CharField(max_length=50)  # e.g. "message_received"
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["topic", "object_id", "id"], name="live_topic_object")]

    def __str__(self):
        return f"{self.topic} {self.kind} #{self.pk}"


class AuditAction(models.TextChoices):
    VIEW_PROFILE = "view_profile", _("Opened the customer's page")
    VIEW_CONVERSATION = "view_conversation", _("Viewed a conversation")
    EXPORT = "export", _("Exported the customer's data")
    ERASE = "erase", _("Erased the customer")
    MERGE = "merge", _("Merged profiles")
    EDIT = "edit", _("Edited the customer")
    API_READ = "api_read", _("Read through the API")


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Audit entries are never changed.")


class AuditEntry(models.Model):
    """Who touched a customer's personal data, when, how and from where: one row per action,
    appended only (never changed; removed only by the retention sweep). Names the customer by
    public id and holds no personal data of hers, so it outlives her erasure and is part of
    her data export."""

    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    action = models.CharField(_("action"), max_length=20, choices=AuditAction.choices)
    customer_public_id = models.UUIDField(_("customer"), db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff member"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor = models.CharField(
        _("who"), max_length=150, help_text=_("The staff member's login or the API key's name.")
    )
    api_key_prefix = models.CharField(_("API key"), max_length=16, blank=True)
    path = models.CharField(_("address"), max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(_("from"), null=True, blank=True)
    request_id = models.CharField(_("request id"), max_length=100, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        indexes = [models.Index(fields=["actor", "at"], name="core_audit_actor_idx")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.customer_public_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise TypeError("Audit entries are never changed.")
        super().save(*args, **kwargs)
