"""DESIGN story 1, the shoe buyer, end to end through the partner API and the staff services:
a cart started anonymously in the app, an order on the web, a second colour added by phone,
an exchange at a store counter, a defect reported on Instagram, a replacement asked for from
the printed catalogue, shipped, and the defective pair collected by a courier."""

import pytest

from customers.models import Customer, Identity
from customers.selectors import timeline_for
from customers.services import track_event
from inventory.models import StockMovement
from orders.models import CourierPickup, Order, OrderKind, Return
from orders.services import add_line, exchange
from tests.orders.conftest import level

COOKIE = {"kind": "cookie", "value": "c-7f3a-phone"}
EMAIL = {"kind": "email", "value": "Sara@Example.com"}
ADDRESS = {
    "name": "Sara Rahimi",
    "phone": "+989121234567",
    "address": "12 Vali-Asr Ave",
    "city": "Tehran",
    "country": "IR",
}


def ledger(variant, location):
    return sorted(
        (m.reason, m.quantity)
        for m in StockMovement.objects.filter(variant=variant, location=location)
    )


@pytest.mark.django_db(transaction=False)
def test_the_shoe_buyer(shop, api_client_for, staff_in_role):
    web = api_client_for("orders:write", "customers:write")
    black, red, white = shop.variant("black"), shop.variant("red"), shop.variant("white")

    # 1. On her phone, anonymous (a cookie), she puts the black pair in a cart in the app.
    answer = web.post("/api/v1/carts/", {"identities": [COOKIE], "channel": "app"}, format="json")
    assert answer.status_code == 200, answer.json()
    cart_id = answer.json()["id"]
    answer = web.post(
        f"/api/v1/carts/{cart_id}/lines",
        {"sku": black.sku, "quantity": 1, "channel": "app"},
        format="json",
    )
    assert answer.json()["total"] == "120.00"

    # 2. At home, on the laptop, the web shop knows her cookie and her email: the same cart.
    answer = web.post(
        "/api/v1/carts/", {"identities": [COOKIE, EMAIL], "channel": "web"}, format="json"
    )
    assert answer.json()["id"] == cart_id
    assert answer.json()["channel"] == "app" and answer.json()["last_channel"] == "web"

    # She orders it on the web.
    answer = web.post(
        "/api/v1/orders/",
        {
            "external_id": "shop-5001",
            "channel": "web",
            "customer": {
                "identities": [EMAIL, COOKIE],
                "traits": {"first_name": "Sara", "last_name": "Rahimi"},
            },
            "lines": [{"sku": black.sku, "quantity": 1}],
            "shipping": ADDRESS,
            "payment_status": "paid",
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    number = answer.json()["number"]
    assert number.startswith("W-")
    assert answer.json()["lines"][0]["location"] == "wh-main"
    assert answer.json()["lines"][0]["reservation_status"] == "active"
    customer = Customer.objects.get(identities__kind="email", identities__value="sara@example.com")
    assert web.get(f"/api/v1/carts/{cart_id}").json()["status"] == "converted"

    # 3. She phones: "add the red pair too". The call-centre agent edits the open order.
    agent = staff_in_role("Support lead")
    order = Order.objects.get(number=number)
    add_line(order, sku=red.sku, quantity=1, channel="phone", by=agent)
    assert level(red, shop.warehouse) == (10, 1)

    # The warehouse ships both pairs.
    answer = web.post(
        f"/api/v1/orders/{number}/fulfilments",
        {"carrier": "Post", "tracking_number": "IR123"},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    assert web.get(f"/api/v1/orders/{number}").json()["status"] == "fulfilled"

    # 4. At the Tajrish store she exchanges the red pair for a white one, at the counter.
    red_line = order.lines.get(sku=red.sku)
    swap = exchange(
        order,
        return_lines=[{"line_id": red_line.pk, "quantity": 1, "reason": "colour"}],
        new_lines=[{"sku": white.sku, "quantity": 1}],
        channel="store",
        location="store-tajrish",
        by=agent,
    )
    assert swap.return_request.location == shop.store
    assert swap.new_order.kind == OrderKind.EXCHANGE and swap.new_order.status == "fulfilled"
    assert swap.new_order.total.amount == 0 and swap.price_difference.amount == 0

    # 5. The black pair has a defect; she says so on Instagram (tracked with her handle)...
    track_event(
        [EMAIL, {"kind": "instagram", "value": "sara.rahimi"}],
        "defect_reported",
        channel="instagram",
        properties={"order_id": number, "sku": black.sku},
    )
    # ... and asks for a replacement from the printed catalogue's order line.
    answer = web.post(
        "/api/v1/returns/replacements",
        {"order": number, "channel": "catalogue", "lines": [{"sku": black.sku, "quantity": 1}]},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    replacement = answer.json()
    assert replacement["kind"] == "replacement" and replacement["status"] == "requested"
    assert replacement["pickup"]["status"] == "scheduled"
    assert replacement["pickup"]["deliver_to"] == "wh-main"
    new_number = replacement["replacement_order"]
    answer = web.get(f"/api/v1/orders/{new_number}").json()
    assert answer["kind"] == "replacement" and answer["total"] == "0.00"
    assert answer["channel"] == "catalogue" and answer["original_order"] == number
    assert answer["shipping_to"]["address"] == ADDRESS["address"]

    # 6. The courier brings the new pair and takes the defective one back to the warehouse.
    answer = web.post(
        f"/api/v1/orders/{new_number}/fulfilments", {"carrier": "Courier"}, format="json"
    )
    assert answer.status_code == 201
    pickup = CourierPickup.objects.get(pk=replacement["pickup"]["id"])
    answer = web.post(f"/api/v1/returns/pickups/{pickup.pk}/collect", {}, format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["status"] == "received"
    assert answer.json()["lines"][0]["restock"] is False

    # --- One customer: the cookie, the email and the Instagram handle are one person.
    assert (
        Identity.objects.filter(value__in=["c-7f3a-phone", "sara@example.com", "sara.rahimi"])
        .values("customer")
        .distinct()
        .count()
        == 1
    )
    customer.refresh_from_db()
    assert set(Order.objects.values_list("customer", flat=True)) == {customer.pk}
    assert set(Return.objects.values_list("customer", flat=True)) == {customer.pk}

    # --- Every step on her timeline, with its channel.
    steps = [(e.name, e.channel.code) for e in reversed(timeline_for(customer))]
    assert steps == [
        ("order_completed", "web"),
        ("cart_converted", "web"),
        ("order_edited", "phone"),
        ("order_fulfilled", "web"),
        ("order_fulfilled", "store"),  # the white pair taken at the counter
        ("return_received", "store"),
        ("order_exchanged", "store"),
        ("defect_reported", "instagram"),
        ("replacement_created", "catalogue"),
        ("order_fulfilled", "catalogue"),
        ("return_received", "catalogue"),
    ]
    assert customer.orders_count == 1

    # --- The stock ledger at each location, exactly.
    assert ledger(black, shop.warehouse) == sorted(
        [("receipt", 10), ("sale", -1), ("sale", -1), ("return", 1), ("damage", -1)]
    )
    assert level(black, shop.warehouse) == (8, 0)
    assert ledger(red, shop.warehouse) == sorted([("receipt", 10), ("sale", -1)])
    assert ledger(red, shop.store) == sorted(
        [("receipt", 3), ("return", 1)]
    )  # web order, store return
    assert level(red, shop.store) == (4, 0)
    assert ledger(white, shop.store) == sorted([("receipt", 3), ("sale", -1)])
    assert ledger(white, shop.warehouse) == [("receipt", 10)]
    assert ledger(black, shop.store) == [("receipt", 3)]
    assert level(black, shop.store2) == (2, 0)

    # --- The return received in a store for a web order.
    store_return = Return.objects.get(kind="exchange")
    assert store_return.order.channel.code == "web"
    assert store_return.location == shop.store and store_return.channel.code == "store"

    # --- The replacement order and the pickup task.
    replacement_order = Order.objects.get(number=new_number)
    assert replacement_order.kind == OrderKind.REPLACEMENT
    assert replacement_order.status == "fulfilled"
    assert replacement_order.payment_status == "not_required"
    pickup.refresh_from_db()
    assert pickup.status == "collected" and pickup.address == ADDRESS["address"]
