"""The catalog's write rules: upsert by slug and SKU, per-channel prices in the channel's
currency, typed attributes, the category tree."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from djmoney.money import Money

from catalog import selectors, services
from catalog.errors import InvalidProductData
from catalog.factories import (
    AttributeFactory,
    CategoryFactory,
    ProductVariantFactory,
    gtin13,
)
from catalog.models import AttributeKind, Product, ProductVariant, VariantListing

pytestmark = pytest.mark.django_db


def shoe(**overrides):
    data = {
        "slug": "aria-runner",
        "name": "Aria Runner",
        "description": "A light running shoe.",
        "brand": "Aria",
        "translations": {"fa": {"name": "کفش دویدن آریا", "description": "کفش سبک"}},
        "listings": {"web": {"is_listed": True}, "store": {"is_listed": True}},
        "variants": [
            {
                "sku": "ARIA-BLK-38",
                "barcode": gtin13(38),
                "colour": "black",
                "size": "38",
                "weight_grams": 640,
                "listings": {
                    "web": {"price": "89.00", "compare_at_price": "99.00"},
                    "store": {"price": "95.00"},
                },
            }
        ],
    }
    data.update(overrides)
    return data


def test_one_product_priced_differently_per_channel(channels):
    product, created = services.upsert_product(shoe())
    assert created
    variant = product.variants.get()
    assert selectors.price_for(variant, channels["web"]) == Money("89.00", "USD")
    assert selectors.price_for(variant, channels["store"]) == Money("95.00", "USD")
    assert selectors.price_for(variant, channels["marketplace"]) is None
    assert selectors.variant_by_code(gtin13(38)) == variant
    assert selectors.variant_by_code("ARIA-BLK-38") == variant
    assert selectors.translated(product, "fa")[0] == "کفش دویدن آریا"


def test_upsert_is_idempotent(channels):
    services.upsert_product(shoe())
    product, created = services.upsert_product(shoe())
    assert not created
    assert Product.objects.count() == 1
    assert ProductVariant.objects.count() == 1
    assert VariantListing.objects.count() == 2


def test_prices_are_in_the_channels_currency(channels):
    data = shoe()
    data["variants"][0]["listings"] = {"marketplace": {"price": "3500000", "currency": "USD"}}
    with pytest.raises(InvalidProductData) as caught:
        services.upsert_product(data)
    assert "variants.0.listings.marketplace.currency" in caught.value.fields
    data["variants"][0]["listings"] = {"marketplace": {"price": "3500000"}}
    product, _ = services.upsert_product(data)
    price = selectors.price_for(product.variants.get(), channels["marketplace"])
    assert price == Money(Decimal("3500000"), "IRR")


def test_every_bad_field_is_reported_and_nothing_written(channels):
    ProductVariantFactory(sku="TAKEN-1")
    data = shoe()
    data["variants"] = [
        {
            "sku": "TAKEN-1",
            "barcode": "1234567890123",
            "weight_grams": "-3",
            "listings": {
                "web": {"price": "10", "compare_at_price": "5"},
                "nowhere": {"price": "1"},
            },
        },
    ]
    with pytest.raises(InvalidProductData) as caught:
        services.upsert_product(data)
    fields = caught.value.fields
    assert set(fields) >= {
        "variants.0.sku",
        "variants.0.barcode",
        "variants.0.weight_grams",
        "variants.0.listings.web.compare_at_price",
        "channel.nowhere",
    }
    assert not Product.objects.filter(slug="aria-runner").exists()


def test_listing_on_a_channel_that_does_not_sell_is_refused(channels):
    variant = ProductVariantFactory()
    with pytest.raises(InvalidProductData):
        services.set_variant_price(variant, channels["email"], price="10")


def test_set_variant_price_lists_the_product_and_is_idempotent(channels):
    variant = ProductVariantFactory()
    services.set_variant_price(variant, channels["web-az"], price="12.50")
    services.set_variant_price(variant, channels["web-az"], price="12.50")
    assert VariantListing.objects.filter(variant=variant).count() == 1
    assert selectors.price_for(variant, channels["web-az"]) == Money("12.50", "AZN")
    assert variant in selectors.listed_variants(channels["web-az"])


def test_typed_attributes_are_validated(channels):
    AttributeFactory(code="drop", kind=AttributeKind.NUMBER)
    AttributeFactory(code="material", kind=AttributeKind.CHOICE, choices=["mesh", "leather"])
    AttributeFactory(code="accent", kind=AttributeKind.COLOUR)
    with pytest.raises(InvalidProductData) as caught:
        services.upsert_product(
            shoe(attributes={"drop": "ten", "material": "wood", "accent": "red", "nope": "x"})
        )
    assert set(caught.value.fields) == {
        "attributes.drop",
        "attributes.material",
        "attributes.accent",
        "attributes.nope",
    }
    product, _ = services.upsert_product(
        shoe(attributes={"drop": "8", "material": "mesh", "accent": "#ff0000"})
    )
    values = {v.attribute.code: v for v in product.attribute_values.select_related("attribute")}
    assert values["drop"].number_value == Decimal("8")
    assert values["accent"].value == "#FF0000"


def test_category_tree_paths_follow_moves():
    shoes = CategoryFactory(name="Shoes", slug="shoes")
    running = CategoryFactory(name="Running", slug="running", parent=shoes)
    trail = CategoryFactory(name="Trail", slug="trail", parent=running)
    assert trail.path == "shoes/running/trail/"
    sport = CategoryFactory(name="Sport", slug="sport")
    services.move_category(running, sport)
    trail.refresh_from_db()
    assert trail.path == "sport/running/trail/"
    assert str(trail) == "Sport › Running › Trail"
    running.refresh_from_db()
    running.name = "Road running"
    running.save()
    trail.refresh_from_db()
    assert str(trail) == "Sport › Road running › Trail"
    assert set(selectors.category_subtree(sport)) == {sport, running, trail}
    with pytest.raises(InvalidProductData):
        services.move_category(sport, trail)


def test_publication_window_hides_a_listing(channels):
    product, _ = services.upsert_product(shoe())
    variant = product.variants.get()
    services.set_listing(
        product, channels["web"], published_from=timezone.now() + timedelta(days=1)
    )
    assert selectors.price_for(variant, channels["web"]) is None
    assert selectors.price_for(variant, channels["store"]) == Money("95.00", "USD")
