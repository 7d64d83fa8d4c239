"""Everything that writes stock, one module per capability. Other apps import from here:

from inventory.services import reserve, release, confirm, record_movements
"""

from inventory.services.counts import CountLine, record_count
from inventory.services.movements import (
    MovementInput,
    MovementResult,
    rebuild_levels,
    record_movement,
    record_movements,
)
from inventory.services.reservations import confirm, expire_due, release, reserve
from inventory.services.transfers import cancel, receive, request_transfer, ship

__all__ = [
    "CountLine",
    "MovementInput",
    "MovementResult",
    "cancel",
    "confirm",
    "expire_due",
    "rebuild_levels",
    "receive",
    "record_count",
    "record_movement",
    "record_movements",
    "release",
    "request_transfer",
    "reserve",
    "ship",
]
