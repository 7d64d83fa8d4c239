"""Benchmark: generate the web shop's Google feed for 50,000 variants.

Targets (issue 5): under 30 s and under 300 MB, streaming rather than building the whole
document in memory. Builds its own data in a throwaway database (a SQLite file in /tmp, or a
new PostgreSQL database on the server of DATABASE_URL when it is set) and removes it after.

    python bench/feed.py [--variants 50000]
"""

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _harness import report  # noqa: E402

TARGET_SECONDS = 30
TARGET_MB = 300
VARIANTS_PER_PRODUCT = 6


def throwaway_database():
    """(database URL, cleanup function) of a fresh empty database."""
    base = os.environ.get("DATABASE_URL", "")
    name = f"omni_bench_feed_{os.getpid()}"
    if base.startswith(("postgres://", "postgresql://")):
        import psycopg

        parts = urlsplit(base)
        admin_url = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

        def drop():
            from django.db import connections

            connections.close_all()
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        return urlunsplit(parts._replace(path=f"/{name}")), drop
    path = Path(tempfile.gettempdir()) / f"{name}.sqlite3"

    def remove():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    remove()
    return f"sqlite:///{path}", remove


def build(variant_count):
    """Products, variants, images and web prices, written in batches so building does not
    itself use much memory."""
    from djmoney.money import Money

    from catalog.factories import gtin13
    from catalog.models import (
        Brand,
        Category,
        ChannelFeed,
        FeedFormat,
        Product,
        ProductListing,
        ProductMedia,
        ProductVariant,
        VariantListing,
    )
    from core.models import Channel, ChannelKind

    web = Channel.objects.create(code="web", name="Web shop", kind=ChannelKind.WEB, sells=True)
    brand = Brand.objects.create(name="Aria", slug="aria")
    category = Category.objects.create(name="Shoes", slug="shoes")
    feed = ChannelFeed.objects.create(
        channel=web,
        format=FeedFormat.GOOGLE,
        product_url_template="https://shop.example.com/p/{slug}?sku={sku}",
    )
    product_count = -(-variant_count // VARIANTS_PER_PRODUCT)
    made = 0
    batch = 500
    description = "A light running shoe for long days on the road & the trail. " * 8
    for start in range(0, product_count, batch):
        products = Product.objects.bulk_create(
            Product(
                name=f"Runner {n}",
                slug=f"runner-{n}",
                description=description,
                brand=brand,
                category=category,
            )
            for n in range(start, min(start + batch, product_count))
        )
        ProductMedia.objects.bulk_create(
            ProductMedia(product=p, url=f"https://img.example.com/{p.slug}.jpg", alt_text=p.name)
            for p in products
        )
        listings = ProductListing.objects.bulk_create(
            ProductListing(product=p, channel=web) for p in products
        )
        variants = []
        for product in products:
            for size in range(VARIANTS_PER_PRODUCT):
                if made >= variant_count:
                    break
                made += 1
                variants.append(
                    ProductVariant(
                        product=product,
                        sku=f"RUN-{made:07d}",
                        barcode=gtin13(made),
                        colour="black",
                        size=str(36 + size),
                        weight_grams=640,
                        position=size,
                    )
                )
        variants = ProductVariant.objects.bulk_create(variants)
        listing_of = {listing.product_id: listing for listing in listings}
        VariantListing.objects.bulk_create(
            VariantListing(listing=listing_of[v.product_id], variant=v, price=Money("89.00", "USD"))
            for v in variants
        )
    return feed, made


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--variants", type=int, default=50_000)
    args = parser.parse_args()

    url, cleanup = throwaway_database()
    media = Path(tempfile.mkdtemp(prefix="omni-bench-feed-"))
    os.environ["DATABASE_URL"] = url
    os.environ["MEDIA_ROOT"] = str(media)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    try:
        import django

        django.setup()
        from django.core.management import call_command

        from catalog.services import feeds

        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        feed, made = build(args.variants)
        print(
            f"data        : {made} variants built in {time.perf_counter() - started:.1f} s "
            f"({os.environ['DATABASE_URL'].split(':')[0]})"
        )

        started = time.perf_counter()
        run = feeds.generate_feed(feed)
        seconds = time.perf_counter() - started
        size_mb = feeds.feed_storage().size(run.file) / 1e6
        assert run.item_count == made, (run.item_count, run.refused_count)

        tracemalloc.start()
        feeds.generate_feed(feed)
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peak_mb = peak / 1e6
        # ru_maxrss is in KiB on Linux: the whole process's peak, Django and all.
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        print(f"feed        : {run.item_count} items, {size_mb:.1f} MB of XML")
        results = [
            report("Google feed, 50k variants: time", seconds, "s", TARGET_SECONDS),
            report("Google feed: peak Python allocations (tracemalloc)", peak_mb, "MB", TARGET_MB),
            report("Google feed: peak RSS of the whole process", rss_mb, "MB", TARGET_MB),
        ]
        return 0 if all(results) else 1
    finally:
        cleanup()
        shutil.rmtree(media, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
