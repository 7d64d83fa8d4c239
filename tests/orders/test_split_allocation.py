"""A line no single location can fill, split across locations when the channel's stock rule
allows it: fewest shipments, then the rule's order; each part with its location in the API
and on the order page, fulfilled on its own, released exactly on cancel or removal; never
oversold by many clients at once (PostgreSQL)."""

import threading

import pytest
from django.db import connection

from catalog.factories import ProductVariantFactory, VariantListingFactory
from inventory.errors import InsufficientStock
from inventory.factories import ChannelStockRuleFactory, WarehouseFactory, receive_stock
from inventory.models import StockLevel, StockMovement
from orders.models import OrderLinePart
from orders.services import place_order
from tests.orders.conftest import level

ADDRESS = {"name": "Ali", "address": "1 Street", "city": "Tehran", "country": "IR"}


@pytest.fixture
def split(shop):
    """A shoe with 2 units at the main warehouse (priority 100) and 1 at a second one
    (priority 200), both serving the web shop, whose rule may split lines."""
    web = shop.channels["web"]
    ChannelStockRuleFactory(channel=web, may_split_lines=True)
    second = WarehouseFactory(code="wh-north", name="North warehouse", priority=200, channels=[web])
    variant = ProductVariantFactory(product=shop.variant("black").product, sku="ARIA-GRN-40")
    VariantListingFactory(variant=variant, channel=web, amount=120)
    receive_stock(variant, shop.warehouse, 2)
    receive_stock(variant, second, 1)
    return variant, second


@pytest.fixture
def partner(api_client_for):
    return api_client_for("orders:write", "customers:write")


def order_body(sku, quantity=3):
    return {
        "channel": "web",
        "customer": {"identities": [{"kind": "email", "value": "ali@example.com"}]},
        "lines": [{"sku": sku, "quantity": quantity}],
        "shipping": ADDRESS,
    }


@pytest.mark.django_db
def test_a_three_unit_line_is_filled_two_and_one_and_each_part_fulfilled(
    shop, split, partner, staff_in_role, client
):
    variant, second = split
    created = partner.post("/api/v1/orders/", order_body(variant.sku), format="json")
    assert created.status_code == 201, created.content
    order = created.json()
    (line,) = order["lines"]
    assert [(p["location"], p["quantity"], p["status"]) for p in line["parts"]] == [
        (shop.warehouse.code, 2, "open"),
        (second.code, 1, "open"),
    ]
    assert line["location"] is None
    assert level(variant, shop.warehouse) == (2, 2) and level(variant, second) == (1, 1)

    manager = staff_in_role("Support lead")
    client.force_login(manager)
    page = client.get(f"/orders/{order['number']}/").content.decode()
    assert "2 from Main warehouse" in page and "1 from North warehouse" in page

    first, rest = line["parts"]
    shipped = partner.post(
        f"/api/v1/orders/{order['number']}/fulfilments", {"parts": [rest["id"]]}, format="json"
    )
    assert shipped.status_code == 201, shipped.content
    assert [(f["location"]) for f in shipped.json()] == [second.code]
    after = partner.get(f"/api/v1/orders/{order['number']}").json()
    assert after["status"] == "partially_fulfilled"
    assert [p["status"] for p in after["lines"][0]["parts"]] == ["open", "fulfilled"]
    again = partner.post(
        f"/api/v1/orders/{order['number']}/fulfilments", {"parts": [rest["id"]]}, format="json"
    )
    assert again.status_code in (400, 409)
    unknown = partner.post(
        f"/api/v1/orders/{order['number']}/fulfilments", {"parts": [999999]}, format="json"
    )
    assert unknown.status_code == 409 and "parts" in unknown.json()["error"]["fields"]
    partner.post(f"/api/v1/orders/{order['number']}/fulfilments", {}, format="json")
    done = partner.get(f"/api/v1/orders/{order['number']}").json()
    assert done["status"] == "fulfilled" and done["lines"][0]["status"] == "fulfilled"
    assert level(variant, shop.warehouse) == (0, 0) and level(variant, second) == (0, 0)
    assert sorted(
        StockMovement.objects.filter(variant=variant, reason="sale").values_list(
            "location__code", "quantity"
        )
    ) == sorted([(shop.warehouse.code, -2), (second.code, -1)])


@pytest.mark.django_db
def test_cancelling_or_removing_releases_exactly_the_parts_of_that_line(shop, split, partner):
    variant, second = split
    receive_stock(variant, shop.warehouse, 1)  # 3 at main, 1 at north
    kept = partner.post("/api/v1/orders/", order_body(variant.sku, 1), format="json").json()
    assert level(variant, shop.warehouse) == (3, 1)
    order = partner.post("/api/v1/orders/", order_body(variant.sku, 3), format="json").json()
    assert [(p["location"], p["quantity"]) for p in order["lines"][0]["parts"]] == [
        (shop.warehouse.code, 2),
        (second.code, 1),
    ]
    cancelled = partner.post(
        f"/api/v1/orders/{order['number']}/status", {"status": "cancelled"}, format="json"
    )
    assert cancelled.status_code == 200, cancelled.content
    # The other order's unit is still held; only this line's parts went back.
    assert level(variant, shop.warehouse) == (3, 1) and level(variant, second) == (1, 0)
    assert set(OrderLinePart.objects.values_list("status", flat=True)) == {"released"}
    assert partner.get(f"/api/v1/orders/{kept['number']}").json()["lines"][0][
        "reservation_status"
    ] == ("active")

    # Removing a split line (a phone edit) gives back its parts too, and only them.
    body = order_body(variant.sku, 3)
    body["lines"].append({"sku": shop.sku("white"), "quantity": 1})
    edited = partner.post("/api/v1/orders/", body, format="json").json()
    (split_line,) = [line for line in edited["lines"] if line["sku"] == variant.sku]
    line_id = split_line["id"]
    assert len(split_line["parts"]) == 2
    removed = partner.delete(f"/api/v1/orders/{edited['number']}/lines/{line_id}?channel=phone")
    assert removed.status_code == 200, removed.content
    assert level(variant, shop.warehouse) == (3, 1) and level(variant, second) == (1, 0)


@pytest.mark.django_db
def test_fewest_shipments_first_and_no_split_without_the_rule(shop, split, partner):
    variant, second = split
    third = WarehouseFactory(
        code="wh-south", name="South warehouse", priority=300, channels=[shop.channels["web"]]
    )
    receive_stock(variant, third, 3)
    # One location holds all 3: one shipment, though it comes last by priority.
    single = partner.post("/api/v1/orders/", order_body(variant.sku, 3), format="json").json()
    assert single["lines"][0]["parts"] == []
    assert single["lines"][0]["location"] == third.code
    receive_stock(variant, third, 2)  # south 2, main 2, north 1
    four = partner.post("/api/v1/orders/", order_body(variant.sku, 4), format="json").json()
    assert [(p["location"], p["quantity"]) for p in four["lines"][0]["parts"]] == [
        (shop.warehouse.code, 2),
        (third.code, 2),
    ]
    rule = shop.channels["web"].stock_rule
    rule.may_split_lines = False
    rule.save()
    refused = partner.post("/api/v1/orders/", order_body(variant.sku, 2), format="json")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "insufficient_stock"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_split_allocations_from_many_clients_never_oversell(shop, customer):
    web = shop.channels["web"]
    ChannelStockRuleFactory(channel=web, may_split_lines=True)
    variant = ProductVariantFactory(product=shop.variant("black").product, sku="ARIA-GRN-41")
    VariantListingFactory(variant=variant, channel=web, amount=120)
    locations = [shop.warehouse]
    for index, units in enumerate((3, 2, 2)):
        place = WarehouseFactory(code=f"wh-{index}", priority=200 + index, channels=[web])
        receive_stock(variant, place, units)
        locations.append(place)
    receive_stock(variant, shop.warehouse, 2)  # 9 units in all, over four locations
    count = 8
    barrier = threading.Barrier(count)
    results = []

    def run(index):
        try:
            barrier.wait()
            place_order(
                customer=customer,
                channel="web",
                lines=[{"sku": variant.sku, "quantity": 3}],
                shipping=ADDRESS,
            )
            results.append("ok")
        except InsufficientStock:
            results.append("refused")
        except Exception as error:  # noqa: BLE001 (shown when the assertion fails)
            results.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(results) <= {"ok", "refused"}, results
    sold = results.count("ok")
    assert sold == 3, results  # 9 units, 3 a client
    levels = StockLevel.objects.filter(variant=variant)
    assert all(lv.reserved <= lv.on_hand for lv in levels)
    assert sum(lv.reserved for lv in levels) == 3 * sold
    assert sum(OrderLinePart.objects.values_list("quantity", flat=True)) <= 3 * sold
