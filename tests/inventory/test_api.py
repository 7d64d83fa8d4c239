"""The inventory API through its real door: API keys with scopes, the error format,
idempotent batches, 201/409 reservations, availability, the store locator."""

import datetime as dt
from itertools import count

import pytest
from django.utils import timezone

from catalog.factories import ProductVariantFactory
from inventory.factories import LocationFactory, receive_stock
from inventory.models import StockLevel, StockMovement
from tests.query_counts import assert_queries_do_not_grow

pytestmark = pytest.mark.django_db
NOW = timezone.now()


def item(sku, location, key, quantity=None, reason="sale", minutes_ago=10, **extra):
    body = {
        "sku": sku,
        "location": location,
        "reason": reason,
        "idempotency_key": key,
        "occurred_at": (NOW - dt.timedelta(minutes=minutes_ago)).isoformat(),
        **extra,
    }
    if quantity is not None:
        body["quantity"] = quantity
    return body


@pytest.fixture
def writer(api_client_for):
    return api_client_for("inventory:write")


def test_a_batch_applies_known_items_and_names_the_refused(writer, variant, store):
    receive_stock(variant, store, 10, occurred_at=NOW - dt.timedelta(hours=1))
    batch = {
        "movements": [
            item(variant.sku, store.code, "pos-1", -2),
            item("NO-SUCH-SKU", store.code, "pos-2", -1),
            item(variant.sku, "atlantis", "pos-3", -1),
            item(
                variant.sku, store.code, "pos-4", reason="count", counted_quantity=5, minutes_ago=5
            ),
        ]
    }
    response = writer.post("/api/v1/stock/movements", batch, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["applied"], body["refused"], body["duplicates"]) == (2, 2, 0)
    assert body["results"][1]["error"]["code"] == "unknown_sku"
    assert body["results"][2]["error"] == {
        "code": "unknown_location",
        "message": "No location has the code atlantis.",
        "field": "location",
    }
    assert StockLevel.objects.get(variant=variant, location=store).on_hand == 5

    replay = writer.post("/api/v1/stock/movements", batch, format="json").json()
    assert (replay["applied"], replay["duplicates"]) == (0, 2)
    assert StockLevel.objects.get(variant=variant, location=store).on_hand == 5
    assert StockMovement.objects.filter(source=store.code).count() == 2


def test_a_malformed_batch_is_refused_naming_the_field(writer, variant, store):
    bad = {
        "movements": [
            item(variant.sku, store.code, "k1", -1),
            item(variant.sku, store.code, "k2", "two"),
        ]
    }
    response = writer.post("/api/v1/stock/movements", bad, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "movements.1.quantity": ["Expected `int | null`, got `str`"]
    }
    unknown = {"movements": [item(variant.sku, store.code, "k1", -1, colour="red")]}
    response = writer.post("/api/v1/stock/movements", unknown, format="json")
    assert response.json()["error"]["fields"] == {"movements.0.colour": ["Unknown field."]}
    naive = {
        "movements": [
            {**item(variant.sku, store.code, "k1", -1), "occurred_at": "2024-05-01T10:00:00"}
        ]
    }
    result = writer.post("/api/v1/stock/movements", naive, format="json").json()["results"][0]
    assert result["error"]["field"] == "occurred_at"
    assert StockMovement.objects.filter(source=store.code).count() == 0


def test_a_read_key_cannot_write_movements(api_client_for, variant, store):
    reader = api_client_for("inventory:read")
    response = reader.post("/api/v1/stock/movements", {"movements": []}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_reserve_201_then_409_then_release_and_confirm(writer, variant, store):
    receive_stock(variant, store, 2)
    response = writer.post(
        "/api/v1/reservations",
        {
            "sku": variant.sku,
            "quantity": 2,
            "location": store.code,
            "reference": "W-77",
            "expires_in": 900,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    reservation = response.json()
    assert reservation["status"] == "active" and reservation["location"] == store.code

    refused = writer.post(
        "/api/v1/reservations",
        {"sku": variant.sku, "quantity": 1, "location": store.code},
        format="json",
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "insufficient_stock"

    released = writer.post(f"/api/v1/reservations/{reservation['id']}/release")
    assert released.status_code == 200 and released.json()["status"] == "released"
    again = writer.post(
        "/api/v1/reservations",
        {"sku": variant.sku, "quantity": 1, "channel": "web", "pickup_location": store.code},
        format="json",
    )
    assert again.status_code == 201, again.content
    confirmed = writer.post(f"/api/v1/reservations/{again.json()['id']}/confirm")
    assert confirmed.json()["status"] == "confirmed"
    assert StockLevel.objects.get(variant=variant, location=store).on_hand == 1
    conflict = writer.post(f"/api/v1/reservations/{reservation['id']}/confirm")
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "illegal_transition"
    assert writer.post("/api/v1/reservations/999999/release").status_code == 404


def test_reservation_input_errors_name_the_field(writer, variant, store):
    cases = [
        ({"sku": variant.sku, "quantity": 0, "location": store.code}, "quantity"),
        ({"sku": variant.sku, "quantity": 1}, "location"),
        ({"sku": "NOPE", "quantity": 1, "location": store.code}, "sku"),
        ({"sku": variant.sku, "quantity": 1, "location": "nowhere"}, "location"),
        ({"sku": variant.sku, "quantity": 1, "channel": "nowhere"}, "channel"),
        ({"sku": variant.sku, "quantity": 1, "location": store.code, "qty": 1}, "qty"),
    ]
    for body, field in cases:
        response = writer.post("/api/v1/reservations", body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert field in response.json()["error"]["fields"], (body, response.json())


def test_availability_single_many_and_bulk(
    api_client_for, variant, channels, warehouse, django_assert_max_num_queries
):
    reader = api_client_for("inventory:read")
    other = ProductVariantFactory()
    receive_stock(variant, warehouse, 7)
    receive_stock(other, warehouse, 3)
    with django_assert_max_num_queries(8):
        response = reader.get(f"/api/v1/availability?sku={variant.sku}&channel=web")
    assert response.json() == {
        "channel": "web",
        "items": [{"sku": variant.sku, "units": 7}],
        "unknown_skus": [],
    }
    many = reader.get(
        f"/api/v1/availability?sku={variant.sku}&sku={other.sku}&sku=GONE&channel=marketplace"
    )
    assert many.json()["items"] == [
        {"sku": variant.sku, "units": 7},
        {"sku": other.sku, "units": 3},
    ]
    assert many.json()["unknown_skus"] == ["GONE"]
    skus = [variant.sku, other.sku] + [f"X{n}" for n in range(500)]
    bulk = reader.post("/api/v1/availability/bulk", {"channel": "web", "skus": skus}, format="json")
    assert bulk.status_code == 200 and len(bulk.json()["items"]) == 2

    def add_stocked(n):
        for _ in range(n):
            stocked = ProductVariantFactory()
            receive_stock(stocked, warehouse, 2)
            skus.append(stocked.sku)

    def bulk_post():
        body = {"channel": "web", "skus": skus}
        assert reader.post("/api/v1/availability/bulk", body, format="json").status_code == 200

    assert_queries_do_not_grow(add_stocked, bulk_post, at_most=8)
    assert (
        reader.get(f"/api/v1/availability?sku={variant.sku}&channel=nope").json()["error"]["code"]
        == "unknown_channel"
    )
    assert (
        "channel" in reader.get(f"/api/v1/availability?sku={variant.sku}").json()["error"]["fields"]
    )


def test_explain_says_why_a_sku_is_zero(api_client_for, variant, channels):
    reader = api_client_for("inventory:read")
    receive_stock(variant, LocationFactory(code="lonely", channels=[]), 4)
    body = reader.get(f"/api/v1/availability/explain?sku={variant.sku}&channel=web").json()
    assert body["units"] == 0
    assert {"no_location", "stock_elsewhere"} <= {r["code"] for r in body["reasons"]}
    assert body["locations"][0]["why_not"] == "not linked to this channel"


def test_nearby_stores_nearest_first(api_client_for, variant):
    reader = api_client_for("inventory:read")
    receive_stock(variant, LocationFactory(code="shiraz", latitude=29.61, longitude=52.53), 3)
    receive_stock(variant, LocationFactory(code="isfahan", latitude=32.65, longitude=51.67), 1)
    response = reader.get(f"/api/v1/stores/nearby?sku={variant.sku}&lat=35.7&lng=51.4")
    stores = response.json()["stores"]
    assert [s["code"] for s in stores] == ["isfahan", "shiraz"]
    assert stores[0]["units"] == 1 and 300 < stores[0]["distance_km"] < 360
    bad = reader.get(f"/api/v1/stores/nearby?sku={variant.sku}&lat=95&lng=51.4")
    assert bad.status_code == 400 and "lat" in bad.json()["error"]["fields"]

    made = count()

    def add_stores(n):  # around Tehran, every one of them in the answer
        for _ in range(n):
            number = next(made)
            near = LocationFactory(
                code=f"teh-{number}", latitude=35.6 + number / 100, longitude=51.4
            )
            receive_stock(variant, near, 1)

    def nearby():
        url = f"/api/v1/stores/nearby?sku={variant.sku}&lat=35.7&lng=51.4&limit=50"
        assert reader.get(url).status_code == 200

    assert_queries_do_not_grow(add_stores, nearby, at_most=6)


def test_locations_and_ledger_lists_are_guarded(api_client_for, variant, channels):
    reader = api_client_for("inventory:read")
    made = count()

    def add_stores(n):  # each a location with a stock movement
        for _ in range(n):
            number = next(made)
            loc = LocationFactory(code=f"s-{number}", channels=list(channels.values()))
            receive_stock(variant, loc, number + 1)

    def locations_list():
        assert reader.get("/api/v1/locations?kind=store").status_code == 200

    def ledger_list():
        url = f"/api/v1/stock/movements?sku={variant.sku}&page_size=50"
        assert reader.get(url).status_code == 200

    assert_queries_do_not_grow(add_stores, locations_list, at_most=6)
    assert_queries_do_not_grow(add_stores, ledger_list, at_most=5)
    locations = reader.get("/api/v1/locations?kind=store")
    assert locations.json()["count"] == 24
    assert sorted(locations.json()["results"][0]["channels"]) == ["marketplace", "store", "web"]
    ledger = reader.get(f"/api/v1/stock/movements?sku={variant.sku}&page_size=5")
    page = ledger.json()
    assert len(page["results"]) == 5 and page["next"]
    assert page["results"][0]["reason"] == "receipt"
