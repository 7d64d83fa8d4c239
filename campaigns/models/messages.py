"""Messages: one row per message sent (the idempotency of every send), what the providers and
the customer did with it, suppressions and unsubscribes.

The invariant that matters most lives in CampaignMessage's constraints: one message per
(campaign, customer) and per (journey run, journey step). A retried task or a restarted worker
finds the row that already exists and never makes a second one.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models.campaigns import Campaign, CampaignVariant
from campaigns.models.coupons import CouponCode
from campaigns.models.journeys import JourneyRun, JourneyStep
from campaigns.models.segments import MessageTemplate
from core.models import Channel, ChannelKind
from customers.choices import ConsentPurpose


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
        "customers.Customer",
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
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="unsubscribes",
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
