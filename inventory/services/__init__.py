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
from inventory.services.reservations import confirm, expire_due, release, reserve, reserve_split
from inventory.services.transfers import (
    ReceiptLineInput,
    TransferLineInput,
    cancel,
    create_transfer,
    notice_late_transfers,
    receive,
    receive_units,
    request_transfer,
    ship,
)

__all__ = [
    "CountLine",
    "MovementInput",
    "MovementResult",
    "ReceiptLineInput",
    "TransferLineInput",
    "cancel",
    "confirm",
    "create_transfer",
    "expire_due",
    "notice_late_transfers",
    "rebuild_levels",
    "receive",
    "receive_units",
    "record_count",
    "record_movement",
    "record_movements",
    "release",
    "request_transfer",
    "reserve",
    "reserve_split",
    "ship",
]
