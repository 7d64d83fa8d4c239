"""Orders' writes, one module per capability. Other apps and the doors import from here:

from orders.services import place_order, fulfil, cancel_order, create_return
"""

from orders.services.carts import (
    add_to_cart,
    cart_for,
    convert_carts,
    detect_abandoned_carts,
    set_cart_line,
)
from orders.services.editing import add_line, change_variant, remove_line
from orders.services.lifecycle import (
    cancel_order,
    complete_order,
    confirm_order,
    fulfil,
    record_payment,
    set_status,
    transition,
)
from orders.services.placing import LineInput, PlacedOrder, ShippingInput, place_order
from orders.services.returns import (
    ReturnLineInput,
    collect_pickup,
    create_replacement,
    create_return,
    exchange,
    line_of,
    receive_return,
)

__all__ = [
    "LineInput",
    "PlacedOrder",
    "ReturnLineInput",
    "ShippingInput",
    "add_line",
    "add_to_cart",
    "cancel_order",
    "cart_for",
    "change_variant",
    "collect_pickup",
    "complete_order",
    "confirm_order",
    "convert_carts",
    "create_replacement",
    "create_return",
    "detect_abandoned_carts",
    "exchange",
    "fulfil",
    "line_of",
    "place_order",
    "receive_return",
    "record_payment",
    "remove_line",
    "set_cart_line",
    "set_status",
    "transition",
]
