"""Campaigns: a one-off broadcast to a segment and its A/B variants."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models.coupons import CouponPool
from campaigns.models.segments import MessageTemplate, Segment
from core.models import Channel
from customers.choices import ConsentPurpose


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
