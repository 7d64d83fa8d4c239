"""Story 5: which products come back most, per colour and size, across every channel, so
the buyer orders fewer of them."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from orders.factories import placed_order
from orders.models import Order
from orders.services import create_return, fulfil
from tests.query_counts import assert_queries_do_not_grow


def _sold_and_returned(shop, customer, channel, colour, quantity, *, returns=(), days_ago=0):
    order = placed_order(customer, shop.channels[channel], [(shop.sku(colour), quantity)])
    if days_ago:
        Order.objects.filter(pk=order.pk).update(
            placed_at=timezone.now() - timedelta(days=days_ago)
        )
    fulfil(order)
    line = order.lines.get()
    for reason, units in returns:
        create_return(
            order,
            lines=[{"line_id": line.pk, "reason": reason, "quantity": units}],
            channel="store",
        )
    return order


def test_the_page_ranks_variants_by_units_returned_with_rate_and_reasons(
    client, shop, customer, staff_in_role
):
    _sold_and_returned(shop, customer, "web", "black", 4, returns=[("defect", 2), ("size", 1)])
    _sold_and_returned(shop, customer, "app", "black", 2)
    _sold_and_returned(shop, customer, "web", "red", 2, returns=[("colour", 1)])
    _sold_and_returned(shop, customer, "web", "white", 1)  # never came back: not listed
    _sold_and_returned(shop, customer, "web", "red", 3, returns=[("size", 3)], days_ago=200)
    client.force_login(staff_in_role("Inventory manager"))

    page = client.get(reverse("orders:returned-products"))
    rows = page.context["rows"]

    assert [(r["sku"], r["sold"], r["returned"]) for r in rows] == [
        (shop.sku("black"), 6, 3),
        (shop.sku("red"), 2, 1),
    ]
    assert rows[0]["reasons"] == [("Defect", 2), ("Wrong size", 1)]
    body = page.content.decode()
    assert "50%" in body  # 3 of 6 black pairs came back

    # Over a year the old red order and its three returns count too.
    year = client.get(reverse("orders:returned-products"), {"days": 365}).context["rows"]
    assert [(r["sku"], r["returned"]) for r in year] == [
        (shop.sku("red"), 4),
        (shop.sku("black"), 3),
    ]

    # The shop has six variants, two listed so far: rows 3 and 6 must cost the same queries.
    unlisted = iter([("white", "38"), ("black", "39"), ("white", "39"), ("red", "39")])

    def add_returned(n):
        for _ in range(n):
            colour, size = next(unlisted)
            order = placed_order(customer, shop.channels["web"], [(shop.sku(colour, size), 1)])
            fulfil(order)
            line = order.lines.get()
            create_return(
                order, lines=[{"line_id": line.pk, "reason": "size", "quantity": 1}], channel="web"
            )

    def returned_page():
        assert client.get(reverse("orders:returned-products")).status_code == 200

    assert_queries_do_not_grow(add_returned, returned_page, few=1, many=4, at_most=10)
    assert len(client.get(reverse("orders:returned-products")).context["rows"]) == 6


def test_the_page_needs_the_orders_view_permission(client, staff_in_role):
    client.force_login(staff_in_role("Marketer", username="no-orders-here"))
    url = reverse("orders:returned-products")
    assert client.get(url).status_code == 200  # marketers read orders
    client.force_login(staff_in_role(username="nobody"))
    assert client.get(url).status_code == 403


def test_partners_read_the_same_ranking_from_the_api(api_client_for, shop, customer):
    _sold_and_returned(shop, customer, "web", "black", 4, returns=[("defect", 2), ("size", 1)])
    reader = api_client_for("orders:read")

    answer = reader.get("/api/v1/returns/products", {"days": 30})

    assert answer.status_code == 200
    body = answer.json()
    assert body["days"] == 30
    assert body["results"] == [
        {
            "sku": shop.sku("black"),
            "name": body["results"][0]["name"],
            "sold": 4,
            "returned": 3,
            "rate": 0.75,
            "reasons": [{"reason": "defect", "units": 2}, {"reason": "size", "units": 1}],
        }
    ]
    refused = reader.get("/api/v1/returns/products", {"days": 7})
    assert refused.status_code == 400 and "days" in refused.json()["error"]["fields"]
    assert api_client_for("customers:read").get("/api/v1/returns/products").status_code == 403
