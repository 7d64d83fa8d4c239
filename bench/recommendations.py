"""Recommendations for one customer: GET /api/v1/customers/<id>/recommendations on 100,000
customers and 2,000,000 events, against the 20 ms median target (issue 23).

On PostgreSQL only, in a throwaway test database (test_<name>, created and dropped here):

1. A catalog of 2,000 products in 3 sizes listed on the web shop, stock in its warehouse
   (one size in ten sold out); 100,000 customers; 2,000,000 events by COPY over the last 12
   months into the monthly partitions (bench/scale.py's loader: indexes dropped and rebuilt,
   message-id keys claimed in bulk): views (60 %), adds to cart (15 %), completed orders of
   1 to 3 lines (10 %) and page views (15 %). Each customer keeps to one of 100 groups of
   products four times in five, so products that go together exist.
2. The beat's refresh of the pair table (campaigns.services.recommendations), timed.
3. Measured: the API door's median and p95 over 300 random customers (context home), and
   the service alone; the comparison is the same answer without the precomputed table (the
   pairs computed from the events at request time), timed, and checked equal on 20 of them.

Prints SKIP and exits 0 without a PostgreSQL DATABASE_URL; exits 1 on a miss.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/omni nice -n 5 .venv/bin/python bench/recommendations.py
"""

import os
import random
import statistics
import sys
import time
import uuid
from datetime import timedelta

from _harness import percentile, report, throwaway_database

CUSTOMERS = 100_000
EVENTS = 2_000_000
PRODUCTS = 2_000
SIZES = ("38", "39", "40")
GROUPS = 100
MONTHS = 12
SAMPLES = 300
COMPARED = 20
TARGET_MS = 20.0


def load_catalog(rng):
    """Products, variants, listings on the web shop and stock in its warehouse; returns
    (web channel, [SKUs])."""
    from catalog.models import Product, ProductListing, ProductVariant, VariantListing
    from core.factories import ChannelFactory
    from inventory.factories import WarehouseFactory
    from inventory.models import StockLevel

    web = ChannelFactory(code="web", name="Web shop", kind="web")
    warehouse = WarehouseFactory(code="wh-bench", channels=[web])
    products = Product.objects.bulk_create(
        [Product(name=f"Product {n}", slug=f"product-{n}") for n in range(PRODUCTS)]
    )
    variants = ProductVariant.objects.bulk_create(
        [
            ProductVariant(product=product, sku=f"P{n}-{size}", size=size, position=position)
            for n, product in enumerate(products)
            for position, size in enumerate(SIZES)
        ]
    )
    listings = ProductListing.objects.bulk_create(
        [ProductListing(product=product, channel=web) for product in products]
    )
    listing_of = {listing.product_id: listing for listing in listings}
    VariantListing.objects.bulk_create(
        [
            VariantListing(listing=listing_of[v.product_id], variant=v, price=50 + v.pk % 90)
            for v in variants
        ]
    )
    StockLevel.objects.bulk_create(
        [
            StockLevel(variant=v, location=warehouse, on_hand=0 if rng.random() < 0.1 else 20)
            for v in variants
        ]
    )
    return web, [v.sku for v in variants]


def load_customers(rng):
    from django.utils import timezone
    from inbox import copy_rows, defaults_for, reset_sequence

    from customers.models import Customer

    now = timezone.now()
    given = ["id", "public_id", "first_name", "last_name", "is_anonymous", "created_at"]
    defaults = defaults_for(Customer, set(given))
    copy_rows(
        Customer,
        (
            (i, uuid.UUID(int=rng.getrandbits(128), version=4), "Sara", f"C{i}", False,
             now - timedelta(days=400), *defaults.values())
            for i in range(1, CUSTOMERS + 1)
        ),
        [*given, *defaults],
    )  # fmt: skip
    reset_sequence(Customer)


def event_lines(rng, channel_id, skus, start, span):
    """COPY text of EVENTS events, in arrival order over `span`."""
    from scale import EVENT_COLUMNS, MASK, SCRAMBLE, _copy_text, defaults_for

    from customers.models import Event

    tail = "".join(
        f"\t{_copy_text(v)}" for v in defaults_for(Event, {"id", *EVENT_COLUMNS}).values()
    )
    per_group = PRODUCTS // GROUPS
    step = span.total_seconds() / EVENTS
    begin = start.timestamp()
    lines = []

    def sku_for(customer):
        if rng.random() < 0.8:
            product = (customer % GROUPS) * per_group + rng.randrange(per_group)
        else:
            product = rng.randrange(PRODUCTS)
        return skus[product * len(SIZES) + rng.randrange(len(SIZES))]

    for number in range(EVENTS):
        customer = rng.randrange(1, CUSTOMERS + 1)
        kind = rng.random()
        if kind < 0.60:
            name, properties = "product_viewed", f'{{"sku": "{sku_for(customer)}"}}'
        elif kind < 0.75:
            name, properties = "product_added_to_cart", f'{{"sku": "{sku_for(customer)}"}}'
        elif kind < 0.85:
            products = ", ".join(
                f'{{"sku": "{sku_for(customer)}", "quantity": 1, "price": "50.00"}}'
                for _ in range(rng.randint(1, 3))
            )
            name = "order_completed"
            properties = (
                f'{{"order_id": "W-{number}", "total": "120.00", "currency": "USD", '
                f'"products": [{products}]}}'
            )
        else:
            name, properties = "page_viewed", f'{{"path": "/c/{number % 400}"}}'
        moment = time.strftime(
            "%Y-%m-%d %H:%M:%S+00", time.gmtime(begin + (number + rng.random()) * step)
        )
        lines.append(
            f"{customer}\t{name}\t{channel_id}\t{moment}\t{moment}\t{properties}\tbench-fill\t"
            f"rec-{(number * SCRAMBLE) & MASK:032x}{tail}\n"
        )
        if len(lines) == 20_000:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)


def load_events(rng, web, skus):
    from django.db import connection
    from django.utils import timezone
    from scale import copy_events, ensure_event_partitions, event_indexes_dropped

    now = timezone.now()
    span = timedelta(days=30.4 * MONTHS)
    ensure_event_partitions(now - span, now)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
    with event_indexes_dropped():
        written = copy_events(event_lines(rng, web.pk, skus, now - span, span))
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = DEFAULT")
        cursor.execute("VACUUM ANALYZE")
    assert written == EVENTS, written
    print(f"fill: {written:,} events by COPY, indexed and analysed in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip


def main():
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("SKIP bench/recommendations.py: needs DATABASE_URL of a PostgreSQL database")
        return 0
    rng = random.Random(23)
    with throwaway_database():
        from django.test import Client
        from django.utils import timezone

        from campaigns.services import recommendations as recs
        from core.factories import api_key_with
        from customers.models import Customer

        started = time.perf_counter()
        web, skus = load_catalog(rng)
        load_customers(rng)
        print(f"loaded {PRODUCTS:,} products, {len(skus):,} variants and {CUSTOMERS:,} customers "
              f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
        load_events(rng, web, skus)

        started = time.perf_counter()
        rows = recs.refresh_product_pairs()
        refresh_s = time.perf_counter() - started
        print(f"refresh: {rows:,} product pairs from {EVENTS:,} events in {refresh_s:.1f} s")

        _key, raw_key = api_key_with(["customers:read"])
        client = Client(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        ids = rng.sample(range(1, CUSTOMERS + 1), SAMPLES)
        public_ids = dict(Customer.objects.filter(pk__in=ids).values_list("pk", "public_id"))
        for customer_id in ids[:10]:  # warm the connection and the caches
            client.get(f"/api/v1/customers/{public_ids[customer_id]}/recommendations?channel=web")
        api, service, shown = [], [], []
        for customer_id in ids:
            path = f"/api/v1/customers/{public_ids[customer_id]}/recommendations?channel=web"
            started = time.perf_counter()
            response = client.get(path)
            api.append(time.perf_counter() - started)
            assert response.status_code == 200, response.content
            shown.append(len(response.json()["products"]))
            customer = Customer.objects.get(pk=customer_id)
            started = time.perf_counter()
            recs.recommendations_for(customer, channel=web)
            service.append(time.perf_counter() - started)
        print(f"answers: {statistics.mean(shown):.1f} products on average, "
              f"{sum(1 for n in shown if n == 0)} of {SAMPLES} empty")  # fmt: skip

        # The comparison: the same answer with the pairs computed from the events on the spot.
        now = timezone.now()
        started = time.perf_counter()
        pairs = recs.pair_scores(
            recs.everyone_interests(now - timedelta(days=recs.WINDOW_DAYS), now)
        )
        partners = {}
        for product, other, score, bought, _viewed in recs.top_partners(pairs):
            partners.setdefault(product, []).append((product, other, score, bought))
        on_the_spot_s = time.perf_counter() - started

        def computed(seeds):
            return [row for seed in seeds for row in partners.get(seed, [])]

        for customer_id in ids[:COMPARED]:
            customer = Customer.objects.get(pk=customer_id)
            with_table = recs.recommendations_for(customer, channel=web, now=now)
            without = recs.recommendations_for(customer, channel=web, now=now, pairs=computed)
            assert [p["sku"] for p in with_table["products"]] == [
                p["sku"] for p in without["products"]
            ], customer_id

        api_ms = statistics.median(api) * 1000
        ok = report("recommendations API, median", api_ms, "ms", TARGET_MS)
        print(f"     recommendations API, p95: {percentile(api, 0.95) * 1000:.2f} ms; "
              f"the service alone, median: {statistics.median(service) * 1000:.2f} ms")  # fmt: skip
        print(f"     without the pair table (pairs from {EVENTS:,} events per request): "
              f"{on_the_spot_s * 1000:,.0f} ms + the service, "
              f"{on_the_spot_s * 1000 / api_ms:,.0f}x the API median; "
              f"same products on {COMPARED} customers")  # fmt: skip
        print(f"     the beat's refresh of the table: {refresh_s:.1f} s ({rows:,} rows)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
