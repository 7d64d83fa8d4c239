"""Benchmark: event ingest through /api/v1/batch against raw COPY, and merging identify.

On PostgreSQL only (DATABASE_URL=postgres://...); it works in a throwaway test database
(test_<name>, created and dropped here), never the demo database.

1. 100,000 track events for 10,000 customers (each named by email and cookie) are sent
   through POST /api/v1/batch in batches of 500, in-process through Django's test client:
   the whole door (API key auth, scopes, idempotency middleware, msgspec validation,
   identity resolution, event insert, lifetime figures) without HTTP parsing. Two batches
   are in flight at once (--senders), each from its own thread and database connection, as
   two web workers serve a partner's bulk upload on this 2-core machine: one request's
   Python then runs while the other's statements run in PostgreSQL. Figure: events per
   second end to end. Then 20,000 more events go one batch at a time, for the figure a
   single sender that waits for every answer sees (bound by one request's latency).
2. The same 100,000 rows are written straight into the (emptied) events table with psycopg
   COPY, in the same run: the ceiling, compared like with like. The one sender against ONE
   COPY stream, and the two senders against TWO concurrent COPY streams (each half of the
   rows, from its own thread and connection). Both ratios are printed and each is judged:
   target, the batch API reaches a quarter of its COPY.
3. 300 identify calls that each merge an anonymous visitor (cookie, with an event) into a
   known customer (email, 10 events): median and 99th percentile. Target: median < 20 ms.
4. The same number of events for as many new customers, as Segment messages through
   POST /v1/batch (customers.segment: its mapping onto the same batch ingest), beside part
   1's /api/v1/batch on the same shape of data (first sight of each customer, email and
   cookie, same event names and batch size, same senders). Target: Segment's door within
   10 % of ours (ratio at least 0.9).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/omni .venv/bin/python bench/ingest.py

Profiling one part: BENCH_INGEST_PARTS=1,2 runs parts 1 and 2 only (part 1 always runs: the
others need its customers); --events/--customers make the run smaller.
"""

import argparse
import gc
import json
import os
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta

from _harness import percentile, report, throwaway_database

BATCH = 500
EVENT_NAMES = [
    ("product_viewed", lambda i: {"sku": f"SKU-{i % 300}", "price": 49.9}),
    ("page_viewed", lambda i: {"path": f"/shoes/{i % 50}"}),
    ("product_added_to_cart", lambda i: {"sku": f"SKU-{i % 300}", "quantity": 1}),
    ("product_searched", lambda i: {"query": "running shoes"}),
    ("wishlist_added", lambda i: {"product_id": i % 300}),
]
CHANNELS = ["web", "app", "store", "instagram"]


def items_for(events, customers, start, first=0):
    items = []
    for number in range(first, first + events):
        person = number % customers
        name, properties = EVENT_NAMES[number % len(EVENT_NAMES)]
        items.append(
            {
                "type": "track",
                "identities": [
                    {"kind": "email", "value": f"bench{person}@example.com"},
                    {"kind": "cookie", "value": f"bench-cookie-{person}"},
                ],
                "event": name,
                "properties": properties(number),
                "channel": CHANNELS[number % len(CHANNELS)],
                "message_id": f"bench-{number}",
                "occurred_at": (start + timedelta(seconds=number)).isoformat(),
            }
        )
    return items


def post(client, path, body):
    return client.post(path, body, content_type="application/json")


def segment_messages(events, customers, start, first=0):
    """Part 1's events as a Segment SDK sends them (new people: `seg` emails and cookies)."""
    names = {
        "product_viewed": "Product Viewed",
        "page_viewed": None,
        "product_added_to_cart": "Product Added",
        "product_searched": "Products Searched",
        "wishlist_added": "Product Added to Wishlist",
    }
    messages = []
    for number in range(first, first + events):
        person = number % customers
        name, properties = EVENT_NAMES[number % len(EVENT_NAMES)]
        message = {
            "type": "track" if names[name] else "page",
            "anonymousId": f"seg-cookie-{person}",
            "properties": properties(number),
            "context": {
                "traits": {"email": f"seg{person}@example.com"},
                "campaign": {"source": CHANNELS[number % len(CHANNELS)]},
            },
            "messageId": f"seg-{number}",
            "timestamp": (start + timedelta(seconds=number)).isoformat(),
        }
        if names[name]:
            message["event"] = names[name]
        messages.append(message)
    return messages


def _api_body(chunk):
    return {"items": chunk}


def _segment_body(chunk):
    return {"batch": chunk, "sentAt": datetime.now(UTC).isoformat()}


def _api_stored(response, chunk):
    return response.json()["stored"]


def _segment_stored(response, chunk):
    return len(chunk) - len(response.json().get("errors", []))


def run_batches(auth, items, senders, path="/api/v1/batch", wrap=_api_body, stored_of=_api_stored):
    """Send the items in batches of BATCH from `senders` threads at once, each with its own
    test client and database connection, as that many web workers would serve them.
    Returns (events stored, wall seconds, this process's CPU seconds)."""
    from django.db import connection
    from django.test import Client

    chunks = [items[at : at + BATCH] for at in range(0, len(items), BATCH)]
    bodies = [(json.dumps(wrap(chunk)).encode(), chunk) for chunk in chunks]
    # The benchmark's own 100,000 prepared items would otherwise be walked by every full
    # garbage collection during the run, charging the server for the client's memory.
    gc.collect()
    gc.freeze()
    queue = iter(bodies)  # next() on a list iterator is atomic under the GIL
    stored, failures, lock = [0], [], threading.Lock()

    def sender():
        client = Client(HTTP_AUTHORIZATION=auth)
        try:
            for body, chunk in queue:
                response = post(client, path, body)
                if response.status_code != 200:
                    failures.append(response.content[:500])
                    return
                with lock:
                    stored[0] += stored_of(response, chunk)
        finally:
            if senders > 1:
                connection.close()  # this thread's own connection

    started, cpu_started = time.perf_counter(), time.process_time()
    if senders == 1:
        sender()
    else:
        threads = [threading.Thread(target=sender) for _ in range(senders)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    assert not failures, failures[0]
    return stored[0], elapsed, cpu


def copy_rows(items, channel_ids):
    """The items as rows of the events table, prepared before any COPY is timed."""
    from customers.models import Identity

    customer_of = dict(
        Identity.objects.filter(kind="email").values_list("value", "customer_id").iterator()
    )
    now = datetime.now(UTC)
    return [
        (
            customer_of[item["identities"][0]["value"]],
            item["event"],
            channel_ids[item["channel"]],
            item["occurred_at"],
            now,
            json.dumps(item["properties"]),
            "bench-copy",
            item["message_id"],
        )
        for item in items
    ]


def run_copy(rows, streams):
    """The rows straight into the emptied events table by COPY, split over `streams`
    concurrent COPY statements, each from its own thread and database connection (as the
    API's senders each have theirs). Returns (rows in the table, wall seconds)."""
    from django.db import connection

    from customers.models import Event

    table = Event._meta.db_table
    columns = (
        "customer_id, name, channel_id, occurred_at, received_at, properties, source, message_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table}")  # noqa: S608 (our own table name)
    parts = [rows[index::streams] for index in range(streams)]
    ready = threading.Barrier(streams + 1)
    failures = []

    def stream(part):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")  # connected before the clock starts
                ready.wait()
                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in part:
                        copy.write_row(row)
        except Exception as error:  # reported below; the barrier must not hang
            failures.append(error)
            ready.abort()
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=stream, args=(part,)) for part in parts]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    assert not failures, failures[0]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
        (count,) = cursor.fetchone()
    return count, elapsed


def run_merging_identifies(client, merges, customers):
    from customers.models import CustomerMerge

    visitors = [
        {
            "type": "track",
            "identities": [{"kind": "cookie", "value": f"visitor-{k}"}],
            "event": "page_viewed",
            "channel": "app",
            "message_id": f"visitor-{k}",
        }
        for k in range(merges)
    ]
    assert post(client, "/api/v1/batch", json.dumps({"items": visitors})).status_code == 200
    before = CustomerMerge.objects.count()
    samples = []
    for k in range(merges):
        person = (k * 31) % customers
        body = json.dumps(
            {
                "identities": [
                    {"kind": "cookie", "value": f"visitor-{k}"},
                    {"kind": "email", "value": f"bench{person}@example.com"},
                ],
                "traits": {"first_name": f"Person {person}"},
            }
        )
        started = time.perf_counter()
        response = post(client, "/api/v1/identify", body)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content[:500]
    merged = CustomerMerge.objects.count() - before
    assert merged == merges, f"expected {merges} merges, saw {merged}"
    return samples


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--merges", type=int, default=300)
    parser.add_argument(
        "--senders",
        type=int,
        default=2,
        help="batches in flight at once (default 2: one per core, as `gunicorn --workers 2`)",
    )
    parser.add_argument(
        "--single-events",
        type=int,
        default=20_000,
        help="events then sent by one sender alone, for the latency-bound figure (0: skip)",
    )
    args = parser.parse_args()
    if args.senders < 1:
        parser.error("--senders must be at least 1")
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        print("SKIP bench/ingest.py measures PostgreSQL: set DATABASE_URL=postgres://...")
        return 0
    parts = {"1", *os.environ.get("BENCH_INGEST_PARTS", "1,2,3,4").replace(" ", "").split(",")}

    with throwaway_database() as connection:
        from django.test import Client

        from core.factories import demo_channels
        from core.services.api_keys import create_api_key

        channels = {channel.code: channel.pk for channel in demo_channels()}
        _key, raw = create_api_key("bench", ["customers:write"], rate="100000000/min")
        auth = f"Bearer {raw}"
        client = Client(HTTP_AUTHORIZATION=auth)
        start = datetime.now(UTC) - timedelta(days=2)
        items = items_for(args.events, args.customers, start)
        print(
            f"database: {connection.vendor} {connection.settings_dict['NAME']}; "
            f"{args.events:,} track events for {args.customers:,} customers, batches of {BATCH}, "
            f"{args.senders} in flight at once, in-process through Django's test client"
        )

        stored, api_seconds, api_cpu = run_batches(auth, items, args.senders)
        assert stored == args.events, f"stored {stored} of {args.events}"
        api_rate = stored / api_seconds
        ok = True
        print(
            f"batch API: {stored:,} events in {api_seconds:.1f} s ({api_cpu:.1f} s of this process's "
            f"CPU, {stored / api_cpu:.0f} events per CPU second); "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
        single_rate = None
        if args.single_events:
            # New events for the same (now known) customers, one batch at a time: each waits
            # for the last, so the figure is bound by one request's latency.
            more = items_for(args.single_events, args.customers, start, first=args.events)
            single, single_seconds, _cpu = run_batches(auth, more, 1)
            assert single == args.single_events, f"stored {single} of {args.single_events}"
            single_rate = single / single_seconds
        if "2" in parts:
            # Like with like: one sender against one COPY stream, and the senders in flight
            # at once against as many concurrent COPY streams, each from its own connection.
            rows = copy_rows(items, channels)
            comparisons = [(args.senders, api_rate)]
            if single_rate and args.senders > 1:
                comparisons.insert(0, (1, single_rate))
            for senders, rate in comparisons:
                copied, copy_seconds = run_copy(rows, senders)
                assert copied == args.events, f"COPY stored {copied} of {args.events}"
                copy_rate = copied / copy_seconds
                streams = (
                    "one COPY stream" if senders == 1 else f"{senders} concurrent COPY streams"
                )
                who = "one sender" if senders == 1 else f"{senders} senders"
                print(
                    f"     {who}: {rate:>10.0f} ev/s; {streams}: {copied:,} rows in "
                    f"{copy_seconds:.2f} s, {copy_rate:.0f} rows/s (the ceiling)"
                )
                ok &= report(
                    f"batch API / COPY, {who} vs {streams.replace('concurrent ', '')}",
                    rate / copy_rate,
                    "ratio",
                    0.25,
                    lower_is_better=False,
                )
        else:
            print(f"     batch API events/s (end to end)             {api_rate:>10.0f} ev/s")
        if "3" in parts:
            samples = run_merging_identifies(client, args.merges, args.customers)
            median = statistics.median(samples) * 1000
            ok &= report("merging identify, median", median, "ms", 20)
            print(
                f"     merging identify, 99th percentile           {percentile(samples, 0.99) * 1000:>10.2f} ms ({len(samples)} calls)"
            )
        if "4" in parts:
            import base64

            basic = "Basic " + base64.b64encode(f"{raw}:".encode()).decode()
            messages = segment_messages(args.events, args.customers, start)
            seg_stored, seg_seconds, _cpu = run_batches(
                basic, messages, args.senders, "/v1/batch", _segment_body, _segment_stored
            )
            assert seg_stored == args.events, f"stored {seg_stored} of {args.events}"
            segment_rate = seg_stored / seg_seconds
            print(
                f"     Segment /v1/batch: {seg_stored:,} events in {seg_seconds:.1f} s, "
                f"{segment_rate:.0f} ev/s, against /api/v1/batch {api_rate:.0f} ev/s (part 1)"
            )
            ok &= report(
                "Segment /v1/batch / our /api/v1/batch",
                segment_rate / api_rate,
                "ratio",
                0.9,
                lower_is_better=False,
            )
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
