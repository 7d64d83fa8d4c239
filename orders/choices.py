"""Orders' choices (statuses, kinds, reasons): plain enums other apps may import without
reaching into orders' models."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CartStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    ABANDONED = "abandoned", _("Abandoned")
    CONVERTED = "converted", _("Converted")


class OrderStatus(models.TextChoices):
    PLACED = "placed", _("Placed")
    CONFIRMED = "confirmed", _("Confirmed")
    PARTIALLY_FULFILLED = "partially_fulfilled", _("Partially fulfilled")
    FULFILLED = "fulfilled", _("Fulfilled")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    AUTHORISED = "authorised", _("Authorised")
    PAID = "paid", _("Paid")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")
    NOT_REQUIRED = "not_required", _("Not required")


class FulfilmentMethod(models.TextChoices):
    SHIP = "ship", _("Ship to address")
    PICKUP_IN_STORE = "pickup_in_store", _("Pickup in store")
    SHIP_FROM_STORE = "ship_from_store", _("Ship from store")
    IN_STORE = "in_store", _("Taken in store")


class OrderKind(models.TextChoices):
    SALE = "sale", _("Sale")
    EXCHANGE = "exchange", _("Exchange")
    REPLACEMENT = "replacement", _("Replacement")


class LineStatus(models.TextChoices):
    OPEN = "open", _("Open")
    FULFILLED = "fulfilled", _("Fulfilled")
    CANCELLED = "cancelled", _("Cancelled")
    REMOVED = "removed", _("Removed by an edit")


class PartStatus(models.TextChoices):
    OPEN = "open", _("Open")
    FULFILLED = "fulfilled", _("Fulfilled")
    RELEASED = "released", _("Released")


class AlertKind(models.TextChoices):
    TRANSFER_LATE = "transfer_late", _("The transfer for a pickup is late")
    PICKUP_REPLANNED = "pickup_replanned", _("The pickup is served from the store's own stock")
    PICKUP_RELEASED = (
        "pickup_released",
        _("The pickup's units did not arrive; the hold is released"),
    )


class ReturnReason(models.TextChoices):
    DEFECT = "defect", _("Defect")
    SIZE = "size", _("Wrong size")
    COLOUR = "colour", _("Colour")
    CHANGED_MIND = "changed_mind", _("Changed mind")


class ReturnKind(models.TextChoices):
    RETURN = "return", _("Return")
    EXCHANGE = "exchange", _("Exchange")
    REPLACEMENT = "replacement", _("Replacement")


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    RECEIVED = "received", _("Received")
    CANCELLED = "cancelled", _("Cancelled")


class PickupStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    COLLECTED = "collected", _("Collected")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
