"""The order state machine, and what placing, fulfilling, editing and cancelling do to stock."""

import pytest

from orders.errors import IllegalTransition, OrderNotEditable
from orders.factories import placed_order
from orders.models import LineStatus, OrderStatus
from orders.services import (
    add_line,
    cancel_order,
    change_variant,
    complete_order,
    confirm_order,
    fulfil,
    remove_line,
    transition,
)
from tests.orders.conftest import level


def test_order_number_names_the_channel_and_placing_reserves_stock(shop, customer):
    order = placed_order(customer, shop.channels["web"], [(shop.sku("black"), 2)])
    assert order.number.startswith("W-1")
    assert order.status == OrderStatus.PLACED
    assert str(order.total) in ("$240.00", "US$240.00")
    line = order.lines.get()
    assert line.location == shop.warehouse
    assert level(shop.variant("black"), shop.warehouse) == (10, 2)


def test_illegal_transitions_are_refused_naming_from_and_to(shop, customer):
    order = placed_order(customer, shop.channels["web"], [(shop.sku("black"), 1)])
    with pytest.raises(IllegalTransition) as refused:
        transition(order, OrderStatus.COMPLETED)
    assert "from placed to completed" in refused.value.message
    assert refused.value.status_code == 409
    confirm_order(order)
    fulfil(order)
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    with pytest.raises(IllegalTransition, match="from fulfilled to cancelled"):
        cancel_order(order)
    with pytest.raises(IllegalTransition, match="from fulfilled to placed"):
        transition(order, OrderStatus.PLACED)
    complete_order(order)
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert [c.to_status for c in order.status_changes.all()] == [
        "placed",
        "confirmed",
        "fulfilled",
        "completed",
    ]


def test_partial_fulfilment_then_the_rest(shop, customer):
    order = placed_order(
        customer, shop.channels["web"], [(shop.sku("black"), 1), (shop.sku("red"), 1)]
    )
    first, second = order.lines.all()
    fulfil(order, line_ids=[first.pk])
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_FULFILLED
    assert level(shop.variant("black"), shop.warehouse) == (9, 0)
    assert level(shop.variant("red"), shop.warehouse) == (10, 1)
    fulfil(order)
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    assert level(shop.variant("red"), shop.warehouse) == (9, 0)


def test_cancel_releases_reservations(shop, customer):
    order = placed_order(customer, shop.channels["web"], [(shop.sku("white"), 3)])
    assert level(shop.variant("white"), shop.warehouse) == (10, 3)
    cancel_order(order, reason="changed mind")
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert level(shop.variant("white"), shop.warehouse) == (10, 0)
    assert order.lines.get().status == LineStatus.CANCELLED
    with pytest.raises(IllegalTransition, match="from cancelled to confirmed"):
        confirm_order(order)


def test_phone_edit_moves_stock(shop, customer):
    order = placed_order(customer, shop.channels["web"], [(shop.sku("black"), 1)])
    added = add_line(order, sku=shop.sku("red"), quantity=1, channel="phone")
    order.refresh_from_db()
    assert str(order.total.amount) == "240.00"
    assert added.channel.code == "phone"
    assert level(shop.variant("red"), shop.warehouse) == (10, 1)
    changed = change_variant(order, line_id=added.pk, sku=shop.sku("white"), channel="phone")
    assert level(shop.variant("red"), shop.warehouse) == (10, 0)
    assert level(shop.variant("white"), shop.warehouse) == (10, 1)
    assert changed.replaces_line_id == added.pk
    remove_line(order, line_id=changed.pk, channel="phone")
    assert level(shop.variant("white"), shop.warehouse) == (10, 0)
    order.refresh_from_db()
    assert str(order.total.amount) == "120.00"
    fulfil(order)
    with pytest.raises(OrderNotEditable):
        add_line(order, sku=shop.sku("red"), quantity=1, channel="phone")


def test_in_store_sale_is_handed_over_at_once(shop, customer):
    order = placed_order(
        customer,
        shop.channels["store"],
        [(shop.sku("red"), 1)],
        fulfilment_method="in_store",
        store=shop.store,
        payment_status="paid",
    )
    assert order.number.startswith("S-")
    assert order.status == OrderStatus.FULFILLED
    assert level(shop.variant("red"), shop.store) == (2, 0)


def test_pickup_in_store_holds_the_store_units(shop, customer):
    order = placed_order(
        customer,
        shop.channels["web"],
        [(shop.sku("red"), 1)],
        fulfilment_method="pickup_in_store",
        store="store-vanak",
    )
    line = order.lines.get()
    assert line.pickup_location == shop.store2 and line.location == shop.store2
    assert level(shop.variant("red"), shop.store2) == (2, 1)
    fulfil(order)
    assert level(shop.variant("red"), shop.store2) == (1, 0)
