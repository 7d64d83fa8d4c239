"""The catalog's demo stage: a few hundred products, the story's Aria Runner, prices that
differ per channel and currency, and feeds that generate with refusals to look at."""

import pytest
from djmoney.money import Money

from catalog import selectors
from catalog.models import ChannelFeed, Product, VariantListing
from catalog.services import feeds
from core.demo import DemoContext, run_stages
from core.models import Channel

pytestmark = pytest.mark.django_db


def test_demo_catalog_is_listed_differently_per_channel():
    ctx = DemoContext(size="small", quiet=True)
    run_stages(ctx, only=["core.channels", "catalog"])
    assert 250 <= Product.objects.count() <= 400
    runner = Product.objects.get(slug="aria-runner")
    assert {(v.colour, v.size) for v in runner.variants.all()} == {
        (colour, str(size)) for colour in ("black", "white", "red") for size in range(36, 42)
    }
    variant = runner.variants.get(colour="red", size="38")
    channels = {c.code: c for c in Channel.objects.all()}
    web = selectors.price_for(variant, channels["web"])
    store = selectors.price_for(variant, channels["store"])
    assert web.currency.code == store.currency.code == "USD" and web != store
    assert selectors.price_for(variant, channels["marketplace"]).currency.code == "IRR"
    assert selectors.price_for(variant, channels["web-az"]).currency.code == "AZN"
    listed_counts = {
        code: VariantListing.objects.filter(listing__channel__code=code).count()
        for code in ("web", "store", "instagram", "marketplace")
    }
    assert len(set(listed_counts.values())) == 4  # each channel lists a different range
    assert Product.objects.filter(variants__size="40", category__path__startswith="shoes/").exists()
    feed = ChannelFeed.objects.get(channel__code="marketplace")
    run = feeds.generate_feed(feed)
    assert run.item_count > 100 and run.refused_count > 0
    assert VariantListing.objects.filter(compare_at_price__isnull=False).exists()
    assert Money(0, "USD") < web
