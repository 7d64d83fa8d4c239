"""Orders plug into the customer record: a merge re-points orders, carts and returns; an
erasure blanks names and addresses but keeps numbers and totals; the outbox carries the
webhook-ready events."""

from core.models import OutboxEvent
from customers.factories import CustomerFactory
from customers.services import erase_customer, export_customer, merge_customers
from orders.factories import placed_order
from orders.models import Cart, Order, Return
from orders.services import cart_for, create_return, fulfil


def test_merge_repoints_orders_carts_and_returns(shop):
    survivor, loser = CustomerFactory(), CustomerFactory()
    order = placed_order(loser, shop.channels["web"], [(shop.sku("black"), 1)])
    fulfil(order)
    create_return(order, lines=[{"line_id": order.lines.get().pk, "reason": "size"}], channel="web")
    cart_for(loser, "app")
    merge_customers(survivor, loser, reason="same person", force=True)
    assert set(Order.objects.values_list("customer", flat=True)) == {survivor.pk}
    assert set(Return.objects.values_list("customer", flat=True)) == {survivor.pk}
    assert set(Cart.objects.values_list("customer", flat=True)) == {survivor.pk}


def test_erasure_anonymises_addresses_and_keeps_totals(shop, customer):
    order = placed_order(
        customer, shop.channels["web"], [(shop.sku("black"), 1)], notes="Ring twice, ask for Sara"
    )
    exported = export_customer(customer)
    assert exported["apps"]["orders"]["orders"][0]["shipping"]["name"] == "Sara Rahimi"
    erase_customer(customer)
    order.refresh_from_db()
    assert order.shipping_name == "" and order.shipping_address == "" and order.notes == ""
    assert order.shipping_phone == ""
    assert order.total.amount == 120 and order.number.startswith("W-")
    assert order.lines.get().sku == shop.sku("black")


def test_outbox_carries_order_events(shop, customer):
    order = placed_order(customer, shop.channels["web"], [(shop.sku("black"), 1)])
    fulfil(order)
    topics = list(OutboxEvent.objects.order_by("id").values_list("topic", flat=True))
    assert topics == [
        "order_placed",
        "order_status_changed",
        "order_status_changed",
        "fulfilment_created",
    ]
    placed = OutboxEvent.objects.get(topic="order_placed").payload
    assert placed["number"] == order.number and placed["channel"] == "web"
    assert placed["total"] == "120.00" and placed["lines"][0]["sku"] == shop.sku("black")
