"""Journeys: event-triggered flows, their steps, each customer's run through one, and the
cursors with which pollers read the timeline."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models.coupons import CouponPool
from campaigns.models.segments import MessageTemplate
from core.models import Channel
from customers.choices import ConsentPurpose


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
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="journey_runs",
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
