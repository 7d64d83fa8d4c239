"""Transfers of many lines through the partner API: asked for idempotently, shipped once,
received in parts with damaged units written off, listed with filters; every step in the
ledger; units on their way counted as in transit ("why is this 0?"); the staff page and
its pick list on the same service."""

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from catalog.factories import ProductVariantFactory, VariantListingFactory
from inventory.factories import receive_stock
from inventory.models import StockLevel, StockMovement, Transfer, TransferLine
from inventory.services import notice_late_transfers
from tests.query_counts import assert_queries_do_not_grow

pytestmark = pytest.mark.django_db


@pytest.fixture
def writer(api_client_for):
    return api_client_for("inventory:write")


@pytest.fixture
def second(channels, variant):
    return VariantListingFactory(
        channel=channels["web"], variant=ProductVariantFactory(product=variant.product)
    ).variant


def on_hand(variant, location):
    level = StockLevel.objects.filter(variant=variant, location=location).first()
    return level.on_hand if level else 0


def post_transfer(client, body, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post("/api/v1/transfers", body, format="json", **headers)


def test_a_transfer_of_two_skus_is_shipped_received_in_parts_and_written_off(
    writer, variant, second, warehouse, store
):
    receive_stock(variant, warehouse, 10)
    receive_stock(second, warehouse, 5)
    body = {
        "from": warehouse.code,
        "to": store.code,
        "lines": [{"sku": variant.sku, "quantity": 4}, {"sku": second.sku, "quantity": 3}],
        "reference": "REPL-7",
    }
    created = post_transfer(writer, body, key="t-1")
    assert created.status_code == 201, created.content
    transfer = created.json()
    assert (transfer["status"], transfer["from"], transfer["to"]) == (
        "requested",
        warehouse.code,
        store.code,
    )
    assert [(line["sku"], line["quantity"]) for line in transfer["lines"]] == sorted(
        [(variant.sku, 4), (second.sku, 3)]
    )
    # The same request again with its key is the same transfer, not a second one.
    replay = post_transfer(writer, body, key="t-1")
    assert replay.json()["id"] == transfer["id"]
    assert Transfer.objects.count() == 1

    url = f"/api/v1/transfers/{transfer['id']}"
    shipped = writer.post(f"{url}/ship")
    assert shipped.status_code == 200, shipped.content
    assert shipped.json()["status"] == "in_transit"
    assert (on_hand(variant, warehouse), on_hand(second, warehouse)) == (6, 2)
    twice = writer.post(f"{url}/ship")
    assert twice.status_code == 409
    assert twice.json()["error"]["code"] == "illegal_transition"

    # First receipt: part of one line, one unit of it damaged.
    partial = writer.post(
        f"{url}/receive",
        {"lines": [{"sku": variant.sku, "received": 2, "damaged": 1}]},
        format="json",
    )
    assert partial.status_code == 200, partial.content
    assert partial.json()["status"] == "in_transit"
    line = next(ln for ln in partial.json()["lines"] if ln["sku"] == variant.sku)
    assert (line["received"], line["damaged"], line["in_transit"]) == (2, 1, 1)
    assert on_hand(variant, store) == 2
    # Then the rest.
    rest = writer.post(
        f"{url}/receive",
        {"lines": [{"sku": variant.sku, "received": 1}, {"sku": second.sku, "received": 3}]},
        format="json",
    )
    assert rest.json()["status"] == "received"
    assert (on_hand(variant, store), on_hand(second, store)) == (3, 3)

    reasons = list(
        StockMovement.objects.filter(variant=variant)
        .exclude(reason="receipt")
        .order_by("id")
        .values_list("reason", "location__code", "quantity")
    )
    assert reasons == [
        ("transfer_out", warehouse.code, -4),
        ("transfer_in", store.code, 3),
        ("damage", store.code, -1),
        ("transfer_in", store.code, 1),
    ]


def test_bad_transfers_are_refused_naming_the_field(writer, variant, warehouse, store):
    receive_stock(variant, warehouse, 3)

    def refused(body):
        response = post_transfer(writer, body)
        assert response.status_code == 400, response.content
        return response.json()["error"]["fields"]

    good = {
        "from": warehouse.code,
        "to": store.code,
        "lines": [{"sku": variant.sku, "quantity": 1}],
    }
    assert "lines.0.sku" in refused({**good, "lines": [{"sku": "NOPE", "quantity": 1}]})
    assert "lines" in str(refused({**good, "lines": [{"sku": variant.sku, "quantity": 0}]}))
    assert "lines" in str(refused({**good, "lines": [{"sku": variant.sku, "quantity": -2}]}))
    assert "lines" in str(refused({**good, "lines": [{"sku": variant.sku, "quantity": 10**12}]}))
    assert "lines" in str(refused({**good, "lines": [{"sku": variant.sku, "quantity": "x"}]}))
    assert "lines" in str(refused({**good, "lines": []}))
    assert "to" in refused({**good, "to": warehouse.code})
    assert "from" in refused({**good, "from": "atlantis"})
    duplicate = [{"sku": variant.sku, "quantity": 1}, {"sku": variant.sku, "quantity": 1}]
    assert "lines.1.sku" in refused({**good, "lines": duplicate})
    more = post_transfer(writer, {**good, "lines": [{"sku": variant.sku, "quantity": 4}]})
    assert more.status_code == 409
    assert more.json()["error"]["code"] == "insufficient_stock"

    transfer = post_transfer(writer, good).json()
    url = f"/api/v1/transfers/{transfer['id']}"
    assert writer.post(f"{url}/receive", {}, format="json").status_code == 409
    writer.post(f"{url}/ship")
    over = writer.post(
        f"{url}/receive", {"lines": [{"sku": variant.sku, "received": 2}]}, format="json"
    )
    assert over.status_code == 400
    assert "lines.0.received" in over.json()["error"]["fields"]
    stranger = writer.post(
        f"{url}/receive", {"lines": [{"sku": "OTHER", "received": 1}]}, format="json"
    )
    assert stranger.status_code == 400
    assert "lines.0.sku" in stranger.json()["error"]["fields"]
    negative = writer.post(
        f"{url}/receive", {"lines": [{"sku": variant.sku, "damaged": -1}]}, format="json"
    )
    assert negative.status_code == 400
    assert writer.post("/api/v1/transfers/999999/ship").status_code == 404
    assert writer.get("/api/v1/transfers/999999").status_code == 404


def test_transfers_are_listed_with_filters_and_need_the_inventory_scope(
    api_client_for, writer, variant, second, warehouse, store
):
    receive_stock(variant, warehouse, 10)
    receive_stock(second, warehouse, 10)
    one = post_transfer(
        writer,
        {"from": warehouse.code, "to": store.code, "lines": [{"sku": variant.sku, "quantity": 1}]},
    ).json()
    two = post_transfer(
        writer,
        {"from": warehouse.code, "to": store.code, "lines": [{"sku": second.sku, "quantity": 1}]},
    ).json()
    writer.post(f"/api/v1/transfers/{two['id']}/ship")
    reader = api_client_for("inventory:read")

    def ids(query):
        response = reader.get(f"/api/v1/transfers?{query}")
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids("") == [two["id"], one["id"]]
    assert ids("status=in_transit") == [two["id"]]
    assert ids(f"sku={variant.sku}") == [one["id"]]
    assert ids(f"from={warehouse.code}&to={store.code}") == [two["id"], one["id"]]
    assert ids(f"to={warehouse.code}") == []
    assert reader.get("/api/v1/transfers?status=lost").status_code == 400
    assert reader.get(f"/api/v1/transfers/{one['id']}").json()["lines"][0]["sku"] == variant.sku
    assert reader.post(f"/api/v1/transfers/{one['id']}/ship").status_code == 403
    assert api_client_for("orders:read").get("/api/v1/transfers").status_code == 403


def test_the_transfer_list_does_not_query_per_transfer(writer, variant, warehouse, store):
    receive_stock(variant, warehouse, 50)

    def add(count):
        for _ in range(count):
            post_transfer(
                writer,
                {
                    "from": warehouse.code,
                    "to": store.code,
                    "lines": [{"sku": variant.sku, "quantity": 1}],
                },
            )

    def fetch():
        assert writer.get("/api/v1/transfers").status_code == 200

    assert_queries_do_not_grow(add, fetch)


def test_units_on_their_way_are_in_transit_in_why_is_this_zero(
    writer, channels, variant, warehouse, store
):
    receive_stock(variant, warehouse, 2)
    transfer = post_transfer(
        writer,
        {
            "from": warehouse.code,
            "to": store.code,
            "lines": [{"sku": variant.sku, "quantity": 2}],
            "expected_at": (timezone.now() + dt.timedelta(days=2)).isoformat(),
        },
    ).json()
    writer.post(f"/api/v1/transfers/{transfer['id']}/ship")
    answer = writer.get(
        f"/api/v1/availability/explain?sku={variant.sku}&channel={channels['web'].code}"
    ).json()
    assert answer["units"] == 0
    assert answer["in_transit"][0]["location"] == store.code
    assert answer["in_transit"][0]["units"] == 2
    transit = [r for r in answer["reasons"] if r["code"] == "in_transit"]
    assert transit and f"in transit to {store.display_name}, arriving" in transit[0]["message"]


def test_a_late_transfer_is_noticed_once(writer, variant, warehouse, store):
    receive_stock(variant, warehouse, 2)
    transfer = post_transfer(
        writer,
        {"from": warehouse.code, "to": store.code, "lines": [{"sku": variant.sku, "quantity": 1}]},
    ).json()
    writer.post(f"/api/v1/transfers/{transfer['id']}/ship")
    later = timezone.now() + dt.timedelta(days=4)
    assert notice_late_transfers(at=later) == 1
    assert notice_late_transfers(at=later) == 0


def test_the_staff_page_requests_many_lines_and_prints_a_pick_list(
    client, staff_in_role, variant, second, warehouse, store
):
    receive_stock(variant, warehouse, 5)
    receive_stock(second, warehouse, 5)
    user = staff_in_role()
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="inventory",
            codename__in=["view_transfer", "add_transfer", "change_transfer"],
        )
    )
    client.force_login(user)
    response = client.post(
        "/inventory/transfers/",
        {
            "from_location": warehouse.pk,
            "to_location": store.pk,
            "lines": f"{variant.sku} 2\n{second.sku} ۳\n",
        },
    )
    assert response.status_code == 302, response.content
    transfer = Transfer.objects.get()
    assert sorted(TransferLine.objects.values_list("variant__sku", "quantity")) == sorted(
        [(variant.sku, 2), (second.sku, 3)]
    )
    pick = client.get(f"/inventory/transfers/{transfer.pk}/pick-list/").content.decode()
    assert variant.sku in pick and second.sku in pick
    client.post(f"/inventory/transfers/{transfer.pk}/ship/")
    detail = f"/inventory/transfers/{transfer.pk}/"
    line = TransferLine.objects.get(variant=variant)
    client.post(detail, {f"received-{line.pk}": "1", f"damaged-{line.pk}": "1"})
    line.refresh_from_db()
    assert (line.received, line.damaged) == (1, 1)
    refused = client.post(detail, {f"received-{line.pk}": "9"})
    assert "only 0 are on their way" in refused.content.decode()
    assert client.get(detail).status_code == 200
    bad = client.post(
        "/inventory/transfers/",
        {"from_location": warehouse.pk, "to_location": store.pk, "lines": "NOPE 1"},
    )
    assert "NOPE" in bad.content.decode()
