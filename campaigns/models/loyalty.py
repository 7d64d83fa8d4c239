"""Loyalty: earn rules, tiers, each customer's account and the points ledger, and referrals.

The ledger is like the stock ledger: entries are only ever added (an earn, its reversal by a
return, a spend on an order, its release when the order is cancelled, an expiry, a referral
credit, a staff or partner adjustment). `(customer, source, kind)` is unique, so a retried
earn, spend or reversal finds the entry it made the first time. Her balance is the sum of her
entries (a handful per order, one indexed read); a spend holds her customer row locked while
it checks and writes, so two spends never take the same points. A merge re-points the entries,
and the survivor's balance is at once the sum of both.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import Channel


class EntryKind(models.TextChoices):
    EARN = "earn", _("Earned on an order")
    REVERSE = "reverse", _("Taken back by a return or cancellation")
    SPEND = "spend", _("Spent on an order")
    RELEASE = "release", _("Given back (order cancelled)")
    EXPIRE = "expire", _("Expired")
    REFERRAL = "referral", _("Referral credit")
    ADJUST = "adjust", _("Adjustment")


# Entries whose points can expire (FIFO, by their expires_at).
EXPIRING_KINDS = (EntryKind.EARN, EntryKind.REFERRAL, EntryKind.ADJUST)


class LoyaltyRule(models.Model):
    """Points per unit of `currency` spent. The most specific active rule for a line wins:
    channel and category, then category, then channel, then neither. A category rule
    covers its subtree."""

    name = models.CharField(_("name"), max_length=120)
    channel = models.ForeignKey(
        Channel,
        verbose_name=_("channel"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text=_("Empty: every channel."),
    )
    category = models.ForeignKey(
        "catalog.Category",
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text=_("Empty: every category. A category covers its subcategories."),
    )
    currency = models.CharField(_("currency"), max_length=3)
    points_per_unit = models.DecimalField(
        _("points per unit"),
        max_digits=16,
        decimal_places=8,
        help_text=_("Points earned per one unit of the currency spent (0 earns nothing)."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["currency", "name"]
        verbose_name = _("loyalty earn rule")
        verbose_name_plural = _("loyalty earn rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(points_per_unit__gte=0), name="campaigns_loyalty_rule_not_negative"
            ),
        ]

    def __str__(self):
        return self.name


class LoyaltyTier(models.Model):
    """A tier reached by lifetime spend in one currency; it multiplies what she earns."""

    name = models.CharField(_("name"), max_length=80)
    currency = models.CharField(_("currency"), max_length=3)
    minimum_spend = models.DecimalField(
        _("minimum lifetime spend"), max_digits=14, decimal_places=2
    )
    earn_multiplier = models.DecimalField(
        _("earn multiplier"), max_digits=5, decimal_places=2, default=1
    )

    class Meta:
        ordering = ["currency", "minimum_spend"]
        verbose_name = _("loyalty tier")
        verbose_name_plural = _("loyalty tiers")
        constraints = [
            models.UniqueConstraint(
                fields=["currency", "minimum_spend"], name="campaigns_tier_one_per_threshold"
            ),
            models.CheckConstraint(
                condition=Q(earn_multiplier__gt=0), name="campaigns_tier_multiplier_positive"
            ),
        ]

    def __str__(self):
        return self.name


class LoyaltyEntry(models.Model):
    """One immutable movement of her points (signed)."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="loyalty_entries",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=EntryKind.choices)
    points = models.IntegerField(_("points"))
    source = models.CharField(
        _("source"),
        max_length=120,
        help_text=_("What caused it: an order, a return, a referral or a partner's key."),
    )
    order_number = models.CharField(_("order"), max_length=64, blank=True, db_index=True)
    channel = models.ForeignKey(
        Channel, verbose_name=_("channel"), null=True, blank=True, on_delete=models.SET_NULL
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("loyalty entry")
        verbose_name_plural = _("loyalty entries")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "source", "kind"], name="campaigns_loyalty_entry_once"
            ),
            models.CheckConstraint(condition=~Q(points=0), name="campaigns_loyalty_entry_moves"),
        ]
        indexes = [
            models.Index(
                fields=["customer", "kind", "expires_at"], name="campaigns_loyalty_expiry_idx"
            )
        ]

    def __str__(self):
        return f"{self.kind} {self.points:+d}"


class ReferralCode(models.Model):
    """Her code to hand to friends (made once, on request; a merge may leave her two)."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="referral_codes",
    )
    code = models.CharField(_("code"), max_length=20, unique=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("referral code")
        verbose_name_plural = _("referral codes")

    def __str__(self):
        return self.code


class ReferralStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for her first order")
    CREDITED = "credited", _("Credited")
    REFUSED = "refused", _("Refused")


class Referral(models.Model):
    """Who brought whom: one per new customer (the referee), credited once, by a guarded
    status change (pending -> credited) in the transaction that writes both credits."""

    referrer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("referred by"),
        on_delete=models.CASCADE,
        related_name="referrals_made",
    )
    referee = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("new customer"),
        on_delete=models.CASCADE,
        related_name="referrals_received",
    )
    code = models.CharField(_("code"), max_length=20)
    status = models.CharField(
        _("status"), max_length=10, choices=ReferralStatus.choices, default=ReferralStatus.PENDING
    )
    refusal = models.CharField(_("why refused"), max_length=200, blank=True)
    order_number = models.CharField(_("first order"), max_length=64, blank=True)
    referrer_points = models.PositiveIntegerField(_("points to the referrer"), default=0)
    referee_points = models.PositiveIntegerField(_("points to the new customer"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")

    def __str__(self):
        return f"{self.referrer_id} → {self.referee_id}"
