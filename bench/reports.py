"""Benchmark of the home dashboard and the reports on a year of data, loaded by COPY into a
throwaway PostgreSQL database:

- the daily rollups built for the whole year (customers.services.rollups.refresh_rollups),
  and the beat's incremental refresh (the last days again);
- each page (`/`, `/reports/<name>/`, as an Administrator through the whole Django stack)
  and each report API, median of several runs — target under 300 ms at the median;
- beside each rollup-backed report, the raw-scan query it replaced, timed in the same run.

Sizes: by default a fifth of the issue's (20,000 customers, 400,000 events, 40,000 orders,
20,000 conversations) so it runs in a few minutes on 2 cores; `--full` loads the issue's
100,000 customers, 2,000,000 events, 200,000 orders and 100,000 conversations. The target
is the same at either size.

Run: DATABASE_URL=postgres://... python bench/reports.py [--full]
"""

import json
import os
import random
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import median_ms, report, throwaway_database  # noqa: E402
from bench.inbox import copy_rows, defaults_for, indexes_dropped, reset_sequence  # noqa: E402

FULL = "--full" in sys.argv
SCALE = 1 if FULL else 5
CUSTOMERS = 100_000 // SCALE
EVENTS = 2_000_000 // SCALE
ORDERS = 200_000 // SCALE
CONVERSATIONS = 100_000 // SCALE
REPEAT = int(os.environ.get("BENCH_REPEAT", 7))
TARGET_MS = 300.0
DAYS = 365
CATEGORIES = 12
PRODUCTS_PER_CATEGORY = 8
STORES = 8
EVENT_MIX = [
    ("product_viewed", ("web", "app")),
    ("product_viewed", ("web", "app")),
    ("page_viewed", ("web", "app", "web-az")),
    ("ad_clicked", ("ads", "instagram")),
    ("message_opened", ("email", "sms", "whatsapp", "telegram")),
    ("store_visited", ("store",)),
    ("call_logged", ("phone",)),
]
ORDER_MIX = {"web": 40, "app": 20, "store": 25, "phone": 7, "marketplace": 8}


def load(rng):
    from django.db import connection
    from django.utils import timezone

    from catalog.factories import CategoryFactory, ProductFactory, ProductVariantFactory
    from core.factories import demo_channels
    from core.models import Channel
    from customers.models import Customer, Event
    from inventory.factories import LocationFactory
    from orders.models import Order, OrderLine
    from support.models import Conversation

    started = time.perf_counter()
    channels = {c.code: c for c in demo_channels()}
    variants = []
    for c in range(CATEGORIES):
        category = CategoryFactory(name=f"Category {c}")
        for p in range(PRODUCTS_PER_CATEGORY):
            product = ProductFactory(name=f"Product {c}-{p}", category=category)
            variants += [ProductVariantFactory(product=product) for _ in range(2)]
    stores = [LocationFactory(code=f"store-{s}", name=f"Store {s}") for s in range(STORES)]
    now = timezone.now()
    with connection.cursor() as cursor:
        try:
            cursor.execute("SET session_replication_role = replica")
        except Exception:  # noqa: BLE001
            print("   (not a superuser: loading with foreign-key checks)")

    created = {}
    customer_given = ["id", "public_id", "first_name", "is_anonymous", "created_at"]
    customer_defaults = defaults_for(Customer, set(customer_given))

    def customer_rows():
        for i in range(1, CUSTOMERS + 1):
            created[i] = now - timedelta(days=rng.uniform(0, DAYS))
            yield (i, uuid.uuid4(), f"Customer {i}", False, created[i],
                   *customer_defaults.values())  # fmt: skip

    event_given = ["id", "customer_id", "name", "channel_id", "occurred_at", "received_at",
                   "properties", "source", "message_id"]  # fmt: skip
    event_defaults = defaults_for(Event, set(event_given))

    def event_rows():
        for i in range(1, EVENTS + 1):
            customer = rng.randint(1, CUSTOMERS)
            name, codes = rng.choice(EVENT_MIX)
            channel = channels[rng.choice(codes)]
            at = created[customer] + timedelta(
                seconds=rng.uniform(0, (now - created[customer]).total_seconds())
            )
            props = {"sku": rng.choice(variants).sku} if name == "product_viewed" else {}
            yield (i, customer, name, channel.pk, at, at, json.dumps(props), "bench",
                   f"bench-{i}", *event_defaults.values())  # fmt: skip

    codes = list(ORDER_MIX)
    weights = list(ORDER_MIX.values())
    order_given = ["id", "number", "customer_id", "channel_id", "status", "currency",
                   "subtotal", "subtotal_currency", "discount", "discount_currency",
                   "shipping", "shipping_currency", "total", "total_currency", "refunded",
                   "refunded_currency", "store_id", "placed_at", "updated_at"]  # fmt: skip
    order_defaults = defaults_for(Order, set(order_given))
    line_given = ["id", "order_id", "variant_id", "sku", "product_name", "quantity",
                  "unit_price", "unit_price_currency", "line_total", "line_total_currency",
                  "channel_id", "created_at", "fulfilment_method"]  # fmt: skip
    line_defaults = defaults_for(OrderLine, set(line_given))
    lines = []

    def order_rows():
        for i in range(1, ORDERS + 1):
            customer = rng.randint(1, CUSTOMERS)
            channel = channels[rng.choices(codes, weights)[0]]
            currency = channel.currency
            amount = rng.randint(20, 300) * (100_000 if currency == "IRR" else 1)
            at = created[customer] + timedelta(
                seconds=rng.uniform(0, (now - created[customer]).total_seconds())
            )
            store = rng.choice(stores).pk if channel.kind == "store" else None
            variant = rng.choice(variants)
            lines.append((i, i, variant.pk, variant.sku, variant.product.name, 1, amount,
                          currency, amount, currency, channel.pk, at, "in_store" if store else "ship",
                          *line_defaults.values()))  # fmt: skip
            yield (i, f"B-{i:07d}", customer, channel.pk, "completed", currency, amount,
                   currency, 0, currency, 0, currency, amount, currency, 0, currency, store, at,
                   at, *order_defaults.values())  # fmt: skip

    conversation_given = ["id", "customer_id", "status", "started_channel_id",
                          "last_inbound_channel_id", "created_at", "updated_at",
                          "last_message_at", "resolved_at", "first_response_breached",
                          "first_response_seconds", "resolution_seconds"]  # fmt: skip
    conversation_defaults = defaults_for(Conversation, set(conversation_given))

    def conversation_rows():
        for i in range(1, CONVERSATIONS + 1):
            channel = channels[rng.choice(["email", "whatsapp", "instagram", "phone"])]
            at = now - timedelta(minutes=rng.uniform(5, 60 * 24 * DAYS))
            resolved = at + timedelta(hours=rng.uniform(1, 72)) if rng.random() < 0.85 else None
            resolved = resolved if resolved and resolved < now else None
            first_response = int(rng.expovariate(1 / 1800))
            yield (i, rng.randint(1, CUSTOMERS), "resolved" if resolved else "open", channel.pk,
                   channel.pk, at, at, at, resolved, rng.random() < 0.1, first_response,
                   int((resolved - at).total_seconds()) if resolved else None,
                   *conversation_defaults.values())  # fmt: skip

    with indexes_dropped(Customer, Event, Order, OrderLine, Conversation):
        copy_rows(Customer, customer_rows(), [*customer_given, *customer_defaults])
        copy_rows(Event, event_rows(), [*event_given, *event_defaults])
        copy_rows(Order, order_rows(), [*order_given, *order_defaults])
        copy_rows(OrderLine, iter(lines), [*line_given, *line_defaults])
        rows = conversation_rows()
        copy_rows(Conversation, rows, [*conversation_given, *conversation_defaults])
    for model in (Customer, Event, Order, OrderLine, Conversation):
        reset_sequence(model)
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = DEFAULT")
        # The profile figures the timeline keeps (channels used, first and last seen), which
        # COPY bypassed: the retention reports group customers by them.
        cursor.execute(
            f"""UPDATE {Customer._meta.db_table} AS c SET channels_used = f.kinds,
                first_seen_at = f.first, last_seen_at = f.last
            FROM (SELECT e.customer_id, jsonb_agg(DISTINCT ch.kind) AS kinds,
                         min(e.occurred_at) AS first, max(e.occurred_at) AS last
                  FROM {Event._meta.db_table} e JOIN {Channel._meta.db_table} ch
                  ON ch.id = e.channel_id GROUP BY e.customer_id) AS f
            WHERE f.customer_id = c.id"""  # noqa: S608 (table names from the models)
        )
        # What autovacuum has done on any live database by now: statistics, and the visibility
        # map COPYed rows lack (without it PostgreSQL cannot answer from an index alone).
        cursor.execute("VACUUM ANALYZE")
    print(
        f"loaded {CUSTOMERS:,} customers, {EVENTS:,} events, {ORDERS:,} orders and "
        f"{CONVERSATIONS:,} conversations by COPY in {time.perf_counter() - started:.1f} s"
        + ("" if FULL else "  (a fifth of the issue's sizes; --full for all)")
    )


def timed_ms(func, repeat=REPEAT):
    func()  # warm
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return median_ms(samples)


def main():
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        print("SKIPPED bench/reports.py: needs DATABASE_URL=postgres://... (COPY and real plans)")
        return 0
    rng = random.Random(19)
    with throwaway_database():
        load(rng)
        from django.test import Client
        from django.utils import timezone

        from core.factories import StaffUserFactory
        from customers.reports import acquisition, cohort_counts, retention_from_counts
        from customers.services.rollups import refresh_rollups
        from orders.reports import channel_journeys, ropo, sales_by_day
        from support.reports import support_over_time

        today = timezone.localdate()
        started = time.perf_counter()
        refresh_rollups(since=today - timedelta(days=DAYS + 1), until=today)
        print(f"rollups built for the year in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        refresh_rollups()
        report("rollups: the beat's incremental refresh", time.perf_counter() - started,
               "s", 60.0)  # fmt: skip

        client = Client()
        client.force_login(StaffUserFactory(username="bench-admin", roles=["Administrator"]))
        month = today - timedelta(days=29)
        year = (today - timedelta(days=DAYS - 1)).isoformat()
        raw = {
            "/": lambda: sales_by_day(month, today),
            "/reports/acquisition/": lambda: acquisition(month, today),
            "/reports/ropo/": lambda: ropo(month, today, days=30),
            "/reports/ropo/?since=" + year: lambda: ropo(today - timedelta(days=DAYS - 1), today),
            "/reports/journeys/": lambda: channel_journeys(month, today, days=30),
            "/reports/journeys/?days=7": lambda: channel_journeys(month, today, days=7),
            # Monthly cohorts of the last twelve months (the page's default period).
            "/reports/retention/": lambda: retention_from_counts(
                cohort_counts(today.replace(day=1) - timedelta(days=335), today)
            ),
            "/reports/support/?since=" + year: lambda: support_over_time(
                today - timedelta(days=DAYS - 1), today
            ),
        }
        pages = [*raw, "/reports/returns/", "/reports/campaigns/", "/reports/support/",
                 "/api/v1/reports/ropo", "/api/v1/reports/journeys",
                 "/api/v1/reports/acquisition", "/api/v1/reports/retention",
                 "/api/v1/reports/support", "/api/v1/reports/campaigns"]  # fmt: skip
        results = []
        for path in pages:

            def get(path=path):
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)

            figure = timed_ms(get)
            if path in os.environ.get("BENCH_PROFILE", "").split(","):
                import cProfile
                import pstats

                profiler = cProfile.Profile()
                profiler.runcall(get)
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
            results.append(report(f"page {path}", figure, "ms", TARGET_MS))
            if path in raw:
                scan = timed_ms(raw[path], repeat=1)
                print(f"     raw scan it replaced: {scan:,.0f} ms ({scan / figure:.1f}x the page)")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
