"""Stock: available-to-promise look-ups for 1,000 SKUs across 50 locations (one SKU, and all
1,000 at once, through the selector and through the API door), and reservations per second
from 16 concurrent clients on one hot SKU, with the oversell count (must be 0).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/omni_bench .venv/bin/python bench/stock.py

Targets (issue 6): a single look-up under 5 ms at the median; 1,000 SKUs under 200 ms.
The movement-batch targets (1 s per 1,000 items, half that for a replay) are ours: a store
POS sends a day's sales in a few seconds at most.
Reservations need PostgreSQL (real row locks and concurrent connections); on SQLite that
part is skipped with a note.
"""

import json
import random
import threading
import time

from _harness import median_ms, percentile, report, throwaway_database, timed

SKUS = 1000
STORES, WAREHOUSES = 40, 10
LOOKUPS = 500
BULK_REPEAT = 30
CLIENTS = 16
HOT_UNITS = 400
ATTEMPTS_PER_CLIENT = 60


def build(connection):
    from catalog.factories import ProductFactory
    from catalog.models import ProductVariant
    from core.factories import ChannelFactory
    from inventory.factories import ChannelStockRuleFactory, LocationFactory, WarehouseFactory
    from inventory.models import StockLevel

    web = ChannelFactory(code="web", kind="web")
    ChannelStockRuleFactory(channel=web, buffer_percent=90)
    rnd = random.Random(6)
    locations = [
        LocationFactory(
            code=f"store-{n}",
            latitude=35 + rnd.random() * 5,
            longitude=46 + rnd.random() * 13,
            channels=[web],
        )
        for n in range(STORES)
    ] + [WarehouseFactory(code=f"wh-{n}", channels=[web]) for n in range(WAREHOUSES)]
    products = ProductFactory.create_batch(SKUS // 10)
    variants = ProductVariant.objects.bulk_create(
        [
            ProductVariant(product=products[n // 10], sku=f"BENCH-{n:05d}", position=n % 10)
            for n in range(SKUS)
        ]
    )
    StockLevel.objects.bulk_create(
        [
            StockLevel(
                variant=variant,
                location=location,
                on_hand=rnd.randint(0, 20),
                reserved=rnd.randint(0, 2),
                safety_stock=rnd.choice([0, 0, 1]),
            )
            for variant in variants
            for location in locations
        ],
        batch_size=5000,
    )
    # reserved must not exceed on hand in a sane dataset
    from django.db.models import F

    StockLevel.objects.filter(reserved__gt=F("on_hand")).update(reserved=F("on_hand"))
    return web, variants, locations


def lookups(web, variants):
    from django.test import Client

    from core.services.api_keys import create_api_key
    from inventory.selectors import available_to_promise, available_to_promise_by_sku

    rnd = random.Random(1)
    skus = [v.sku for v in variants]

    def one_selector():
        units, unknown = available_to_promise_by_sku([rnd.choice(skus)], web)
        assert len(units) == 1 and not unknown

    _key, raw = create_api_key("bench", ["inventory:read"])
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    def one_api():
        response = client.get(f"/api/v1/availability?sku={rnd.choice(skus)}&channel=web")
        assert response.status_code == 200, response.content

    ids = [v.pk for v in variants]
    body = {"channel": "web", "skus": skus}

    def bulk_api():
        response = client.post("/api/v1/availability/bulk", body, content_type="application/json")
        assert response.status_code == 200 and len(response.json()["items"]) == SKUS

    def floor():
        assert client.get("/api/v1/me").status_code == 200

    for warm in (one_selector, one_api, bulk_api, floor):
        warm()
    print(
        f"     an authenticated no-op API request (GET /api/v1/me) median: "
        f"{median_ms(timed(floor, LOOKUPS)):.2f} ms (the door's own cost)"
    )
    single = timed(one_selector, LOOKUPS)
    single_api = timed(one_api, LOOKUPS)
    bulk = timed(lambda: available_to_promise(ids, web), BULK_REPEAT)
    bulk_door = timed(bulk_api, BULK_REPEAT)
    return [
        report("single ATP look-up (SKU -> units), selector, median", median_ms(single), "ms", 5),
        report(
            "single ATP look-up, GET /api/v1/availability, median", median_ms(single_api), "ms", 5
        ),
        report(
            "single ATP look-ups per second (API, one client)",
            1 / (sum(single_api) / len(single_api)),
            "/s",
            200,
            lower_is_better=False,
        ),
        report("single ATP look-up, API p99", percentile(single_api, 0.99) * 1000, "ms", 20),
        report("bulk ATP, 1,000 SKUs x 50 locations, selector, median", median_ms(bulk), "ms", 200),
        report(
            "bulk ATP, POST /api/v1/availability/bulk (1,000), median",
            median_ms(bulk_door),
            "ms",
            200,
        ),
    ]


def movement_batches(variants, locations):
    """A POS/warehouse batch of 1,000 sales through the API door, and its replay."""
    import datetime as dt

    from django.test import Client
    from django.utils import timezone

    from core.services.api_keys import create_api_key

    _key, raw = create_api_key("bench pos", ["inventory:write"])
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    rnd = random.Random(3)
    when = (timezone.now() - dt.timedelta(minutes=5)).isoformat()
    batches = []
    for number in range(6):
        batches.append(
            json.dumps(
                {
                    "movements": [
                        {
                            "sku": rnd.choice(variants).sku,
                            "location": rnd.choice(locations).code,
                            "reason": "sale",
                            "quantity": -1,
                            "occurred_at": when,
                            "idempotency_key": f"bench-{number}-{n}",
                        }
                        for n in range(1000)
                    ]
                }
            )
        )
    pending = iter(batches)

    def post_new():
        response = client.post(
            "/api/v1/stock/movements", next(pending), content_type="application/json"
        )
        assert response.status_code == 200 and response.json()["applied"] == 1000

    def replay():
        response = client.post(
            "/api/v1/stock/movements", batches[0], content_type="application/json"
        )
        assert response.json()["duplicates"] == 1000

    fresh = timed(post_new, len(batches))
    replays = timed(replay, 5)
    return [
        report("POST /api/v1/stock/movements, 1,000 sales, median", median_ms(fresh), "ms", 1000),
        report("the same batch replayed (changes nothing), median", median_ms(replays), "ms", 500),
    ]


def reservations(connection, variants, locations):
    from django.db import connection as thread_connection

    from inventory.errors import InsufficientStock
    from inventory.models import Reservation, StockLevel
    from inventory.services import reserve

    if connection.vendor != "postgresql":
        print("SKIP reservations under concurrency: needs PostgreSQL (set DATABASE_URL)")
        return []
    hot, store = variants[0], locations[0]
    StockLevel.objects.filter(variant=hot, location=store).update(
        on_hand=HOT_UNITS, reserved=0, safety_stock=0
    )
    barrier = threading.Barrier(CLIENTS)
    successes, refusals, errors = [], [], []

    def client():
        try:
            barrier.wait()
            for _ in range(ATTEMPTS_PER_CLIENT):
                try:
                    reserve(variant=hot, quantity=1, location=store.code, reference="bench")
                    successes.append(1)
                except InsufficientStock:
                    refusals.append(1)
        except Exception as error:  # noqa: BLE001 (reported, not hidden)
            errors.append(repr(error))
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    level = StockLevel.objects.get(variant=hot, location=store)
    held = Reservation.objects.filter(variant=hot, location=store, status="active").count()
    oversell = max(0, len(successes) - HOT_UNITS) + max(0, level.reserved - level.on_hand)
    attempts = len(successes) + len(refusals)
    print(
        f"     {CLIENTS} clients x {ATTEMPTS_PER_CLIENT} attempts on one SKU with {HOT_UNITS} "
        f"units: {len(successes)} reserved, {len(refusals)} refused, {len(errors)} errors, "
        f"level reserved {level.reserved}/{level.on_hand}, {held} active reservations"
    )
    if errors:
        print("     first error:", errors[0])
    return [
        report(
            "reservation attempts per second, 16 clients, one hot SKU",
            attempts / elapsed,
            "/s",
            200,
            lower_is_better=False,
        ),
        report("oversold units (must be 0)", oversell, "units", 0),
        report(
            "exactly the available units reserved (missing)", HOT_UNITS - len(successes), "units", 0
        ),
        report("errors other than insufficient stock", len(errors), "", 0),
    ]


def main():
    with throwaway_database() as connection:
        start = time.perf_counter()
        web, variants, locations = build(connection)
        print(
            f"database: {connection.vendor}; {SKUS} SKUs x {len(locations)} locations "
            f"({SKUS * len(locations)} stock levels) built in {time.perf_counter() - start:.1f}s"
        )

        def round_trip():
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")

        print(
            f"     one database round trip (SELECT 1) median: "
            f"{median_ms(timed(round_trip, 200)):.2f} ms (the floor under every figure below)"
        )
        results = (
            lookups(web, variants)
            + movement_batches(variants, locations)
            + reservations(connection, variants, locations)
        )
        print("all targets met" if all(results) else "some targets missed")
        return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
