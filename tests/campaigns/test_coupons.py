"""Coupons: quote, redeem and release; limits per code and per customer hold across
channels and under concurrency; an order placed with a coupon redeems it."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from campaigns.apps import register_coupon_handler
from campaigns.factories import CouponPoolFactory
from campaigns.models import CodeKind, CouponCode, Redemption
from campaigns.services import coupons
from catalog.factories import ProductVariantFactory, VariantListingFactory
from core.api.errors import DomainError
from customers.factories import CustomerFactory, EventFactory
from inventory.factories import LocationFactory, receive_stock
from orders.factories import placed_order

pytestmark = pytest.mark.django_db


def refused(reason):
    """Orders' CouponRefused (when orders is installed) or ours, matching the reason."""
    return pytest.raises(Exception, match=reason)


def test_percentage_and_amount_discounts_and_minimum_spend(channels):
    CouponPoolFactory(prefix="TEN", discount_value=Decimal("10"))
    CouponPoolFactory(
        prefix="FIVER",
        discount_kind="amount",
        discount_value=Decimal("5"),
        minimum_spend=Decimal("20"),
        currency="USD",
    )
    assert coupons.quote(" ten ", subtotal=Decimal("123.45")).discount == Decimal("12.35")
    assert coupons.quote("FIVER", subtotal=Decimal("20")).discount == Decimal("5.00")
    with refused("minimum spend of 20"):
        coupons.quote("FIVER", subtotal=Decimal("19.99"))
    with refused("Unknown coupon code"):
        coupons.quote("NOPE", subtotal=Decimal("50"))


def test_validity_window_and_owner(channels):
    pool = CouponPoolFactory(prefix="OLD", valid_until=timezone.now() - timedelta(days=1))
    with refused("expired"):
        coupons.quote(pool.prefix, subtotal=Decimal("50"))
    unique = CouponPoolFactory(prefix="MINE", code_kind=CodeKind.UNIQUE)
    owner, other = CustomerFactory(), CustomerFactory()
    code = coupons.issue_code(unique, owner)
    assert coupons.issue_code(unique, owner) == code  # asking again issues nothing new
    with refused("belongs to another customer"):
        coupons.quote(code.code, customer=other, subtotal=Decimal("50"))
    assert coupons.quote(code.code, customer=owner, subtotal=Decimal("50")).discount == 5


def test_per_customer_limit_holds_across_channels(channels):
    CouponPoolFactory(prefix="ONCE", max_uses_per_customer=1)
    sara = CustomerFactory()
    first = coupons.redeem(
        "ONCE", customer=sara, channel=channels["web"], order_number="W-1", discount=Decimal("5")
    )
    assert first.channel == channels["web"]
    # the same order retried is the same redemption
    assert (
        coupons.redeem(
            "ONCE",
            customer=sara,
            channel=channels["web"],
            order_number="W-1",
            discount=Decimal("5"),
        )
        == first
    )
    with refused("already used this coupon"):
        coupons.redeem(
            "ONCE",
            customer=sara,
            channel=channels["store"],
            order_number="S-1",
            discount=Decimal("5"),
        )
    # a cancelled order gives the use back; then the store may take it
    assert coupons.release("ONCE", order_number="W-1") is True
    assert coupons.release("ONCE", order_number="W-1") is False
    second = coupons.redeem(
        "ONCE", customer=sara, channel=channels["store"], order_number="S-1", discount=Decimal("5")
    )
    assert second.channel == channels["store"]
    assert CouponCode.objects.get(code="ONCE").times_redeemed == 1


def test_first_purchase_only(channels):
    pool = CouponPoolFactory(prefix="FIRST", code_kind=CodeKind.UNIQUE, first_purchase_only=True)
    veteran = CustomerFactory()
    EventFactory(customer=veteran, name="order_completed", properties={"order_id": "OLD"})
    code = coupons.issue_code(pool, veteran)
    with refused("first purchase only"):
        coupons.redeem(code.code, customer=veteran, order_number="N-1", discount=1)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_last_use_of_a_code_is_taken_once_under_concurrency(channels):
    CouponPoolFactory(prefix="LAST3", max_uses_per_code=3, max_uses_per_customer=None)
    people = [CustomerFactory() for _ in range(10)]
    outcomes = []
    barrier = threading.Barrier(10)

    def buy(index):
        try:
            barrier.wait()
            channel = channels["store"] if index % 2 else channels["web"]
            coupons.redeem(
                "LAST3",
                customer=people[index],
                channel=channel,
                order_number=f"O-{index}",
                discount=Decimal("1"),
            )
            outcomes.append("ok")
        except DomainError as refusal:  # orders' CouponRefused, or ours without orders
            outcomes.append(f"{refusal.code}: {refusal.message}")
        finally:
            connection.close()

    threads = [threading.Thread(target=buy, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 3
    assert outcomes.count("coupon_refused: This coupon has been used up.") == 7, outcomes
    assert Redemption.objects.count() == 3
    assert CouponCode.objects.get(code="LAST3").times_redeemed == 3


def test_an_order_placed_with_a_coupon_redeems_it_in_its_channel(channels):
    pytest.importorskip("orders.coupons")

    assert register_coupon_handler() is True
    store = LocationFactory(
        code="store-1", name="Store 1", serves_online=False, channels=[channels["store"]]
    )
    variant = ProductVariantFactory(sku="SHOE-38")
    VariantListingFactory(variant=variant, channel=channels["store"], amount=100)
    receive_stock(variant, store, 5)
    pool = CouponPoolFactory(
        prefix="WELCOME", code_kind=CodeKind.UNIQUE, first_purchase_only=True, max_uses_per_code=1
    )
    customer = CustomerFactory()
    code = coupons.issue_code(pool, customer)
    order = placed_order(
        customer,
        channels["store"],
        [("SHOE-38", 1)],
        coupon_code=code.code.lower(),
        fulfilment_method="in_store",
        store=store,
        shipping=None,
    )
    assert order.discount.amount == Decimal("10.00")
    (redemption,) = Redemption.objects.all()
    assert redemption.channel == channels["store"] and redemption.order_number == order.number
    with refused("used up|first purchase only|already used"):
        placed_order(
            customer,
            channels["store"],
            [("SHOE-38", 1)],
            coupon_code=code.code,
            fulfilment_method="in_store",
            store=store,
            shipping=None,
        )
