"""on_sale_rows, the recommendations' written-out read of what is on sale, keeps to the one
rule of "on sale" (live_variant_listings) in every state a listing can be in."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.factories import ProductFactory, ProductVariantFactory, VariantListingFactory
from catalog.selectors import listed_variant_listings, on_sale_rows

pytestmark = pytest.mark.django_db


def _listed(product, channel, **variant_options):
    return VariantListingFactory(
        variant=ProductVariantFactory(product=product, **variant_options), channel=channel
    )


@pytest.fixture
def catalog(channels):
    """Products on the web shop in every state, and one listed on another channel only."""
    web, store = channels["web"], channels["store"]
    now = timezone.now()
    made = {}
    made["live"] = ProductFactory()
    first = _listed(made["live"], web, size="38")
    first.variant.position = 1
    first.variant.save()
    _listed(made["live"], web, size="39")  # position 0: listed before the first
    _listed(made["live"], web, size="40", is_active=False)
    unlisted_variant = _listed(made["live"], web, size="41")
    unlisted_variant.is_listed = False
    unlisted_variant.save()
    made["inactive"] = ProductFactory(is_active=False)
    _listed(made["inactive"], web)
    for name, window in {
        "not_yet": {"published_from": now + timedelta(days=1)},
        "ended": {"published_until": now - timedelta(minutes=1)},
        "in_window": {
            "published_from": now - timedelta(days=1),
            "published_until": now + timedelta(days=1),
        },
        "unlisted": {"is_listed": False},
    }.items():
        made[name] = ProductFactory()
        row = _listed(made[name], web)
        for field, value in window.items():
            setattr(row.listing, field, value)
        row.listing.save()
    made["elsewhere"] = ProductFactory()
    _listed(made["elsewhere"], store)
    return made


def _orm(channel, product_ids, excluding=()):
    return [
        (row.variant_id, row.variant.product_id, row.variant.sku, row.price.amount)
        for row in listed_variant_listings(channel)
        .filter(variant__product_id__in=product_ids)
        .exclude(variant_id__in=excluding)
    ]


def _written_out(channel, product_ids, excluding=()):
    return [
        (variant_id, product_id, sku, price)
        for variant_id, product_id, _name, sku, _size, _colour, price, _currency in on_sale_rows(
            channel, product_ids, excluding_variants=excluding
        )
    ]


def test_the_written_out_read_agrees_with_the_rule_of_on_sale(catalog, channels):
    ids = [product.pk for product in catalog.values()]
    for channel in channels.values():
        assert _written_out(channel, ids) == _orm(channel, ids)
    on_web = _written_out(channels["web"], ids)
    assert {product for _v, product, _s, _p in on_web} == {
        catalog["live"].pk,
        catalog["in_window"].pk,
    }
    sizes = [row[4] for row in on_sale_rows(channels["web"], [catalog["live"].pk])]
    assert sizes == ["39", "38"]  # the variants' order, the inactive and unlisted left out


def test_excluded_variants_and_no_products(catalog, channels):
    web = channels["web"]
    rows = _written_out(web, [catalog["live"].pk])
    excluded = [rows[0][0]]
    assert _written_out(web, [catalog["live"].pk], excluded) == _orm(
        web, [catalog["live"].pk], excluded
    )
    assert len(_written_out(web, [catalog["live"].pk], excluded)) == 1
    assert on_sale_rows(web, []) == []
    assert on_sale_rows(web, [catalog["unlisted"].pk]) == []
