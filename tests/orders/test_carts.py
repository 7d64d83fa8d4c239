"""Carts follow the customer across channels; quiet carts become abandoned (cart_abandoned on
the timeline) by the beat task, unless the customer bought in any channel meanwhile."""

import datetime as dt

from django.utils import timezone

from catalog.models import VariantListing
from customers.models import Event
from customers.services import resolve_customer
from orders.factories import placed_order
from orders.models import Cart, CartStatus
from orders.services import add_to_cart, cart_for, set_cart_line
from orders.tasks import detect_abandoned_carts


def _age(cart, minutes):
    Cart.objects.filter(pk=cart.pk).update(
        last_activity_at=timezone.now() - dt.timedelta(minutes=minutes),
        created_at=timezone.now() - dt.timedelta(minutes=minutes + 5),
    )


def test_cart_lines_take_the_channel_price_at_the_time(shop, customer):
    cart = cart_for(customer, "web")
    add_to_cart(cart, sku=shop.sku("black"), quantity=1, channel="web")
    VariantListing.objects.filter(
        variant=shop.variant("black"), listing__channel__code="app"
    ).update(price=99)
    line = add_to_cart(cart, sku=shop.sku("black"), quantity=1, channel="app")
    assert line.quantity == 2 and line.unit_price.amount == 99
    assert set_cart_line(cart, sku=shop.sku("black"), quantity=0, channel="app") is None
    assert cart.lines.count() == 0


def test_cart_follows_the_customer_after_identity_resolution(shop):
    anonymous = resolve_customer([{"kind": "device", "value": "dev-1"}])
    cart = cart_for(anonymous, "app")
    add_to_cart(cart, sku=shop.sku("red"), channel="app")
    # On the web she signs in: the device and the email are one person now.
    known = resolve_customer(
        [{"kind": "email", "value": "x@example.com"}, {"kind": "device", "value": "dev-1"}]
    )
    assert cart_for(known, "web").pk == cart.pk


def test_merged_profiles_carts_fold_into_one(shop):
    first = resolve_customer([{"kind": "cookie", "value": "ck-1"}])
    second = resolve_customer([{"kind": "email", "value": "y@example.com"}])
    a = cart_for(first, "app")
    add_to_cart(a, sku=shop.sku("red"), channel="app")
    b = cart_for(second, "web")
    add_to_cart(b, sku=shop.sku("white"), channel="web")
    survivor = resolve_customer(
        [{"kind": "cookie", "value": "ck-1"}, {"kind": "email", "value": "y@example.com"}]
    )
    assert Cart.objects.filter(customer=survivor).count() == 2  # the merge re-pointed both
    cart = cart_for(survivor, "web")
    assert sorted(cart.lines.values_list("variant__sku", flat=True)) == sorted(
        [shop.sku("red"), shop.sku("white")]
    )
    assert Cart.objects.filter(customer=survivor, status=CartStatus.ACTIVE).count() == 1


def test_quiet_cart_is_abandoned_once_with_its_event(shop, customer, settings):
    settings.CART_ABANDON_AFTER_MINUTES = 30
    cart = cart_for(customer, "app")
    add_to_cart(cart, sku=shop.sku("black"), quantity=2, channel="app")
    fresh = cart_for(resolve_customer([{"kind": "email", "value": "z@example.com"}]), "web")
    add_to_cart(fresh, sku=shop.sku("black"), channel="web")
    _age(cart, 31)
    assert detect_abandoned_carts.delay().get() == {"abandoned": 1, "converted": 0}
    assert detect_abandoned_carts() == {"abandoned": 0, "converted": 0}
    cart.refresh_from_db()
    assert cart.status == CartStatus.ABANDONED
    event = Event.objects.get(customer=customer, name="cart_abandoned")
    assert event.channel.code == "app"
    assert event.properties == {
        "cart_id": cart.pk,
        "total": "240.00",
        "currency": "USD",
        "products": [{"sku": shop.sku("black"), "quantity": 2, "price": "120.00"}],
    }
    fresh.refresh_from_db()
    assert fresh.status == CartStatus.ACTIVE


def test_empty_cart_is_never_abandoned(shop, customer):
    cart = cart_for(customer, "web")
    _age(cart, 600)
    assert detect_abandoned_carts() == {"abandoned": 0, "converted": 0}


def test_a_store_purchase_suppresses_the_abandonment(shop, customer, settings):
    settings.CART_ABANDON_AFTER_MINUTES = 30
    cart = cart_for(customer, "web")
    add_to_cart(cart, sku=shop.sku("black"), channel="web")
    _age(cart, 31)
    # Meanwhile she bought at the store counter: a different channel, a different product.
    order = placed_order(
        customer,
        shop.channels["store"],
        [{"sku": shop.sku("red"), "quantity": 1, "fulfilment_method": "in_store"}],
        store=shop.store,
        payment_status="paid",
    )
    cart.refresh_from_db()
    assert cart.status == CartStatus.CONVERTED and cart.converted_order == order
    assert detect_abandoned_carts() == {"abandoned": 0, "converted": 0}
    assert not Event.objects.filter(customer=customer, name="cart_abandoned").exists()
    converted = Event.objects.get(customer=customer, name="cart_converted")
    assert converted.channel.code == "store" and converted.properties["order_id"] == order.number


def test_order_created_after_activity_is_found_by_the_detector(shop, customer, settings):
    """An order that did not go through place_order's cart conversion (e.g. placed while the
    cart was being folded) still suppresses the abandonment at detection time."""
    settings.CART_ABANDON_AFTER_MINUTES = 30
    cart = cart_for(customer, "web")
    add_to_cart(cart, sku=shop.sku("black"), channel="web")
    placed_order(
        customer,
        shop.channels["store"],
        [{"sku": shop.sku("red"), "quantity": 1}],
        fulfilment_method="in_store",
        store=shop.store,
    )
    Cart.objects.filter(pk=cart.pk).update(status=CartStatus.ACTIVE, converted_order=None)
    Cart.objects.filter(pk=cart.pk).update(
        last_activity_at=timezone.now() - dt.timedelta(minutes=40)
    )
    assert detect_abandoned_carts() == {"abandoned": 0, "converted": 1}


def test_abandoned_cart_then_order_is_converted(shop, customer, settings):
    settings.CART_ABANDON_AFTER_MINUTES = 30
    cart = cart_for(customer, "web")
    add_to_cart(cart, sku=shop.sku("black"), channel="web")
    _age(cart, 31)
    detect_abandoned_carts()
    placed_order(customer, shop.channels["phone"], [(shop.sku("black"), 1)])
    cart.refresh_from_db()
    assert cart.status == CartStatus.CONVERTED
    names = list(
        Event.objects.filter(customer=customer)
        .order_by("occurred_at", "id")
        .values_list("name", flat=True)
    )
    assert names.index("cart_abandoned") < names.index("cart_converted")
