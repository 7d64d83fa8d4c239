"""Customers tables: the profile, its identities, the event timeline, consent history, and the
audit of merges and of privacy requests.

Invariants live here as constraints: an identity value is unique per kind (and partner, for
external ids); an event's message id is unique, which is what makes partner retries harmless.
"""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import Channel, ChannelKind
from customers.choices import ConsentPurpose, ConsentStatus, IdentityKind

# Identities that say nothing about who the person is: a profile holding only these is
# anonymous, and an anonymous profile always merges into a known one.
ANONYMOUS_KINDS = frozenset({IdentityKind.COOKIE, IdentityKind.DEVICE})
# Verified identities of these kinds make two known profiles distinct people: they are never
# merged automatically, only flagged as a MergeCandidate.
CONFLICTING_KINDS = frozenset({IdentityKind.EMAIL, IdentityKind.PHONE})


class CustomerQuerySet(models.QuerySet):
    def live(self):
        """Profiles that are not tombstones of a merge."""
        return self.filter(merged_into__isnull=True)


def new_public_id():
    return uuid.uuid4()


class Customer(models.Model):
    """One person, whatever the channel. `public_id` is what partners and URLs use; it stays
    valid after a merge (the losing profile remains as a tombstone pointing at the survivor)."""

    public_id = models.UUIDField(_("public id"), default=new_public_id, unique=True, editable=False)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    locale = models.CharField(_("locale"), max_length=20, blank=True)
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=20, choices=ChannelKind.choices, blank=True
    )
    traits = models.JSONField(_("other traits"), default=dict, blank=True)
    is_anonymous = models.BooleanField(
        _("anonymous"), default=True, help_text=_("Known only by cookies or devices.")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    first_seen_at = models.DateTimeField(_("first seen"), null=True, blank=True)
    # Not indexed: it changes with every event, and an unindexed column lets PostgreSQL
    # update the row in place (HOT) during ingest.
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    # Lifetime figures, denormalised from the timeline and kept current by the services.
    orders_count = models.PositiveIntegerField(_("orders"), default=0)
    lifetime_spend = models.JSONField(
        _("lifetime spend"), default=dict, blank=True, help_text=_("Per currency.")
    )
    channels_used = models.JSONField(_("channels used"), default=list, blank=True)
    events_count = models.PositiveIntegerField(_("events"), default=0)
    # Where she lives (or the point she chose), for "within N km of a store" segments: set by
    # the identify traits `latitude`/`longitude` or in the admin. Her home store's place is
    # not her place, so nothing fills these from orders.
    latitude = models.FloatField(
        _("latitude"),
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
        help_text=_("Where she lives, in degrees; used by distance-to-store segments."),
    )
    longitude = models.FloatField(
        _("longitude"),
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )

    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_profiles",
    )
    merged_at = models.DateTimeField(_("merged"), null=True, blank=True)
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["last_name", "first_name"], name="customer_name_idx"),
            # Only the few profiles with a place: the box of a distance-to-store segment.
            models.Index(
                fields=["latitude", "longitude"],
                name="customer_place_idx",
                condition=models.Q(latitude__isnull=False),
            ),
        ]

    def __str__(self):
        return self.display_name

    @property
    def full_name(self):
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def display_name(self):
        if self.erased_at:
            return str(_("Erased customer"))
        return self.full_name or str(_("Anonymous visitor"))


class Identity(models.Model):
    """A way to recognise a customer. `value` is normalised (see customers.normalise), so the
    same email or phone written differently is one row."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="identities"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=IdentityKind.choices)
    value = models.CharField(_("value"), max_length=255)
    partner = models.CharField(
        _("partner"),
        max_length=100,
        blank=True,
        default="",
        help_text=_("Whose id this is, for external ids (shopify, pos-tabriz, ...)."),
    )
    is_verified = models.BooleanField(_("verified"), default=False)
    # Set when a provider says this address can never be reached (a Telegram user who
    # blocked the bot, a number that does not exist): nothing more is sent to it.
    unreachable_at = models.DateTimeField(_("unreachable since"), null=True, blank=True)
    unreachable_reason = models.CharField(_("why unreachable"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["kind", "value"]
        verbose_name = _("identity")
        verbose_name_plural = _("identities")
        constraints = [
            # kind first, value second: lookups by kind and value use this index.
            models.UniqueConstraint(
                fields=["kind", "value", "partner"], name="identity_unique_kind_value"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="external_id") | ~models.Q(partner=""),
                name="identity_external_id_has_partner",
            ),
        ]
        indexes = [models.Index(fields=["value"], name="identity_value_idx")]

    def __str__(self):
        prefix = f"{self.kind}:{self.partner}:" if self.partner else f"{self.kind}:"
        return prefix + self.value

    @property
    def is_anonymous(self):
        return self.kind in ANONYMOUS_KINDS


class Event(models.Model):
    """One touchpoint on the customer's timeline. `message_id` is the partner's dedupe key
    (or one we make up); a retried delivery with the same id is stored once."""

    # Indexes are few on purpose: every one costs ingest speed. The timeline index leads
    # with the customer, so the foreign key needs no index of its own.
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="events",
        db_index=False,
    )
    name = models.CharField(_("name"), max_length=64)
    channel = models.ForeignKey(
        Channel,
        verbose_name=_("channel"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        db_index=False,
    )
    occurred_at = models.DateTimeField(_("occurred"), default=timezone.now)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    properties = models.JSONField(_("properties"), default=dict, blank=True)
    source = models.CharField(_("source"), max_length=100, blank=True)
    message_id = models.CharField(_("message id"), max_length=100, unique=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("event")
        verbose_name_plural = _("events")
        indexes = [
            # The channel rides along, so the channels a timeline can be filtered by are read
            # from the index alone (a customer with 50,000 events: 10 ms, not 260).
            models.Index(
                fields=["customer", "-occurred_at", "-id"],
                name="event_timeline_idx",
                include=["channel"],
            ),
            models.Index(fields=["occurred_at"], name="event_occurred_idx"),
            # The orders of a period (attribution, campaign reports): a few in a million
            # events, which the planner otherwise finds by scanning them all (it cannot
            # tell how rare a name is). Partial, so other events' ingest pays nothing.
            models.Index(
                fields=["occurred_at"],
                condition=models.Q(name="order_completed"),
                name="event_order_completed_idx",
            ),
        ]

    def __str__(self):
        return f"{self.name} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class ArchivedFigures(models.Model):
    """What a customer's events of one archived month added to her lifetime figures, kept
    when that month's partition is archived (core.partitioning), so rebuilding the figures
    from the timeline (recompute_lifetime_figures) still counts them."""

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="archived_figures",
    )
    month = models.DateField(_("month"))
    events = models.PositiveIntegerField(_("events"), default=0)
    orders = models.PositiveIntegerField(_("orders"), default=0)
    spend = models.JSONField(_("spend"), default=dict, blank=True)
    channel_kinds = models.JSONField(_("channels"), default=list, blank=True)
    first_seen_at = models.DateTimeField(_("first seen"))
    last_seen_at = models.DateTimeField(_("last seen"))

    class Meta:
        ordering = ["month"]
        verbose_name = _("archived figures")
        verbose_name_plural = _("archived figures")

    def __str__(self):
        return f"{self.customer_id} {self.month:%Y-%m}"


class Consent(models.Model):
    """One consent decision. Rows are never changed: the history is kept and, per channel kind
    and purpose, the latest decision wins."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="consents"
    )
    channel_kind = models.CharField(_("channel"), max_length=20, choices=ChannelKind.choices)
    purpose = models.CharField(_("purpose"), max_length=20, choices=ConsentPurpose.choices)
    status = models.CharField(_("status"), max_length=10, choices=ConsentStatus.choices)
    source = models.CharField(_("source"), max_length=100, blank=True)
    recorded_at = models.DateTimeField(_("when"), default=timezone.now)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        indexes = [
            models.Index(
                fields=["customer", "channel_kind", "purpose", "-recorded_at"],
                name="consent_latest_idx",
            )
        ]

    def __str__(self):
        return f"{self.channel_kind}/{self.purpose}: {self.status}"

    @property
    def is_granted(self):
        return self.status == ConsentStatus.GRANTED


class CustomerMerge(models.Model):
    """Audit of a merge: who was folded into whom, why, and what moved."""

    survivor = models.ForeignKey(
        Customer, verbose_name=_("survivor"), on_delete=models.PROTECT, related_name="merges"
    )
    loser = models.ForeignKey(
        Customer,
        verbose_name=_("merged profile"),
        on_delete=models.PROTECT,
        related_name="merged_away",
    )
    loser_public_id = models.UUIDField(_("merged profile id"))
    reason = models.CharField(_("reason"), max_length=200)
    identities = models.JSONField(_("identities that linked them"), default=list, blank=True)
    moved = models.JSONField(_("rows moved"), default=dict, blank=True)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("merged by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    source = models.CharField(_("source"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")

    def __str__(self):
        return f"{self.loser_public_id} → {self.survivor.public_id}"


class MergeCandidateStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved (merged)")
    REJECTED = "rejected", _("Rejected (different people)")


class MergeCandidate(models.Model):
    """Two known profiles that the same input named but that hold different verified emails
    or phones: a person decides whether they are one customer."""

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("older profile"),
        on_delete=models.CASCADE,
        related_name="merge_candidates",
    )
    other = models.ForeignKey(
        Customer,
        verbose_name=_("newer profile"),
        on_delete=models.CASCADE,
        related_name="merge_candidates_as_other",
    )
    reason = models.CharField(_("reason"), max_length=200)
    identities = models.JSONField(_("identities seen together"), default=list, blank=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=MergeCandidateStatus.choices,
        default=MergeCandidateStatus.PENDING,
        db_index=True,
    )
    source = models.CharField(_("source"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("merge candidate")
        verbose_name_plural = _("merge candidates")
        constraints = [
            models.UniqueConstraint(fields=["customer", "other"], name="merge_candidate_pair"),
            models.CheckConstraint(
                condition=~models.Q(customer=models.F("other")), name="merge_candidate_two"
            ),
        ]

    def __str__(self):
        return f"{self.customer_id} ? {self.other_id} ({self.status})"


class PrivacyRequestKind(models.TextChoices):
    EXPORT = "export", _("Export")
    ERASE = "erase", _("Erase")


class PrivacyRequest(models.Model):
    """The record that an export or an erasure happened (holds no personal data itself)."""

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="privacy_requests",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=PrivacyRequestKind.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    source = models.CharField(_("source"), max_length=100, blank=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("privacy request")
        verbose_name_plural = _("privacy requests")

    def __str__(self):
        return f"{self.kind} {self.customer.public_id}"


# Daily rollups of the dashboards and reports live in their own module.
from customers.rollups import (  # noqa: E402, F401
    DailyFigure,
    JourneyFigure,
    RollupRefresh,
    SupportDailyFigure,
)
