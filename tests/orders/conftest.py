"""Orders fixtures: the selling channels, a warehouse serving online orders, two stores, and
the Aria Runner shoe in three colours and two sizes with stock."""

from dataclasses import dataclass

import pytest
from moneyed import Money

from catalog.factories import ProductFactory, ProductVariantFactory, VariantListingFactory
from core.factories import ChannelFactory
from customers.services import resolve_customer
from inventory.factories import LocationFactory, WarehouseFactory, receive_stock
from inventory.selectors import levels_for
from orders.coupons import (
    CouponQuote,
    coupon_handler,
    register_coupon_handler,
    unregister_coupon_handler,
)
from orders.errors import CouponRefused


@dataclass
class Shop:
    channels: dict
    warehouse: object
    store: object
    store2: object
    shoes: dict  # (colour, size) -> variant

    def sku(self, colour, size="38"):
        return self.shoes[(colour, size)].sku

    def variant(self, colour, size="38"):
        return self.shoes[(colour, size)]


CHANNELS = [
    ("web", "Web shop", "web"),
    ("app", "Mobile app", "mobile_app"),
    ("phone", "Call centre", "phone"),
    ("store", "Stores", "store"),
    ("instagram", "Instagram", "instagram"),
    ("catalogue", "Printed catalogue", "print_catalog"),
    ("email", "Email", "email"),
]


@pytest.fixture
def shop(db):
    channels = {
        code: ChannelFactory(code=code, name=name, kind=kind) for code, name, kind in CHANNELS
    }
    warehouse = WarehouseFactory(
        code="wh-main", name="Main warehouse", channels=[channels["web"], channels["app"]]
    )
    store = LocationFactory(
        code="store-tajrish",
        name="Tajrish store",
        serves_online=False,
        allows_pickup=True,
        ships_from_store=True,
        supplied_by=warehouse,
        channels=[channels["store"]],
    )
    store2 = LocationFactory(
        code="store-vanak",
        name="Vanak store",
        serves_online=False,
        allows_pickup=True,
        channels=[channels["store"]],
    )
    product = ProductFactory(name="Aria Runner")
    shoes = {}
    for colour in ("black", "white", "red"):
        for size in ("38", "39"):
            variant = ProductVariantFactory(
                product=product, colour=colour, size=size, sku=f"ARIA-{colour[:3].upper()}-{size}"
            )
            for code in ("web", "app", "store"):
                VariantListingFactory(variant=variant, channel=channels[code], amount=120)
            receive_stock(variant, warehouse, 10)
            receive_stock(variant, store, 3)
            receive_stock(variant, store2, 2)
            shoes[(colour, size)] = variant
    return Shop(channels, warehouse, store, store2, shoes)


def level(variant, location):
    """(on_hand, reserved) of a variant at a location, read from inventory."""
    found = [lv for lv in levels_for(variant, location_ids=[location.pk])]
    return (found[0].on_hand, found[0].reserved) if found else (0, 0)


@pytest.fixture
def customer(db):
    return resolve_customer(
        [{"kind": "email", "value": "sara@example.com"}],
        traits={"first_name": "Sara", "last_name": "Rahimi"},
    )


@pytest.fixture
def fake_coupons():
    """A coupon handler for tests: SAVE10 gives 10 off, anything else is refused."""

    class Handler:
        def __init__(self):
            self.redeemed = []
            self.released = []

        def quote(self, code, *, customer, channel, subtotal, lines):
            if code != "SAVE10":
                raise CouponRefused(f"Coupon {code} does not exist.")
            return CouponQuote(code, Money(10, subtotal.currency), "10 off")

        def redeem(self, code, *, customer, channel, order_number, discount):
            self.redeemed.append((code, order_number, discount))

        def release(self, code, *, order_number):
            self.released.append((code, order_number))

    previous = coupon_handler()
    handler = Handler()
    register_coupon_handler(handler)
    yield handler
    _restore(previous)


@pytest.fixture
def no_coupon_handler():
    """No coupon handler registered (campaigns registers one at start-up): restored after."""
    previous = coupon_handler()
    unregister_coupon_handler()
    yield
    _restore(previous)


def _restore(previous):
    if previous is None:
        unregister_coupon_handler()
    else:
        register_coupon_handler(previous)
