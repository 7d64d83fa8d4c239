"""The partner API: listings and per-channel prices, filters, upserts, price changes, lookup."""

from datetime import timedelta
from itertools import count

import pytest
from django.utils import timezone

from catalog.factories import (
    CategoryFactory,
    ProductFactory,
    ProductVariantFactory,
    VariantListingFactory,
    gtin13,
    listed_product,
)
from catalog.models import Product, VariantListing
from tests.query_counts import assert_queries_do_not_grow

pytestmark = pytest.mark.django_db


def prices_by_channel(variant_json):
    return {row["channel"]: row["price"] for row in variant_json["listings"]}


def test_products_show_each_channels_own_price(api_client_for, channels):
    product = listed_product({channels["web"]: 89, channels["store"]: 95})
    VariantListingFactory(
        variant=product.variants.first(), channel=channels["marketplace"], amount=3_900_000
    )
    client = api_client_for("catalog:read")
    response = client.get("/api/v1/products")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 1
    item = body["results"][0]
    assert {row["channel"] for row in item["listings"]} == {"web", "store", "marketplace"}
    first = item["variants"][0]
    assert prices_by_channel(first) == {
        "web": {"amount": "89.00", "currency": "USD"},
        "store": {"amount": "95.00", "currency": "USD"},
        "marketplace": {"amount": "3900000.00", "currency": "IRR"},
    }


def test_channel_filter_keeps_only_that_channels_listings(api_client_for, channels):
    listed_product({channels["web"]: 10, channels["store"]: 12}, name="Both")
    listed_product({channels["store"]: 12}, name="Store only")
    client = api_client_for("catalog:read")
    body = client.get("/api/v1/products", {"channel": "web"}).json()
    assert [p["name"] for p in body["results"]] == ["Both"]
    assert {row["channel"] for v in body["results"][0]["variants"] for row in v["listings"]} == {
        "web"
    }
    variants = client.get("/api/v1/variants", {"channel": "store"}).json()
    assert variants["count"] == 4
    assert all([row["channel"] for row in v["listings"]] == ["store"] for v in variants["results"])


def test_category_filter_includes_the_subtree_and_updated_since(api_client_for, channels):
    shoes = CategoryFactory(name="Shoes", slug="shoes")
    running = CategoryFactory(name="Running", slug="running", parent=shoes)
    listed_product({channels["web"]: 10}, name="Runner", category=running)
    listed_product({channels["web"]: 10}, name="Mug", category=CategoryFactory(slug="home"))
    client = api_client_for("catalog:read")
    body = client.get("/api/v1/products", {"category": "shoes"}).json()
    assert [p["name"] for p in body["results"]] == ["Runner"]
    Product.objects.filter(name="Mug").update(updated_at=timezone.now() - timedelta(days=3))
    since = (timezone.now() - timedelta(days=1)).isoformat()
    body = client.get("/api/v1/products", {"updated_since": since}).json()
    assert [p["name"] for p in body["results"]] == ["Runner"]


def test_bad_filters_are_400_naming_the_field(api_client_for, channels):
    client = api_client_for("catalog:read")
    response = client.get("/api/v1/products", {"updated_since": "yesterday"})
    assert response.status_code == 400
    assert "updated_since" in response.json()["error"]["fields"]
    response = client.get("/api/v1/products", {"channel": "mars"})
    assert response.status_code == 400
    assert "channel" in response.json()["error"]["fields"]
    response = client.get("/api/v1/variants", {"category": "nothing"})
    assert response.status_code == 400
    assert "category" in response.json()["error"]["fields"]


def test_lists_are_query_count_guarded(api_client_for, channels):
    client = api_client_for("catalog:read")
    made = count()

    def add_products(n, variants=3):
        for _ in range(n):
            prices = {channels["web"]: 10, channels["store"]: 11}
            listed_product(prices, name=f"P{next(made)}", variants=variants)

    def products():
        assert client.get("/api/v1/products", {"page_size": 50}).status_code == 200

    def variants():
        assert client.get("/api/v1/variants", {"page_size": 50}).status_code == 200

    assert_queries_do_not_grow(add_products, products, at_most=14)
    # 36 variants listed by now; 12 more, one a product, stay inside the page of 50.
    assert_queries_do_not_grow(lambda n: add_products(n, variants=1), variants, at_most=10)


def test_reading_needs_catalog_read(api_client_for, channels):
    client = api_client_for("customers:read")
    response = client.get("/api/v1/products")
    assert response.status_code == 403
    assert "catalog:read" in response.json()["error"]["message"]


def upsert_body():
    return {
        "slug": "aria-runner",
        "name": "Aria Runner",
        "description": "Light running shoe",
        "brand": "Aria",
        "translations": {"fa": {"name": "آریا رانر"}},
        "listings": {"web": {"is_listed": True}, "web-az": {"title": "Aria Runner AZ"}},
        "variants": [
            {
                "sku": "ARIA-BLK-38",
                "barcode": gtin13(7),
                "colour": "black",
                "size": "38",
                "listings": {"web": {"price": "89.00"}, "web-az": {"price": "150.00"}},
            }
        ],
    }


def test_partner_creates_a_product_and_a_retry_changes_nothing(api_client_for, channels):
    client = api_client_for("catalog:write")
    first = client.post("/api/v1/products", upsert_body(), format="json")
    assert first.status_code == 201, first.content
    again = client.post("/api/v1/products", upsert_body(), format="json")
    assert again.status_code == 200
    assert Product.objects.count() == 1
    assert VariantListing.objects.count() == 2
    variant = again.json()["variants"][0]
    assert prices_by_channel(variant)["web-az"] == {"amount": "150.00", "currency": "AZN"}
    assert again.json()["translations"]["fa"]["name"] == "آریا رانر"
    # With an Idempotency-Key the stored answer is replayed.
    headers = {"HTTP_IDEMPOTENCY_KEY": "abc-1"}
    one = client.post("/api/v1/products", upsert_body(), format="json", **headers)
    two = client.post("/api/v1/products", upsert_body(), format="json", **headers)
    assert two["Idempotent-Replayed"] == "true"
    assert one.json() == two.json()


def test_writes_need_catalog_write(api_client_for, channels):
    client = api_client_for("catalog:read")
    assert client.post("/api/v1/products", upsert_body(), format="json").status_code == 403


def test_bad_product_bodies_are_400_naming_each_field(api_client_for, channels):
    client = api_client_for("catalog:write")
    body = upsert_body()
    body["variants"][0]["barcode"] = "1234567890123"
    body["variants"][0]["listings"]["web"]["compare_at_price"] = "10"
    body["variants"][0]["colur"] = "typo"
    response = client.post("/api/v1/products", body, format="json")
    assert response.status_code == 400
    assert "variants.0.colur" in response.json()["error"]["fields"]
    del body["variants"][0]["colur"]
    response = client.post("/api/v1/products", body, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"variants.0.barcode", "variants.0.listings.web.compare_at_price"}
    body["variants"][0]["listings"] = {"web": {"price": "-1"}}
    response = client.post("/api/v1/products", body, format="json")
    assert response.status_code == 400
    assert "variants.0.listings.web.price" in response.json()["error"]["fields"]
    body["variants"][0]["barcode"] = gtin13(8)
    body["variants"][0]["listings"] = {"web": {"price": "10"}, "store": {"is_listed": True}}
    response = client.post("/api/v1/products", body, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert fields == {"variants.0.listings.store.price": ["Required for a new listing."]}
    assert not Product.objects.exists()


def test_partner_sets_a_store_price_with_put(api_client_for, channels):
    variant = ProductVariantFactory(sku="TEE-M")
    VariantListingFactory(variant=variant, channel=channels["web"], amount=20)
    client = api_client_for("catalog:write")
    url = "/api/v1/variants/TEE-M/prices/store"
    for _attempt in range(2):
        response = client.put(url, {"price": "18.50", "compare_at_price": "25"}, format="json")
        assert response.status_code == 200, response.content
    assert response.json()["price"] == {"amount": "18.50", "currency": "USD"}
    body = client.get("/api/v1/variants", {"sku": "TEE-M"}).json()["results"][0]
    assert prices_by_channel(body) == {
        "web": {"amount": "20.00", "currency": "USD"},
        "store": {"amount": "18.50", "currency": "USD"},
    }
    wrong = client.put(
        "/api/v1/variants/TEE-M/prices/marketplace",
        {"price": "100", "currency": "USD"},
        format="json",
    )
    assert wrong.status_code == 400
    assert "currency" in wrong.json()["error"]["fields"]
    assert (
        client.put("/api/v1/variants/NOPE/prices/web", {"price": "1"}, format="json").status_code
        == 404
    )


def test_lookup_by_sku_or_barcode(api_client_for, channels):
    variant = ProductVariantFactory(sku="SHOE-38", barcode=gtin13(99))
    VariantListingFactory(variant=variant, channel=channels["store"], amount=50)
    client = api_client_for("catalog:read")
    by_sku = client.get("/api/v1/variants/lookup", {"code": "SHOE-38"})
    by_barcode = client.get("/api/v1/variants/lookup", {"code": gtin13(99)})
    assert by_sku.status_code == by_barcode.status_code == 200
    assert by_sku.json()["id"] == by_barcode.json()["id"] == variant.pk
    assert by_sku.json()["product"]["slug"] == variant.product.slug
    missing = client.get("/api/v1/variants/lookup", {"code": "nothing"})
    assert missing.status_code == 404
    assert client.get("/api/v1/variants/lookup").status_code == 400


def test_staff_session_reads_with_view_permission(client, staff_in_role, channels):
    ProductFactory()
    client.force_login(staff_in_role("Support agent"))
    assert client.get("/api/v1/products").status_code == 200
    response = client.post("/api/v1/products", upsert_body(), content_type="application/json")
    assert response.status_code == 403


def test_products_can_be_searched_through_the_api(api_client_for, channels):
    listed_product({channels["web"]: 10}, name="Aria Runner", description="running shoe")
    listed_product({channels["web"]: 10}, name="Ceramic mug", description="coffee")
    client = api_client_for("catalog:read")
    body = client.get("/api/v1/products", {"q": "runner", "channel": "web"}).json()
    assert [p["name"] for p in body["results"]] == ["Aria Runner"]
