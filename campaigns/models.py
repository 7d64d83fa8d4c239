"""Campaigns tables: segments, message templates, coupons, campaigns and their A/B variants,
journeys and their runs, one row per message sent (the idempotency of every send),
suppressions, unsubscribes and tracking events.

The invariant that matters most lives in CampaignMessage's constraints: one message per
(campaign, customer) and per (journey run, journey step). A retried task or a restarted worker
finds the row that already exists and never makes a second one.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import Channel, ChannelKind
from customers.models import ConsentPurpose, Customer


class Segment(models.Model):
    """A dynamic audience: `rules` (JSON, see campaigns.services.segments) compile to one SQL
    query over the customer record; the count is live, a snapshot is kept at send time."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)
    rules = models.JSONField(_("rules"), default=dict)
    compiled_description = models.TextField(_("rules in words"), blank=True, editable=False)
    is_ready_made = models.BooleanField(_("ready-made"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("segment")
        verbose_name_plural = _("segments")

    def __str__(self):
        return self.name

    @property
    def rules_in_words(self):
        """The rules as the reader's language says them (`compiled_description` keeps the
        words of the last save, for the API)."""
        from campaigns.services.segments import describe

        return describe(self.rules)

    rules_in_words.fget.short_description = _("rules in words")


class SegmentSnapshot(models.Model):
    """Who was in the segment when a campaign was sent (its members' ids, frozen)."""

    segment = models.ForeignKey(
        Segment, verbose_name=_("segment"), on_delete=models.CASCADE, related_name="snapshots"
    )
    campaign = models.ForeignKey(
        "Campaign",
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="snapshots",
    )
    rules = models.JSONField(_("rules then"), default=dict)
    member_count = models.PositiveIntegerField(_("members"), default=0)
    member_ids = models.JSONField(_("member ids"), default=list)
    taken_at = models.DateTimeField(_("taken"), default=timezone.now)

    class Meta:
        ordering = ["-taken_at", "-id"]
        verbose_name = _("segment snapshot")
        verbose_name_plural = _("segment snapshots")

    def __str__(self):
        return f"{self.segment} @ {self.taken_at:%Y-%m-%d %H:%M} ({self.member_count})"


class MessageTemplate(models.Model):
    """What a message says on one kind of channel, in the Django template language.

    Email uses subject, html and text; SMS, messengers and push use text (push also the
    subject as its title). Translations per language are MessageTemplateTranslation rows,
    picked by the customer's locale."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    channel_kind = models.CharField(_("channel"), max_length=20, choices=ChannelKind.choices)
    language = models.CharField(_("language"), max_length=10, default="en")
    subject = models.CharField(_("subject / title"), max_length=255, blank=True)
    html = models.TextField(_("HTML"), blank=True)
    text = models.TextField(_("text"), blank=True)
    # WhatsApp sends campaigns only as templates its owner approved: the name of the channel's
    # core.ProviderTemplate this template goes out as (its parameters filled from the plain
    # values a template may read). Empty on other kinds.
    provider_template_name = models.CharField(
        _("approved template at the provider"),
        max_length=512,
        blank=True,
        help_text=_(
            "For WhatsApp: the name of the provider template this message is sent as; "
            "its parameters are filled from the customer's values."
        ),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")

    def __str__(self):
        return self.name


class MessageTemplateTranslation(models.Model):
    template = models.ForeignKey(
        MessageTemplate,
        verbose_name=_("template"),
        on_delete=models.CASCADE,
        related_name="translations",
    )
    language = models.CharField(_("language"), max_length=10)
    subject = models.CharField(_("subject / title"), max_length=255, blank=True)
    html = models.TextField(_("HTML"), blank=True)
    text = models.TextField(_("text"), blank=True)

    class Meta:
        ordering = ["template", "language"]
        verbose_name = _("template translation")
        verbose_name_plural = _("template translations")
        constraints = [
            models.UniqueConstraint(
                fields=["template", "language"], name="campaigns_template_language"
            )
        ]

    def __str__(self):
        return f"{self.template} [{self.language}]"


class CodeKind(models.TextChoices):
    SHARED = "shared", _("One shared code")
    UNIQUE = "unique", _("A unique code per customer")


class DiscountKind(models.TextChoices):
    PERCENTAGE = "percentage", _("Percentage")
    AMOUNT = "amount", _("Amount")


class CouponPool(models.Model):
    """A discount and the codes that give it. Redeemable in every selling channel."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    code_kind = models.CharField(_("codes"), max_length=10, choices=CodeKind.choices)
    prefix = models.CharField(
        _("prefix / shared code"),
        max_length=40,
        help_text=_("The shared code itself, or the prefix of unique codes."),
    )
    discount_kind = models.CharField(_("discount"), max_length=12, choices=DiscountKind.choices)
    discount_value = models.DecimalField(_("value"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    minimum_spend = models.DecimalField(
        _("minimum spend"), max_digits=12, decimal_places=2, default=0
    )
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    max_uses_per_code = models.PositiveIntegerField(
        _("uses per code"), null=True, blank=True, help_text=_("Empty: unlimited.")
    )
    max_uses_per_customer = models.PositiveIntegerField(
        _("uses per customer"), null=True, blank=True, default=1, help_text=_("Empty: unlimited.")
    )
    first_purchase_only = models.BooleanField(_("first purchase only"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("coupon pool")
        verbose_name_plural = _("coupon pools")
        constraints = [
            models.CheckConstraint(
                condition=Q(discount_value__gt=0), name="campaigns_coupon_value_positive"
            ),
            models.CheckConstraint(
                condition=~Q(discount_kind="percentage") | Q(discount_value__lte=100),
                name="campaigns_coupon_percentage_max_100",
            ),
        ]

    def __str__(self):
        return self.name


class CouponCode(models.Model):
    """One redeemable code. `times_redeemed` only moves through a guarded UPDATE."""

    pool = models.ForeignKey(
        CouponPool, verbose_name=_("pool"), on_delete=models.CASCADE, related_name="codes"
    )
    code = models.CharField(_("code"), max_length=60, unique=True)
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("issued to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="coupon_codes",
    )
    times_redeemed = models.PositiveIntegerField(_("times redeemed"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("coupon code")
        verbose_name_plural = _("coupon codes")
        constraints = [
            models.UniqueConstraint(
                fields=["pool", "customer"],
                condition=Q(customer__isnull=False),
                name="campaigns_one_code_per_customer_and_pool",
            )
        ]

    def __str__(self):
        return self.code


class Redemption(models.Model):
    """A code used on an order, in the channel where the order was placed."""

    code = models.ForeignKey(
        CouponCode, verbose_name=_("code"), on_delete=models.PROTECT, related_name="redemptions"
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="coupon_redemptions",
    )
    channel = models.ForeignKey(
        Channel, verbose_name=_("channel"), null=True, blank=True, on_delete=models.PROTECT
    )
    order_number = models.CharField(_("order"), max_length=64)
    discount = models.DecimalField(_("discount"), max_digits=12, decimal_places=2, default=0)
    redeemed_at = models.DateTimeField(_("redeemed"), default=timezone.now)
    released_at = models.DateTimeField(_("released"), null=True, blank=True)

    class Meta:
        ordering = ["-redeemed_at", "-id"]
        verbose_name = _("redemption")
        verbose_name_plural = _("redemptions")
        constraints = [
            models.UniqueConstraint(
                fields=["code", "order_number"], name="campaigns_redemption_once_per_order"
            )
        ]

    def __str__(self):
        return f"{self.code} on {self.order_number}"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    TESTING = "testing", _("A/B test running")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    CANCELLED = "cancelled", _("Cancelled")


class WinnerMetric(models.TextChoices):
    CLICK = "click", _("Click rate")
    CONVERSION = "conversion", _("Conversion rate")


class Campaign(models.Model):
    """A one-off broadcast to a segment, on one channel or on each customer's best channel."""

    name = models.CharField(_("name"), max_length=200)
    segment = models.ForeignKey(
        Segment, verbose_name=_("segment"), on_delete=models.PROTECT, related_name="campaigns"
    )
    channel = models.ForeignKey(
        Channel,
        verbose_name=_("channel"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text=_("Empty: each customer's best channel (consented and most engaged)."),
    )
    purpose = models.CharField(
        _("purpose"),
        max_length=20,
        choices=ConsentPurpose.choices,
        default=ConsentPurpose.MARKETING,
    )
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=CampaignStatus.choices,
        default=CampaignStatus.DRAFT,
        db_index=True,
    )
    scheduled_at = models.DateTimeField(_("send at"), null=True, blank=True)
    in_customer_time_zone = models.BooleanField(
        _("at that wall-clock time in each customer's time zone"), default=False
    )
    quiet_hours_start = models.TimeField(_("quiet hours from"), null=True, blank=True)
    quiet_hours_end = models.TimeField(_("quiet hours until"), null=True, blank=True)
    frequency_cap = models.PositiveIntegerField(
        _("frequency cap"),
        null=True,
        blank=True,
        help_text=_("Marketing messages per customer per window, all channels. Empty: default."),
    )
    frequency_window_days = models.PositiveIntegerField(_("cap window (days)"), default=7)
    ab_test_share = models.PositiveSmallIntegerField(
        _("A/B test share (%)"),
        default=100,
        help_text=_("Part of the audience that gets the variants; the rest gets the winner."),
    )
    ab_winner_metric = models.CharField(
        _("winner metric"), max_length=12, choices=WinnerMetric.choices, default=WinnerMetric.CLICK
    )
    ab_test_hours = models.PositiveIntegerField(_("A/B test duration (hours)"), default=4)
    ab_decided_at = models.DateTimeField(_("winner chosen"), null=True, blank=True)
    ab_result = models.JSONField(_("A/B result"), default=dict, blank=True)
    attribution_window_days = models.PositiveIntegerField(_("attribution window (days)"), default=7)
    coupon_pool = models.ForeignKey(
        CouponPool, verbose_name=_("coupon pool"), null=True, blank=True, on_delete=models.PROTECT
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    started_at = models.DateTimeField(_("sending started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("sending finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        constraints = [
            models.CheckConstraint(
                condition=Q(ab_test_share__gte=1, ab_test_share__lte=100),
                name="campaigns_ab_share_percent",
            )
        ]

    def __str__(self):
        return self.name


class CampaignVariant(models.Model):
    """One version of the message (A, B, ...); `weight` is its share of the test audience."""

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="variants"
    )
    name = models.CharField(_("name"), max_length=40)
    template = models.ForeignKey(
        MessageTemplate, verbose_name=_("template"), on_delete=models.PROTECT
    )
    weight = models.PositiveSmallIntegerField(_("weight"), default=1)
    is_winner = models.BooleanField(_("winner"), default=False)

    class Meta:
        ordering = ["campaign", "name"]
        verbose_name = _("variant")
        verbose_name_plural = _("variants")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "name"], name="campaigns_variant_name"),
            models.CheckConstraint(condition=Q(weight__gte=1), name="campaigns_variant_weight"),
        ]

    def __str__(self):
        return f"{self.campaign} / {self.name}"


class Journey(models.Model):
    """An event-triggered flow: a trigger starts a run per customer, steps run in order."""

    key = models.SlugField(_("key"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    trigger = models.CharField(
        _("trigger"),
        max_length=64,
        help_text=_(
            "An event name (cart_abandoned, order_completed, ...) or identity_added:<kind> "
            "for a new email or phone."
        ),
    )
    exit_events = models.JSONField(
        _("exit on events"),
        default=list,
        blank=True,
        help_text=_("Event names that end a run when they happen after it started, any channel."),
    )
    purpose = models.CharField(
        _("purpose"),
        max_length=20,
        choices=ConsentPurpose.choices,
        default=ConsentPurpose.MARKETING,
    )
    once_per_customer = models.BooleanField(_("once per customer"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("journey")
        verbose_name_plural = _("journeys")

    def __str__(self):
        return self.name


class StepKind(models.TextChoices):
    WAIT = "wait", _("Wait")
    CONDITION = "condition", _("Condition")
    SEND = "send", _("Send")
    EXIT = "exit", _("Exit")


class ChannelChoice(models.TextChoices):
    FIXED = "fixed", _("The step's channel")
    BEST = "best", _("Best channel per customer")
    ASKED = "asked", _("The channel the customer asked for")


class JourneyStep(models.Model):
    """A block. wait: `wait_minutes`, or until `rules` hold (at most `wait_minutes`);
    condition: continue if `rules` hold for the customer, else exit; send: `template` on the
    chosen channel, with a coupon from `coupon_pool`; exit: end the run."""

    journey = models.ForeignKey(
        Journey, verbose_name=_("journey"), on_delete=models.CASCADE, related_name="steps"
    )
    position = models.PositiveSmallIntegerField(_("position"))
    kind = models.CharField(_("kind"), max_length=10, choices=StepKind.choices)
    wait_minutes = models.PositiveIntegerField(_("wait (minutes)"), default=0)
    rules = models.JSONField(_("rules"), default=dict, blank=True)
    template = models.ForeignKey(
        MessageTemplate, verbose_name=_("template"), null=True, blank=True, on_delete=models.PROTECT
    )
    channel_choice = models.CharField(
        _("channel choice"),
        max_length=10,
        choices=ChannelChoice.choices,
        default=ChannelChoice.FIXED,
    )
    channel = models.ForeignKey(
        Channel, verbose_name=_("channel"), null=True, blank=True, on_delete=models.PROTECT
    )
    coupon_pool = models.ForeignKey(
        CouponPool, verbose_name=_("coupon pool"), null=True, blank=True, on_delete=models.PROTECT
    )

    class Meta:
        ordering = ["journey", "position"]
        verbose_name = _("journey step")
        verbose_name_plural = _("journey steps")
        constraints = [
            models.UniqueConstraint(fields=["journey", "position"], name="campaigns_step_position")
        ]

    def __str__(self):
        return f"{self.journey} #{self.position} {self.kind}"


class RunStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Completed")
    EXITED = "exited", _("Exited")


class JourneyRun(models.Model):
    """One customer going through a journey, started by one trigger (`trigger_key` makes the
    start idempotent: the same event never starts two runs)."""

    journey = models.ForeignKey(
        Journey, verbose_name=_("journey"), on_delete=models.CASCADE, related_name="runs"
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="journey_runs"
    )
    trigger_key = models.CharField(_("trigger"), max_length=100)
    trigger_event_id = models.BigIntegerField(_("trigger event"), null=True, blank=True)
    context = models.JSONField(_("trigger data"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=RunStatus.choices, default=RunStatus.ACTIVE
    )
    position = models.PositiveSmallIntegerField(_("next step"), default=0)
    wake_at = models.DateTimeField(_("next check"), default=timezone.now)
    waiting_since = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    exit_reason = models.CharField(_("exit reason"), max_length=200, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("journey run")
        verbose_name_plural = _("journey runs")
        constraints = [
            models.UniqueConstraint(fields=["journey", "trigger_key"], name="campaigns_run_once")
        ]
        indexes = [models.Index(fields=["status", "wake_at"], name="campaigns_run_due_idx")]

    def __str__(self):
        return f"{self.journey} · {self.customer_id} ({self.status})"


class MessageStatus(models.TextChoices):
    HELD = "held", _("Held for the A/B winner")
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SUPPRESSED = "suppressed", _("Not sent (rules)")
    DELIVERED = "delivered", _("Delivered")
    OPENED = "opened", _("Opened")
    CLICKED = "clicked", _("Clicked")
    CONVERTED = "converted", _("Converted")


# Statuses of a message that left (for caps, reports and attribution).
SENT_STATUSES = ("sent", "delivered", "opened", "clicked", "converted")


def new_token():
    return uuid.uuid4().hex


class CampaignMessage(models.Model):
    """One message to one customer. Unique per (campaign, customer) and per (journey run,
    step): this row is the idempotency of the send. `idempotency_key` goes to the provider
    (SMTP Message-ID, HTTP Idempotency-Key)."""

    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="messages",
    )
    variant = models.ForeignKey(
        CampaignVariant,
        verbose_name=_("variant"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    journey_run = models.ForeignKey(
        JourneyRun,
        verbose_name=_("journey run"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="messages",
    )
    journey_step = models.ForeignKey(
        JourneyStep,
        verbose_name=_("journey step"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="messages",
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="campaign_messages",
    )
    template = models.ForeignKey(
        MessageTemplate, verbose_name=_("template"), null=True, blank=True, on_delete=models.PROTECT
    )
    channel = models.ForeignKey(
        Channel, verbose_name=_("channel"), null=True, blank=True, on_delete=models.PROTECT
    )
    purpose = models.CharField(_("purpose"), max_length=20, choices=ConsentPurpose.choices)
    to = models.CharField(_("to"), max_length=255, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    status_reason = models.CharField(_("why"), max_length=200, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=100, unique=True)
    token = models.CharField(max_length=32, unique=True, default=new_token, editable=False)
    provider_message_id = models.CharField(
        _("provider message id"), max_length=255, blank=True, db_index=True
    )
    coupon_code = models.ForeignKey(
        CouponCode, verbose_name=_("coupon"), null=True, blank=True, on_delete=models.SET_NULL
    )
    context = models.JSONField(_("extra context"), default=dict, blank=True)
    not_before = models.DateTimeField(_("not before"), default=timezone.now)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    enqueued_at = models.DateTimeField(_("handed to a worker"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    claimed_by = models.CharField(_("claim"), max_length=32, blank=True, editable=False)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True, db_index=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    # A read receipt from the provider (WhatsApp, Messenger); an email's open is opened_at.
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    opened_at = models.DateTimeField(_("opened"), null=True, blank=True)
    clicked_at = models.DateTimeField(_("clicked"), null=True, blank=True)
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True)
    unsubscribed_at = models.DateTimeField(_("unsubscribed"), null=True, blank=True)
    revenue = models.DecimalField(_("revenue"), max_digits=14, decimal_places=2, default=0)
    conversion_order = models.CharField(_("converting order"), max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "customer"],
                condition=Q(campaign__isnull=False),
                name="campaigns_one_message_per_campaign_customer",
            ),
            models.UniqueConstraint(
                fields=["journey_run", "journey_step"],
                condition=Q(journey_step__isnull=False),
                name="campaigns_one_message_per_run_step",
            ),
            models.CheckConstraint(
                condition=Q(campaign__isnull=False) | Q(journey_step__isnull=False),
                name="campaigns_message_has_origin",
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "status"], name="campaigns_msg_campaign_status"),
            models.Index(fields=["customer", "sent_at"], name="campaigns_msg_customer_sent"),
            models.Index(fields=["status", "claimed_at"], name="campaigns_msg_status_claimed"),
        ]

    def __str__(self):
        return f"{self.idempotency_key} ({self.status})"


class SuppressionReason(models.TextChoices):
    BOUNCE = "bounce", _("Bounced")
    COMPLAINT = "complaint", _("Complaint")
    UNSUBSCRIBE = "unsubscribe", _("Unsubscribed")
    MANUAL = "manual", _("Do not contact")


class Suppression(models.Model):
    """An address that nothing is sent to on a kind of channel (do-not-contact per channel)."""

    channel_kind = models.CharField(_("channel"), max_length=20, choices=ChannelKind.choices)
    address = models.CharField(_("address"), max_length=255)
    reason = models.CharField(_("reason"), max_length=12, choices=SuppressionReason.choices)
    detail = models.CharField(_("detail"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("suppression")
        verbose_name_plural = _("suppressions")
        constraints = [
            models.UniqueConstraint(
                fields=["channel_kind", "address"], name="campaigns_suppression_unique"
            )
        ]

    def __str__(self):
        return f"{self.channel_kind}:{self.address} ({self.reason})"


class Unsubscribe(models.Model):
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="unsubscribes"
    )
    channel_kind = models.CharField(_("channel"), max_length=20, choices=ChannelKind.choices)
    message = models.ForeignKey(
        CampaignMessage,
        verbose_name=_("from message"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    source = models.CharField(_("how"), max_length=40, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("unsubscribe")
        verbose_name_plural = _("unsubscribes")

    def __str__(self):
        return f"{self.customer_id} from {self.channel_kind}"


class TrackingKind(models.TextChoices):
    DELIVERED = "delivered", _("Delivered")
    OPENED = "opened", _("Opened")
    CLICKED = "clicked", _("Clicked")
    BOUNCED = "bounced", _("Bounced")
    COMPLAINED = "complained", _("Complained")
    FAILED = "failed", _("Failed")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    CONVERTED = "converted", _("Converted")


class TrackingEvent(models.Model):
    message = models.ForeignKey(
        CampaignMessage,
        verbose_name=_("message"),
        on_delete=models.CASCADE,
        related_name="tracking_events",
    )
    kind = models.CharField(_("kind"), max_length=12, choices=TrackingKind.choices)
    url = models.URLField(_("link"), max_length=1000, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("tracking event")
        verbose_name_plural = _("tracking events")

    def __str__(self):
        return f"{self.kind} {self.message_id}"


class EventCursor(models.Model):
    """How far a poller has read a growing table (events, identities), by id."""

    name = models.CharField(max_length=60, unique=True)
    last_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("event cursor")
        verbose_name_plural = _("event cursors")

    def __str__(self):
        return f"{self.name} @ {self.last_id}"
