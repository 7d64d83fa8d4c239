"""The coupon contract with campaigns: a registered handler quotes, redeems inside the order's
transaction and releases on cancellation; with no handler every code is refused clearly."""

import pytest
from moneyed import Money

from customers.models import Event
from orders.coupons import CouponQuote
from orders.errors import CouponRefused
from orders.factories import placed_order
from orders.models import Order
from orders.services import cancel_order
from tests.orders.conftest import level


def test_no_handler_refuses_every_code(shop, customer, no_coupon_handler):
    with pytest.raises(CouponRefused, match="no coupons are set up") as refused:
        placed_order(
            customer, shop.channels["web"], [(shop.sku("black"), 1)], coupon_code="WELCOME"
        )
    assert refused.value.fields == {"coupon_code": [refused.value.message]}
    assert not Order.objects.exists()


def test_handler_discount_redeem_and_release(shop, customer, fake_coupons):
    order = placed_order(
        customer, shop.channels["web"], [(shop.sku("black"), 1)], coupon_code=" save10 "
    )
    assert order.coupon_code == "SAVE10"
    assert order.discount.amount == 10 and order.total.amount == 110
    assert fake_coupons.redeemed == [("SAVE10", order.number, order.discount)]
    completed = Event.objects.get(name="order_completed")
    assert completed.properties["coupon"] == "SAVE10"
    assert completed.properties["discount"] == "10.00" and completed.properties["total"] == "110.00"
    cancel_order(order)
    assert fake_coupons.released == [("SAVE10", order.number)]


def test_refused_code_names_the_field_through_the_api(shop, api_client_for, fake_coupons):
    client = api_client_for("orders:write")
    answer = client.post(
        "/api/v1/orders/",
        {
            "channel": "web",
            "customer": {"identities": [{"kind": "email", "value": "c@example.com"}]},
            "lines": [{"sku": shop.sku("black"), "quantity": 1}],
            "shipping": {"address": "1 Street"},
            "coupon_code": "BOGUS",
        },
        format="json",
    )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "coupon_refused" and "BOGUS does not exist" in error["message"]
    assert "coupon_code" in error["fields"]


def test_a_failing_redeem_rolls_the_order_back(shop, customer, fake_coupons):
    def redeem(code, **kwargs):
        raise CouponRefused("The last use of SAVE10 was just taken.")

    fake_coupons.redeem = redeem
    with pytest.raises(CouponRefused):
        placed_order(customer, shop.channels["web"], [(shop.sku("black"), 1)], coupon_code="SAVE10")
    assert not Order.objects.exists()
    assert level(shop.variant("black"), shop.warehouse) == (10, 0)


def test_discount_never_exceeds_the_subtotal(shop, customer, fake_coupons):
    fake_coupons.quote = lambda code, **kw: CouponQuote(code, Money(500, "USD"), "too much")
    order = placed_order(
        customer, shop.channels["web"], [(shop.sku("black"), 1)], coupon_code="SAVE10"
    )
    assert order.total.amount == 0 and order.discount.amount == 120
