"""Stock: available-to-promise look-ups for 1,000 SKUs across 50 locations (one SKU, and all
1,000 at once, through the selector and through the API door), and reservations per second
on one hot SKU from 16 separate processes (as web workers are: each its own interpreter,
`django.setup()` and connection) calling `inventory.services.reserve`, against the same
guarded UPDATE + reservation INSERT sent raw from as many psycopg processes in the same run;
then a short phase on scarce stock counts oversold units (must be 0). Before the race, one
reservation's cost in one process alone (reserve() and the raw pair: wall time and the
client's CPU) shows what the service adds per call before contention multiplies it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/omni_bench .venv/bin/python bench/stock.py
        [--processes 16] [--seconds 5] [--hot-only]

Targets (issue 6): a single look-up under 5 ms at the median; 1,000 SKUs under 200 ms.
The movement-batch targets (1 s per 1,000 items, half that for a replay) are ours: a store
POS sends a day's sales in a few seconds at most.
Reservations need PostgreSQL (real row locks and concurrent connections); on SQLite that
part is skipped with a note. Target (issue 21): the service reaches at least half the raw
rate, and never oversells.
"""

import argparse
import json
import random
import time

from _harness import median_ms, percentile, report, throwaway_database, timed

SKUS = 1000
STORES, WAREHOUSES = 40, 10
LOOKUPS = 500
BULK_REPEAT = 30
PROCESSES = 16
HOT_SECONDS = 5.0
HOT_UNITS = 400
ROUNDS = 3  # raw and service take turns this many times; their figures are the sums
AMPLE_UNITS = 10_000_000  # never runs out in the timed phase (a refusal there is reported)


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


def _service_worker(database, hot_sku, own_sku, location_code, seconds, attempts, gate, results):
    """One web worker: its own interpreter, `django.setup()` and its own connection, calling
    the real `reserve()` as the API door does. Each phase starts when the parent opens the
    gate: the hot SKU with ample stock, `seconds` in all over ROUNDS slices (taking turns
    with the raw workers); the worker's own SKU for a slice (no lock shared with anyone:
    what the machine allows without the hot row); `attempts` tries on the hot SKU with
    scarce stock."""
    import logging

    import django
    from django.conf import settings

    django.setup()
    from django.db import connection

    from inventory.errors import InsufficientStock
    from inventory.services import reserve

    logging.disable(logging.WARNING)
    settings.DEBUG = False  # as in production: no query log growing in the loop
    connection.settings_dict["NAME"] = database

    def attempt(tally, sku):
        try:
            reserve(sku=sku, quantity=1, location=location_code, channel="web", reference="hot")
            tally["reserved"] += 1
        except InsufficientStock:
            tally["refused"] += 1
        except Exception as error:  # noqa: BLE001 (reported, not hidden)
            tally["errors"] += 1
            tally["first_error"] = tally["first_error"] or repr(error)

    connection.ensure_connection()
    phases = [("ample", hot_sku)] * ROUNDS + [("spread", own_sku), ("scarce", hot_sku)]
    for phase, sku in phases:
        tally = {"phase": phase, "reserved": 0, "refused": 0, "errors": 0, "first_error": ""}
        gate.wait()
        start = time.perf_counter()
        if phase == "scarce":
            for _ in range(attempts):
                attempt(tally, sku)
        else:
            while time.perf_counter() - start < seconds / ROUNDS:
                attempt(tally, sku)
        tally["elapsed"] = time.perf_counter() - start
        results.put(tally)
    connection.close()


def _raw_worker(conninfo, statements, seconds, gate, results):
    """The floor: the same guarded UPDATE and reservation INSERT from plain psycopg, one
    transaction per reservation, no ORM and no service around them."""
    import psycopg

    update, update_params, insert, insert_params = statements
    with psycopg.connect(**conninfo) as conn:
        for _round in range(ROUNDS):
            tally = {"phase": "raw", "reserved": 0, "refused": 0, "errors": 0, "first_error": ""}
            gate.wait()
            start = time.perf_counter()
            while time.perf_counter() - start < seconds / ROUNDS:
                try:
                    with conn.transaction(), conn.cursor() as cursor:
                        cursor.execute(update, update_params)
                        if cursor.rowcount == 1:
                            cursor.execute(insert, insert_params)
                            tally["reserved"] += 1
                        else:
                            tally["refused"] += 1
                except psycopg.Error as error:
                    tally["errors"] += 1
                    tally["first_error"] = tally["first_error"] or repr(error)
            tally["elapsed"] = time.perf_counter() - start
            results.put(tally)


def _collect(results, processes):
    tallies = [results.get(timeout=60) for _ in range(processes)]
    total = {key: sum(t[key] for t in tallies) for key in ("reserved", "refused", "errors")}
    total["elapsed"] = max(t["elapsed"] for t in tallies)
    total["first_error"] = next((t["first_error"] for t in tallies if t["first_error"]), "")
    return total


def _combine(slices):
    """The slices of one path added up: units over the time its slices took."""
    total = {key: sum(s[key] for s in slices) for key in ("reserved", "refused", "errors")}
    total["elapsed"] = sum(s["elapsed"] for s in slices)
    total["first_error"] = next((s["first_error"] for s in slices if s["first_error"]), "")
    return total


def _raw_statements(connection, hot, store):
    """Run `reserve` once, capture the SQL it sends, and build the raw pair from it: the
    guarded UPDATE as the service words it, and an INSERT of the same reservation columns."""
    import re

    from django.test.utils import CaptureQueriesContext
    from psycopg import sql

    from inventory.models import Reservation, StockLevel
    from inventory.services import reserve

    with CaptureQueriesContext(connection) as captured:
        made = reserve(sku=hot.sku, quantity=1, location=store.code, channel="web", reference="hot")
    print(f"     reserve() sends {len(captured)} statements (captured once):")
    for query in captured:
        print(f"       {query['sql'][:150]}")
    sqls = [query["sql"] for query in captured]
    guarded = next(s for s in sqls if s.startswith(f'UPDATE "{StockLevel._meta.db_table}"'))
    written = next(s for s in sqls if s.startswith(f'INSERT INTO "{Reservation._meta.db_table}"'))
    assert '"on_hand" >=' in guarded and '"reserved"' in guarded, guarded
    columns = re.findall(r'"(\w+)"', written.split(") VALUES")[0])[1:]
    fields = {f.column: f for f in Reservation._meta.concrete_fields}
    values = [
        fields[c].get_db_prep_save(getattr(made, fields[c].attname), connection) for c in columns
    ]
    insert = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING id").format(
        sql.Identifier(Reservation._meta.db_table),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(sql.Placeholder() * len(columns)),
    )
    update = sql.SQL(
        "UPDATE {} SET reserved = reserved + 1, updated_at = now() WHERE variant_id = %s"
        " AND location_id = %s AND on_hand >= reserved + safety_stock + 1"
    ).format(sql.Identifier(StockLevel._meta.db_table))
    made.delete()
    StockLevel.objects.filter(variant=hot, location=store).update(reserved=0)
    return update.as_string(), [hot.pk, store.pk], insert.as_string(), values


def _one_process_costs(connection, hot, store, statements, conninfo, repeat=300):
    """What one reservation costs the client with nothing else running, reserve() and the
    raw pair each: the Python the service adds shows here before any contention does."""
    import psycopg

    from inventory.models import Reservation, StockLevel
    from inventory.services import reserve

    def per_call(call):
        for _ in range(repeat // 10):
            call()
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(repeat):
            call()
        return (
            (time.perf_counter() - wall) / repeat * 1000,
            (time.process_time() - cpu) / repeat * 1000,
        )

    service = per_call(
        lambda: reserve(sku=hot.sku, quantity=1, location=store.code, channel="web", reference="x")
    )
    update, update_params, insert, insert_params = statements
    with psycopg.connect(**conninfo) as conn:

        def raw():
            with conn.transaction(), conn.cursor() as cursor:
                cursor.execute(update, update_params)
                cursor.execute(insert, insert_params)

        floor = per_call(raw)
    Reservation.objects.filter(variant=hot, location=store).delete()
    StockLevel.objects.filter(variant=hot, location=store).update(reserved=0)
    print(
        f"     one process alone, per reservation: reserve() {service[0]:.2f} ms "
        f"({service[1]:.2f} ms of it the client's CPU), raw pair {floor[0]:.2f} ms "
        f"({floor[1]:.2f} ms client CPU)"
    )


def reservations(connection, variants, locations, processes, seconds):
    """Reservations per second on one hot SKU from `processes` separate processes (as web
    workers are), through the service and raw, then oversell on scarce stock."""
    import multiprocessing

    from inventory.models import Reservation, StockLevel

    if connection.vendor != "postgresql":
        print("SKIP reservations under concurrency: needs PostgreSQL (set DATABASE_URL)")
        return []
    hot, store = variants[0], locations[0]
    level = StockLevel.objects.filter(variant=hot, location=store)
    StockLevel.objects.filter(variant__in=variants[: processes + 1], location=store).update(
        on_hand=AMPLE_UNITS, reserved=0, safety_stock=0
    )
    statements = _raw_statements(connection, hot, store)
    database = connection.settings_dict["NAME"]
    settings = connection.settings_dict
    conninfo = {
        key: value
        for key, value in {
            "dbname": database,
            "host": settings["HOST"],
            "port": settings["PORT"],
            "user": settings["USER"],
            "password": settings["PASSWORD"],
        }.items()
        if value
    }
    _one_process_costs(connection, hot, store, statements, conninfo)
    # spawn: each worker is a fresh interpreter, as a web worker is; nothing is shared
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    attempts = -(-HOT_UNITS * 8 // 5 // processes)  # 1.6x the units, spread over the workers

    # Both sets of workers start first and then take turns, slice by slice, on the same
    # row: a machine whose load changes during the run weighs on both figures alike.
    raw_gate, gate = context.Barrier(processes + 1), context.Barrier(processes + 1)
    raw = [
        context.Process(target=_raw_worker, args=(conninfo, statements, seconds, raw_gate, results))
        for _ in range(processes)
    ]
    workers = [
        context.Process(
            target=_service_worker,
            args=(database, hot.sku, own.sku, store.code, seconds, attempts, gate, results),
        )
        for own in variants[1 : processes + 1]
    ]
    for worker in raw + workers:
        worker.start()
    raw_slices, service_slices = [], []
    for _round in range(ROUNDS):
        raw_gate.wait()
        raw_slices.append(_collect(results, processes))
        gate.wait()
        service_slices.append(_collect(results, processes))
    for worker in raw:
        worker.join()
    floor, ample = _combine(raw_slices), _combine(service_slices)
    raw_rate = floor["reserved"] / floor["elapsed"]
    service_rate = ample["reserved"] / ample["elapsed"]
    gate.wait()
    spread = _collect(results, processes)
    spread_rate = spread["reserved"] / spread["elapsed"]

    level.update(on_hand=HOT_UNITS, reserved=0)
    Reservation.objects.filter(variant=hot, location=store).delete()
    gate.wait()
    scarce = _collect(results, processes)
    for worker in workers:
        worker.join()
    after = level.get()
    held = Reservation.objects.filter(variant=hot, location=store, status="active").count()
    oversell = max(
        scarce["reserved"] - HOT_UNITS, after.reserved - after.on_hand, held - HOT_UNITS, 0
    )
    print(
        f"     raw: {processes} psycopg processes x {seconds:g} s ({ROUNDS} slices), guarded UPDATE + INSERT a "
        f"transaction: {floor['reserved']} reserved, {floor['refused']} refused, "
        f"{floor['errors']} errors"
    )
    print(
        f"     service: {processes} processes x {seconds:g} s ({ROUNDS} slices, taking turns with "
        f"raw) calling reserve(): "
        f"{ample['reserved']} reserved, {ample['refused']} refused, {ample['errors']} errors; "
        f"{service_rate:.0f}/s against raw {raw_rate:.0f}/s = {service_rate / raw_rate:.2f} of raw"
    )
    print(
        f"     the same {processes} processes, each reserving its own SKU (no shared row lock): "
        f"{spread['reserved']} reserved, {spread_rate:.0f}/s; the hot SKU reaches "
        f"{service_rate / spread_rate:.2f} of it (what the hot row's lock costs the service)"
    )
    print(
        f"     scarce: {processes} processes x {attempts} attempts on {HOT_UNITS} units: "
        f"{scarce['reserved']} reserved, {scarce['refused']} refused, {scarce['errors']} errors, "
        f"level reserved {after.reserved}/{after.on_hand}, {held} active reservations"
    )
    for tally in (floor, ample, spread, scarce):
        if tally["first_error"]:
            print("     first error:", tally["first_error"])
    return [
        report(
            f"reserve() per second, {processes} processes, one hot SKU",
            service_rate,
            "/s",
            raw_rate * 0.5,
            lower_is_better=False,
        ),
        report(
            "reserve() rate as a share of raw (same run)",
            service_rate / raw_rate,
            "x",
            0.5,
            lower_is_better=False,
        ),
        report("ample stock ran out during the timed phase (refusals)", ample["refused"], "", 0),
        report("oversold units on scarce stock (must be 0)", oversell, "units", 0),
        report(
            "exactly the available units reserved (missing)",
            HOT_UNITS - scarce["reserved"],
            "units",
            0,
        ),
        report(
            "errors other than insufficient stock",
            floor["errors"] + ample["errors"] + spread["errors"] + scarce["errors"],
            "",
            0,
        ),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--processes", type=int, default=PROCESSES, help="worker processes on the hot SKU"
    )
    parser.add_argument(
        "--seconds", type=float, default=HOT_SECONDS, help="timed phase, service and raw each"
    )
    parser.add_argument(
        "--hot-only", action="store_true", help="only the hot-SKU race (skip look-ups, batches)"
    )
    options = parser.parse_args()
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
        results = [] if options.hot_only else lookups(web, variants)
        if not options.hot_only:
            results += movement_batches(variants, locations)
        results += reservations(connection, variants, locations, options.processes, options.seconds)
        print("all targets met" if all(results) else "some targets missed")
        return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
