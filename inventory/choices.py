"""Inventory's choices (location kinds, movement reasons, reservation and transfer states,
allocation strategies): plain enums other apps may import without reaching into inventory's
models."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class LocationKind(models.TextChoices):
    STORE = "store", _("Store")
    WAREHOUSE = "warehouse", _("Warehouse")
    DROPSHIP = "dropship", _("Dropship supplier")


class MovementReason(models.TextChoices):
    RECEIPT = "receipt", _("Receipt")
    SALE = "sale", _("Sale")
    RETURN = "return", _("Return")
    TRANSFER_OUT = "transfer_out", _("Transfer out")
    TRANSFER_IN = "transfer_in", _("Transfer in")
    ADJUSTMENT = "adjustment", _("Adjustment")
    COUNT = "count", _("Stock count")
    DAMAGE = "damage", _("Damage")


class ReservationStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    RELEASED = "released", _("Released")
    CONFIRMED = "confirmed", _("Confirmed")
    EXPIRED = "expired", _("Expired")


class TransferStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    IN_TRANSIT = "in_transit", _("In transit")
    RECEIVED = "received", _("Received")
    CANCELLED = "cancelled", _("Cancelled")


class AllocationStrategy(models.TextChoices):
    PRIORITY = "priority", _("Location priority order")
    NEAREST = "nearest", _("Nearest to the customer")
    MOST_STOCK = "most_stock", _("Most stock first")
