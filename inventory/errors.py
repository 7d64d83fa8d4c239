"""Inventory's domain errors; core's API handler renders them as {"error": {...}}."""

from core.api.errors import DomainError


class InventoryError(DomainError):
    code = "inventory_error"
    status_code = 400


class InsufficientStock(InventoryError):
    """Not enough available units (on hand - reserved - safety stock) anywhere allowed."""

    code = "insufficient_stock"
    status_code = 409


class UnknownSku(InventoryError):
    code = "unknown_sku"
    status_code = 400


class UnknownLocation(InventoryError):
    code = "unknown_location"
    status_code = 400


class UnknownChannel(InventoryError):
    code = "unknown_channel"
    status_code = 400


class InvalidMovement(InventoryError):
    code = "invalid"
    status_code = 400


class ReservationNotFound(InventoryError):
    code = "not_found"
    status_code = 404


class IllegalTransition(InventoryError):
    """A reservation or transfer cannot go from its current status to the one asked."""

    code = "illegal_transition"
    status_code = 409


class InvalidCount(InventoryError):
    """A stock count with bad lines; `details["lines"]` lists each one as {"line", "code",
    "reason"}. Nothing of the count was recorded."""

    code = "invalid_count"
    status_code = 400

    @property
    def lines(self) -> list[dict]:
        return self.details.get("lines", [])
