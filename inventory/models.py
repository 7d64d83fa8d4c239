"""Inventory tables: locations, the immutable stock ledger, stock levels derived from it,
reservations, transfers, per-channel allocation and sync rules, and the sync state.

The ledger (`StockMovement`) is the truth; `StockLevel` is its running sum per variant and
location, kept in the same transaction by `inventory.services.movements` and rebuildable
with `manage.py rebuild_stock_levels`.
"""

import re
import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.names import NamedPerLanguage
from inventory.choices import (  # noqa: F401 (inventory's modules import them from here too)
    AllocationStrategy,
    LocationKind,
    MovementReason,
    ReservationStatus,
    TransferStatus,
)


class LocationQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def serving(self, channel):
        """Locations whose stock counts for `channel`: active, linked to the channel, and,
        unless the channel is the stores' own channel, willing to serve online orders."""
        qs = self.filter(is_active=True, channels=channel)
        if channel.kind != "store":
            qs = qs.filter(serves_online=True)
        return qs


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOUR = re.compile(r"^([01][0-9]|2[0-4]):[0-5][0-9]$")


def opening_hours_problem(hours) -> str:
    """Why `hours` is not {"mon": [["09:00", "21:00"], ...], ...}, or "" when it is."""
    if not isinstance(hours, dict):
        return _("Opening hours are a mapping of weekday to opening periods.")
    for day, periods in hours.items():
        if day not in WEEKDAYS:
            return _("Unknown weekday %(day)s; use mon … sun.") % {"day": day}
        if not isinstance(periods, list):
            return _("%(day)s: a list of [opens, closes] periods.") % {"day": day}
        for period in periods:
            if (
                not isinstance(period, list | tuple)
                or len(period) != 2
                or not all(isinstance(t, str) and HOUR.match(t) for t in period)
                or period[0] >= period[1]
            ):
                return _('%(day)s: each period is ["HH:MM", "HH:MM"], opening first.') % {
                    "day": day
                }
    return ""


class Location(NamedPerLanguage):
    """A place that holds stock: a store, a warehouse or a dropship supplier.

    A store is not a warehouse: several stores may draw on one warehouse (`supplied_by`),
    whose stock is counted once, at the warehouse, never copied into each store."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=12, choices=LocationKind.choices)
    address = models.TextField(_("address"), blank=True)
    city = models.CharField(_("city"), max_length=80, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True, help_text=_("ISO 3166"))
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    opening_hours = models.JSONField(
        _("opening hours"),
        default=dict,
        blank=True,
        help_text=_('Per weekday, local time: {"mon": [["09:00", "21:00"]], "fri": []}'),
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    serves_online = models.BooleanField(
        _("serves online orders"),
        default=True,
        help_text=_("Its stock may be promised to online channels it is linked to."),
    )
    allows_pickup = models.BooleanField(_("allows pickup"), default=False)
    ships_from_store = models.BooleanField(_("ships from store"), default=False)
    priority = models.PositiveIntegerField(
        _("priority"), default=100, help_text=_("Lower is allocated first (priority strategy).")
    )
    channels = models.ManyToManyField(
        "core.Channel",
        verbose_name=_("sales channels served"),
        related_name="stock_locations",
        blank=True,
    )
    supplied_by = models.ForeignKey(
        "self",
        verbose_name=_("draws on warehouse"),
        null=True,
        blank=True,
        related_name="supplied_locations",
        on_delete=models.SET_NULL,
        limit_choices_to={"kind": LocationKind.WAREHOUSE},
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = LocationQuerySet.as_manager()

    class Meta:
        ordering = ["priority", "code"]
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        constraints = [
            models.CheckConstraint(
                condition=~Q(supplied_by=F("id")), name="inventory_location_not_own_supplier"
            ),
        ]

    def __str__(self):
        return f"{self.display_name} ({self.code})"

    def clean(self):
        errors = {}
        try:
            zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors["time_zone"] = _("Not a time zone name, e.g. Asia/Tehran.")
        problem = opening_hours_problem(self.opening_hours)
        if problem:
            errors["opening_hours"] = problem
        if errors:
            raise ValidationError(errors)
        if self.supplied_by_id and self.supplied_by_id == self.pk:
            raise ValidationError({"supplied_by": _("A location cannot draw on itself.")})
        if self.supplied_by and self.supplied_by.kind != LocationKind.WAREHOUSE:
            raise ValidationError({"supplied_by": _("A location draws on a warehouse.")})

    @property
    def has_coordinates(self):
        return self.latitude is not None and self.longitude is not None


class ImmutableRowError(Exception):
    """Ledger rows are never changed or deleted; record a new movement instead."""


class StockMovementQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ImmutableRowError("Stock movements are immutable; record a correcting movement.")

    def delete(self):
        raise ImmutableRowError("Stock movements are immutable; record a correcting movement.")


class StockMovement(models.Model):
    """One change of stock, immutable. `quantity` is signed (a sale is negative).

    A count records the absolute figure it saw (`counted_quantity`) and, as `quantity`, the
    difference to the ledger at its own moment, so the level is always the ledger's sum.
    (`source`, `idempotency_key`) is unique: a replayed batch changes nothing."""

    variant = models.ForeignKey(
        "catalog.ProductVariant",
        verbose_name=pgettext_lazy("product", "variant"),
        related_name="stock_movements",
        on_delete=models.PROTECT,
    )
    location = models.ForeignKey(
        Location, verbose_name=_("location"), related_name="movements", on_delete=models.PROTECT
    )
    quantity = models.IntegerField(_("quantity"))
    reason = models.CharField(_("reason"), max_length=12, choices=MovementReason.choices)
    counted_quantity = models.IntegerField(_("counted quantity"), null=True, blank=True)
    channel = models.ForeignKey(
        "core.Channel",
        verbose_name=_("channel"),
        null=True,
        blank=True,
        related_name="stock_movements",
        on_delete=models.PROTECT,
    )
    reference = models.CharField(
        _("reference"), max_length=120, blank=True, help_text=_("Order, transfer or count.")
    )
    note = models.CharField(_("note"), max_length=255, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"), db_index=True)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    source = models.CharField(
        _("source"), max_length=80, help_text=_("The system that sent it, e.g. a store's POS.")
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=160)

    objects = StockMovementQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "idempotency_key"], name="inventory_movement_key_per_source"
            ),
            models.CheckConstraint(
                condition=Q(reason="count") | Q(counted_quantity__isnull=True),
                name="inventory_movement_counted_only_on_counts",
            ),
        ]
        indexes = [
            models.Index(fields=["variant", "location", "occurred_at"], name="inv_move_pair_time"),
            models.Index(fields=["location", "-occurred_at"], name="inv_move_location_time"),
        ]

    def __str__(self):
        return f"{self.reason} {self.quantity:+d} {self.variant_id}@{self.location_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ImmutableRowError("Stock movements are immutable; record a correcting movement.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRowError("Stock movements are immutable; record a correcting movement.")


class StockLevel(models.Model):
    """The running sum of the ledger per variant and location, plus what is promised.

    `on_hand` may go below zero: a store's POS may report a sale the system did not know
    it had stock for, and the ledger must record what happened. What prevents overselling
    is the reservation rule (`reserve` only succeeds while on_hand - reserved -
    safety_stock covers it, in one guarded UPDATE) and `reserved >= 0` here."""

    variant = models.ForeignKey(
        "catalog.ProductVariant",
        verbose_name=pgettext_lazy("product", "variant"),
        related_name="stock_levels",
        on_delete=models.CASCADE,
    )
    location = models.ForeignKey(
        Location, verbose_name=_("location"), related_name="levels", on_delete=models.CASCADE
    )
    on_hand = models.IntegerField(_("on hand"), default=0)
    reserved = models.IntegerField(_("reserved"), default=0)
    safety_stock = models.IntegerField(
        _("safety stock"), default=0, help_text=_("Units never promised to a channel.")
    )
    low_stock_threshold = models.IntegerField(
        _("low-stock threshold"),
        null=True,
        blank=True,
        help_text=_("Alert when available units fall to this figure. Empty: no alert."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["variant_id", "location_id"]
        verbose_name = _("stock level")
        verbose_name_plural = _("stock levels")
        constraints = [
            models.UniqueConstraint(fields=["variant", "location"], name="inventory_level_pair"),
            models.CheckConstraint(
                condition=Q(reserved__gte=0), name="inventory_level_reserved_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(safety_stock__gte=0), name="inventory_level_safety_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(low_stock_threshold__isnull=True) | Q(low_stock_threshold__gte=0),
                name="inventory_level_threshold_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["location", "variant"], name="inv_level_location")]

    def __str__(self):
        return f"{self.variant_id}@{self.location_id}: {self.on_hand}"

    @property
    def available(self):
        return max(0, self.on_hand - self.reserved - self.safety_stock)


class Reservation(models.Model):
    """Units of a variant held at a location for an order or a pickup, until confirmed
    (a sale), released, or expired."""

    variant = models.ForeignKey(
        "catalog.ProductVariant",
        verbose_name=pgettext_lazy("product", "variant"),
        related_name="reservations",
        on_delete=models.PROTECT,
    )
    location = models.ForeignKey(
        Location,
        verbose_name=_("held at"),
        related_name="reservations",
        on_delete=models.PROTECT,
    )
    pickup_location = models.ForeignKey(
        Location,
        verbose_name=_("pickup at"),
        null=True,
        blank=True,
        related_name="pickup_reservations",
        on_delete=models.PROTECT,
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=ReservationStatus.choices,
        default=ReservationStatus.ACTIVE,
        db_index=True,
    )
    channel = models.ForeignKey(
        "core.Channel",
        verbose_name=_("channel"),
        null=True,
        blank=True,
        related_name="stock_reservations",
        on_delete=models.PROTECT,
    )
    reference = models.CharField(_("reference"), max_length=120, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="inventory_reservation_qty")
        ]
        indexes = [
            models.Index(
                fields=["expires_at"],
                condition=Q(status="active"),
                name="inv_reservation_active_expiry",
            )
        ]

    def __str__(self):
        return f"#{self.pk} {self.quantity}× {self.variant_id}@{self.location_id} {self.status}"


class Transfer(models.Model):
    """Units of one or more variants (its lines) moving between two locations: out at the
    source when shipped, in at the destination as they are received (in one or several
    receipts; units that arrive damaged are written off there)."""

    from_location = models.ForeignKey(
        Location, verbose_name=_("from"), related_name="transfers_out", on_delete=models.PROTECT
    )
    to_location = models.ForeignKey(
        Location, verbose_name=_("to"), related_name="transfers_in", on_delete=models.PROTECT
    )
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=TransferStatus.choices,
        default=TransferStatus.REQUESTED,
        db_index=True,
    )
    reservation = models.ForeignKey(
        Reservation,
        verbose_name=_("for reservation"),
        null=True,
        blank=True,
        related_name="transfers",
        on_delete=models.SET_NULL,
    )
    reference = models.CharField(_("reference"), max_length=120, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expected_at = models.DateTimeField(
        _("expected"), null=True, blank=True, help_text=_("When the units should arrive.")
    )
    shipped_at = models.DateTimeField(_("shipped"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"), null=True, blank=True)
    receipts = models.PositiveIntegerField(_("receipts"), default=0)
    late_noticed_at = models.DateTimeField(_("late noticed"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_location=F("to_location")),
                name="inventory_transfer_two_locations",
            ),
        ]
        indexes = [
            models.Index(
                fields=["expected_at"],
                condition=Q(status="in_transit"),
                name="inv_transfer_transit_expected",
            )
        ]

    def __str__(self):
        return f"T{self.pk}: {self.from_location_id}→{self.to_location_id}"

    @property
    def quantity(self):
        """Units asked for over every line."""
        return sum(line.quantity for line in self.lines.all())


class TransferLine(models.Model):
    """One variant of a transfer: asked for, shipped, received in good condition, and
    received damaged (written off at the destination)."""

    transfer = models.ForeignKey(
        Transfer, verbose_name=_("transfer"), related_name="lines", on_delete=models.CASCADE
    )
    variant = models.ForeignKey(
        "catalog.ProductVariant",
        verbose_name=pgettext_lazy("product", "variant"),
        related_name="transfer_lines",
        on_delete=models.PROTECT,
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    shipped = models.PositiveIntegerField(_("shipped"), default=0)
    received = models.PositiveIntegerField(_("received"), default=0)
    damaged = models.PositiveIntegerField(_("damaged"), default=0)

    class Meta:
        ordering = ["transfer_id", "id"]
        verbose_name = _("transfer line")
        verbose_name_plural = _("transfer lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="inventory_transfer_line_qty"),
            models.CheckConstraint(
                condition=Q(received__lte=F("shipped") - F("damaged")),
                name="inventory_transfer_line_not_over_received",
            ),
            models.UniqueConstraint(
                fields=["transfer", "variant"], name="inventory_transfer_line_variant"
            ),
        ]

    def __str__(self):
        return f"{self.quantity}× {self.variant_id}"

    @property
    def outstanding(self) -> int:
        """Shipped units not yet received nor written off: on their way."""
        return self.shipped - self.received - self.damaged


class ChannelStockRule(models.Model):
    """How a sales channel takes stock: which location an order is allocated from, what
    share of the available units it may promise, and where its figures are pushed."""

    channel = models.OneToOneField(
        "core.Channel",
        verbose_name=_("channel"),
        related_name="stock_rule",
        on_delete=models.CASCADE,
    )
    strategy = models.CharField(
        _("allocation strategy"),
        max_length=12,
        choices=AllocationStrategy.choices,
        default=AllocationStrategy.PRIORITY,
    )
    buffer_percent = models.PositiveSmallIntegerField(
        _("share offered (%)"),
        default=100,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("Promise only this share of the available units (e.g. 80 for a marketplace)."),
    )
    pickup_may_transfer = models.BooleanField(
        _("pickup may transfer"),
        default=False,
        help_text=_("A pickup may be served from another location's stock by a transfer."),
    )
    may_split_lines = models.BooleanField(
        _("may split a line"),
        default=False,
        help_text=_(
            "A line no single location can fill is allocated across several locations "
            "(in the strategy's order, fewest shipments first)."
        ),
    )
    sync_url = models.URLField(_("stock sync endpoint"), blank=True)
    sync_secret = models.CharField(_("sync signing secret"), max_length=128, blank=True)
    sync_enabled = models.BooleanField(_("push stock changes"), default=False)

    class Meta:
        verbose_name = _("channel stock rule")
        verbose_name_plural = _("channel stock rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(buffer_percent__lte=100), name="inventory_rule_buffer_percent"
            )
        ]

    def __str__(self):
        return f"{self.channel}: {self.get_strategy_display()}"


class StockSyncState(models.Model):
    """Per channel and variant: whether a figure awaits pushing (the pending set that
    debounces bursts), and the version last sent. Versions only grow, and a figure is
    computed when it is sent, so a channel never receives an older figure after a newer."""

    channel = models.ForeignKey(
        "core.Channel", related_name="stock_sync_states", on_delete=models.CASCADE
    )
    variant = models.ForeignKey(
        "catalog.ProductVariant", related_name="stock_sync_states", on_delete=models.CASCADE
    )
    pending = models.BooleanField(default=True)
    changed_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveBigIntegerField(default=0)
    last_units = models.IntegerField(null=True, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("stock sync state")
        verbose_name_plural = _("stock sync states")
        constraints = [
            models.UniqueConstraint(fields=["channel", "variant"], name="inventory_sync_pair")
        ]
        indexes = [
            models.Index(
                fields=["channel", "changed_at"],
                condition=Q(pending=True),
                name="inv_sync_pending",
            )
        ]

    def __str__(self):
        return f"{self.channel_id}/{self.variant_id} v{self.version}"
