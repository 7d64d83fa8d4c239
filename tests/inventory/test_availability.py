"""Available to promise per channel, the store locator, and "why is this 0?"."""

import pytest

from catalog.availability import availability_for
from catalog.factories import ProductVariantFactory
from inventory.factories import (
    ChannelStockRuleFactory,
    LocationFactory,
    WarehouseFactory,
    receive_stock,
    set_safety,
)
from inventory.selectors import available_to_promise, stock_overview, stores_nearby, why_unavailable
from inventory.services import reserve
from tests.query_counts import assert_queries_do_not_grow

pytestmark = pytest.mark.django_db


def test_atp_sums_serving_locations_minus_reserved_and_safety_stock(
    variant, channels, warehouse, store
):
    receive_stock(variant, warehouse, 10)
    receive_stock(variant, store, 4)
    set_safety(variant, warehouse, safety_stock=2)
    reserve(variant=variant, quantity=3, location=warehouse.code)
    # web: warehouse (10 - 3 - 2) + store 4; marketplace: the warehouse only.
    assert available_to_promise([variant], channels["web"]) == {variant.pk: 9}
    assert available_to_promise(variant, channels["marketplace"]) == {variant.pk: 5}
    assert available_to_promise(variant, channels["store"]) == {variant.pk: 4}


def test_a_location_below_zero_does_not_eat_another_locations_stock(
    variant, channels, warehouse, store
):
    receive_stock(variant, warehouse, 5)
    reserve(variant=variant, quantity=5, location=warehouse.code)
    receive_stock(variant, store, 2)
    set_safety(variant, store, safety_stock=4)
    assert available_to_promise(variant, channels["web"]) == {variant.pk: 0}


def test_channel_buffer_offers_only_a_share(variant, channels, warehouse):
    receive_stock(variant, warehouse, 10)
    ChannelStockRuleFactory(channel=channels["marketplace"], buffer_percent=80)
    assert available_to_promise(variant, channels["marketplace"]) == {variant.pk: 8}
    assert available_to_promise(variant, channels["web"]) == {variant.pk: 10}


def test_bulk_atp_in_a_fixed_number_of_queries(channels, warehouse):
    variants = []

    def add_variants(n):
        for _ in range(n):
            variant = ProductVariantFactory()
            receive_stock(variant, warehouse, len(variants) + 1)
            variants.append(variant)

    def atp():
        units = available_to_promise(variants, channels["web"])
        assert units == {v.pk: i + 1 for i, v in enumerate(variants)}

    assert_queries_do_not_grow(add_variants, atp, at_most=3)


def test_catalog_sees_inventory_stock_through_its_provider(variant, channels, warehouse):
    receive_stock(variant, warehouse, 6)
    assert availability_for([variant], channels["web"]) == {variant.pk: 6}


def test_stores_nearby_are_ordered_by_distance_with_units(variant, channels):
    tehran = LocationFactory(code="teh", latitude=35.6892, longitude=51.3890)
    karaj = LocationFactory(code="karaj", latitude=35.8400, longitude=50.9391)
    tabriz = LocationFactory(code="tabriz", latitude=38.0800, longitude=46.2919)
    empty = LocationFactory(code="teh-2", latitude=35.70, longitude=51.40)
    no_pickup = LocationFactory(code="teh-3", latitude=35.69, longitude=51.39, allows_pickup=False)
    for loc, units in [(tehran, 2), (karaj, 5), (tabriz, 1), (no_pickup, 9)]:
        receive_stock(variant, loc, units)
    receive_stock(variant, empty, 1)
    reserve(variant=variant, quantity=1, location=empty.code)
    found = stores_nearby(variant, 35.80, 51.00)  # near Karaj
    assert [s.location.code for s in found] == ["karaj", "teh", "tabriz"]
    assert [s.units for s in found] == [5, 2, 1]
    assert found[0].distance_km < 10 < found[1].distance_km < 100 < found[2].distance_km


def test_why_is_this_zero_names_the_missing_channel_link(variant, channels):
    warehouse = WarehouseFactory(code="wh-unlinked", channels=[])
    receive_stock(variant, warehouse, 12)
    answer = why_unavailable(variant, channels["marketplace"])
    codes = [r.code for r in answer["reasons"]]
    assert answer["units"] == 0
    assert "no_location" in codes and "stock_elsewhere" in codes and "not_listed" in codes
    row = next(r for r in answer["locations"] if r["location"] == warehouse)
    assert row["counts"] is False and row["why_not"] == "not linked to this channel"


def test_why_is_this_zero_names_reservations_and_safety_stock(variant, channels, warehouse):
    receive_stock(variant, warehouse, 3)
    reserve(variant=variant, quantity=3, location=warehouse.code)
    assert [r.code for r in why_unavailable(variant, channels["web"])["reasons"]] == [
        "all_reserved"
    ]
    other = ProductVariantFactory()
    receive_stock(other, warehouse, 2)
    set_safety(other, warehouse, safety_stock=2)
    codes = [r.code for r in why_unavailable(other, channels["web"])["reasons"]]
    assert "safety_stock" in codes


def test_product_overview_agrees_with_available_to_promise(variant, channels, warehouse, store):
    other = ProductVariantFactory(product=variant.product)
    receive_stock(variant, warehouse, 10)
    receive_stock(variant, store, 3)
    receive_stock(other, store, 2)
    set_safety(variant, warehouse, safety_stock=4)
    reserve(variant=variant, quantity=1, location=store.code)
    ChannelStockRuleFactory(channel=channels["marketplace"], buffer_percent=50)
    overview = stock_overview([variant, other], channels.values())
    for channel in channels.values():
        expected = available_to_promise([variant, other], channel)
        got = {pk: answer["units"] for pk, answer in overview["channels"][channel.pk].items()}
        assert got == expected, channel.code
