"""The cost curve: batch ingest, a customer's timeline, a segment and the support inbox,
measured on the same database as its events table grows from empty to 1M and to 10M events.

On PostgreSQL only, in a throwaway test database (test_<name>, created and dropped here):

1. 1,000,000 known customers (an email each; 60 % opted in to email marketing, a tenth of
   them unsubscribed since), 20,000 support conversations, and 300 probe customers spread
   over the id range with 30 events each, their timelines then left alone: the probes' pages
   show the same rows at every step, so only the size of the table changes under them.
2. At each step (empty, then --events, cumulative), events are added by COPY straight into
   customers_event (secondary indexes dropped while loading and rebuilt after, foreign-key
   triggers off), spread over 24 months in arrival order, a realistic mix of names (3 %
   orders) on the demo channels, small JSON properties, unique message ids; one customer
   gets half a percent of them (a heavy timeline); then VACUUM ANALYZE, as autovacuum would.
3. Measured at each step:
   - batch ingest events/s through customers.services.ingest_batch (the service
     POST /api/v1/batch calls), batches of 500 tracks (nine in ten for known customers, one
     in ten from new cookie visitors), the median of 5 rounds; plus the API door's own
     figure through Django's test client (one sender);
   - a customer's timeline: GET /api/v1/customers/<id>/timeline (first page of 50) and the
     customer 360 page's timeline fragment (htmx, 25 a page), median and p95 over the
     probes, the median over as many random customers, and the heavy customer;
   - a segment over all customers as a campaign launch takes it (the member ids, ordered):
     an order in the last 90 days and opted in to email marketing, not unsubscribed;
   - the support inbox list as the staff page runs it (capped count, first page, tags,
     counts).

Targets: ingest events/s and the probes' timeline (median, API and 360 page) within 20 % of
their empty-table figure at the last step; every timeline page median under 20 ms (the heavy
customer's too); the segment under 3 s; the inbox list under 50 ms (bench/inbox.py's
target). Judged on the wall clock, as the targets are stated. Beside each ingest and timeline
figure the CPU it cost (this process plus its PostgreSQL backend, from /proc) is printed, and
its ratio to the empty table's: on a machine shared with other work the wall clock also
measures the neighbours, the CPU cost hardly. Exits 1 on a miss, printing the plans of the
queries involved (EXPLAIN ANALYZE; --explain prints them at every step).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/omni nice -n 5 .venv/bin/python bench/scale.py
    ... bench/scale.py --quick      # 100,000 customers, 100,000 then 1,000,000 events

The full run took 7 minutes on 2 cores (the 10M fill about 3 of them) and about 4 GB of disk.
"""

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from _harness import percentile, report, throwaway_database
from inbox import copy_rows, defaults_for, indexes_dropped, reset_sequence

BATCH = 500
INGEST_ROUNDS = 5
PROBES = 300
PROBE_EVENTS = 30
HEAVY_CUSTOMER = 1
HEAVY_SHARE = 0.005
CONVERSATIONS = 20_000
AGENTS = 8
MONTHS = 24
SEGMENT_RULES = {
    "all": [
        {"event": "order_completed", "within_days": 90},
        {"consent": "email", "purpose": "marketing"},
    ]
}
READY_MADE = "Researched online, bought in store"
# name -> (share in percent, channel codes, properties as JSON text given a number)
EVENT_MIX = {
    "page_viewed": (33, ("web", "app", "web-az"), lambda n: f'{{"path": "/c/{n % 400}"}}'),
    "product_viewed": (
        25,
        ("web", "app", "instagram", "marketplace"),
        lambda n: f'{{"sku": "SKU-{n % 5000}", "price": {5 + n % 300}.9}}',
    ),
    "product_searched": (7, ("web", "app"), lambda n: f'{{"query": "running shoes {n % 90}"}}'),
    "product_added_to_cart": (
        8,
        ("web", "app"),
        lambda n: f'{{"sku": "SKU-{n % 5000}", "quantity": {1 + n % 3}}}',
    ),
    "checkout_started": (3, ("web", "app"), lambda n: f'{{"cart_id": "K{n}"}}'),
    "order_completed": (
        3,
        ("web", "app", "store", "store", "marketplace"),
        lambda n: f'{{"order_id": "W-{n}", "total": {10 + n % 490}, "currency": "USD"}}',
    ),
    "message_opened": (10, ("email", "email", "sms"), lambda n: f'{{"campaign_id": {n % 60}}}'),
    "message_clicked": (3, ("email",), lambda n: f'{{"campaign_id": {n % 60}}}'),
    "store_visited": (4, ("store",), lambda n: f'{{"store_id": {n % 12}}}'),
    "wishlist_added": (4, ("web", "app"), lambda n: f'{{"product_id": {n % 5000}}}'),
}
EVENT_COLUMNS = [
    "customer_id",
    "name",
    "channel_id",
    "occurred_at",
    "received_at",
    "properties",
    "source",
    "message_id",
]
# Message ids as partners send them (random-looking, 36 characters) yet unique by
# construction: a counter times an odd constant, modulo 2**128, is a bijection.
SCRAMBLE = 0x9E3779B97F4A7C15F39CC0605CEDC835
MASK = (1 << 128) - 1


class Population:
    """Who the customers are: ids 1..count, the probes spread among them (never given
    events after their first 30), and the heavy customer."""

    def __init__(self, count):
        self.count = count
        self.step = max(count // PROBES, 2)
        self.half = self.step // 2
        self.probes = list(range(self.half, count + 1, self.step))[:PROBES]
        assert HEAVY_CUSTOMER not in self.probes

    def ordinary(self, r):
        """A customer id from a uniform number in [0, 1): neither a probe nor the heavy one."""
        customer = int(r * self.count) + 1
        if customer % self.step == self.half or customer == HEAVY_CUSTOMER:
            customer = customer + 1 if customer < self.count else customer - 1
        return customer


# --- loading -----------------------------------------------------------------------------


def load_people(population, rng, channels):
    """Customers, their email identities, marketing consents (granted, some withdrawn since)
    and support conversations, by COPY with indexes rebuilt afterwards."""
    from django.db import connection
    from django.utils import timezone

    from core.factories import StaffUserFactory
    from customers.models import Consent, Customer, Identity
    from support.models import Conversation, Team

    now = timezone.now()
    started = time.perf_counter()
    first_names = ["Sara", "Reza", "Ali", "Maryam", "Leyla", "Nina", "Omid", "Aysel", "John"]
    last_names = ["Rahimi", "Karimi", "Ahmadi", "Aliyeva", "Hosseini", "Smith", "Mammadov"]
    customer_given = ["id", "public_id", "first_name", "last_name", "is_anonymous", "created_at"]
    customer_defaults = defaults_for(Customer, set(customer_given))
    identity_given = ["customer_id", "kind", "value", "is_verified", "created_at"]
    identity_defaults = defaults_for(Identity, {"id", "customer", *identity_given})
    consent_given = ["customer_id", "channel_kind", "purpose", "status", "source", "recorded_at"]
    consent_defaults = defaults_for(Consent, {"id", "customer", *consent_given})
    count = population.count
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # no FK triggers while loading
    with indexes_dropped(Customer, Identity, Consent):
        copy_rows(
            Customer,
            (
                (i, uuid.UUID(int=rng.getrandbits(128), version=4), rng.choice(first_names),
                 rng.choice(last_names), False, now - timedelta(days=rng.uniform(1, 1100)),
                 *customer_defaults.values())
                for i in range(1, count + 1)
            ),
            [*customer_given, *customer_defaults],
        )  # fmt: skip
        copy_rows(
            Identity,
            (
                (i, "email", f"c{i}@example.com", False, now, *identity_defaults.values())
                for i in range(1, count + 1)
            ),
            [*identity_given, *identity_defaults],
        )

        def consents():
            for i in range(1, count + 1):
                if rng.random() < 0.6:
                    granted = now - timedelta(days=rng.uniform(30, 700))
                    yield (i, "email", "marketing", "granted", "signup", granted,
                           *consent_defaults.values())  # fmt: skip
                    if rng.random() < 0.1:  # an unsubscribe link followed since
                        withdrawn = granted + timedelta(days=rng.uniform(1, 25))
                        yield (i, "email", "marketing", "withdrawn", "unsubscribe", withdrawn,
                               *consent_defaults.values())  # fmt: skip

        copy_rows(Consent, consents(), [*consent_given, *consent_defaults])
    reset_sequence(Customer)

    agents = [
        StaffUserFactory(username=f"scale-agent{i}", roles=["Support agent"]) for i in range(AGENTS)
    ]
    teams = [Team.objects.create(name="Online"), Team.objects.create(name="Stores")]
    conversation_given = [
        "customer_id", "subject", "status", "priority", "team_id", "assignee_id",
        "started_channel_id", "last_inbound_channel_id", "channels_used", "created_at",
        "updated_at", "last_message_at", "sla_due_at", "resolved_at",
    ]  # fmt: skip
    conversation_defaults = defaults_for(Conversation, {"id", "customer", *conversation_given})
    statuses = ["open"] * 20 + ["pending"] * 5 + ["snoozed"] + ["resolved"] * 66 + ["closed"] * 8
    codes = ["email", "sms", "whatsapp", "telegram", "instagram", "store"]

    def conversations():
        for i in range(CONVERSATIONS):
            status = rng.choice(statuses)
            channel = channels[rng.choice(codes)]
            created = now - timedelta(minutes=rng.uniform(5, 60 * 24 * 90))
            last = created + timedelta(minutes=rng.uniform(1, 600))
            yield (
                population.ordinary(rng.random()), f"Question {i} about order W-{i}", status,
                rng.choice([1, 2, 2, 2, 3, 4]), rng.choice(teams).pk,
                rng.choice(agents).pk if rng.random() < 0.8 else None, channel.pk, channel.pk,
                f'["{channel.kind}"]', created, last, last,
                created + timedelta(minutes=rng.uniform(15, 1440)) if status == "open" else None,
                last + timedelta(hours=1) if status in ("resolved", "closed") else None,
                *conversation_defaults.values(),
            )  # fmt: skip

    with indexes_dropped(Conversation):
        copy_rows(Conversation, conversations(), [*conversation_given, *conversation_defaults])
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = DEFAULT")
    print(
        f"loaded {count:,} customers, {count:,} identities, their consents and "
        f"{CONVERSATIONS:,} conversations in {time.perf_counter() - started:.1f} s"
    )
    return agents


def partitioned_events():
    """core.partitioning's description of customers_event when the table is partitioned in
    this database (monthly partitions, message ids kept unique by a key table); None for a
    plain table."""
    try:
        from core.partitioning import TABLES, is_partitioned
    except ImportError:  # before the partitioning came in
        return None
    spec = TABLES.get("customers_event")
    return spec if spec and is_partitioned(spec.table) else None


def ensure_event_partitions(since, until):
    """The monthly partitions the fill writes into (it spans more months back than the
    migration makes), through the beat's own function; a plain table needs nothing."""
    if partitioned_events() is None:
        return
    from core.partitioning import add_months, ensure_partitions, month_start, months_ahead

    month = month_start(since)
    while month <= month_start(until):
        ensure_partitions(now=datetime(month.year, month.month, 1, tzinfo=UTC))
        month = add_months(month, months_ahead() + 1)


@contextmanager
def event_indexes_dropped():
    """Secondary indexes and unique constraints of customers_event (on a partitioned table:
    the parent's, which hold every partition's) and the message-id key table's dropped while
    loading, then the new rows' keys claimed in one statement and everything rebuilt: one
    sorted build is far cheaper than ten million index insertions."""
    from django.db import connection

    spec = partitioned_events()
    quote = connection.ops.quote_name
    tables = ["customers_event"] + ([spec.key_table] if spec else [])
    saved = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM customers_event")
        (last_id,) = cursor.fetchone()
        for table in tables:
            # The key table's primary key is its uniqueness; the event table's is kept.
            kinds = ["u", "p"] if table != "customers_event" else ["u"]
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conrelid = %s::regclass AND contype = ANY(%s)",
                [table, kinds],
            )
            constraints = cursor.fetchall()
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s"
                " AND schemaname = current_schema() AND indexname NOT IN"
                " (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
                [table, table],
            )
            indexes = cursor.fetchall()
            for name, _definition in constraints:
                cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
            for name, _definition in indexes:
                cursor.execute(f"DROP INDEX {quote(name)}")
            saved.append((table, constraints, indexes))
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        if spec:
            columns = ", ".join(quote(c) for c in spec.unique)
            cursor.execute(
                f"INSERT INTO {quote(spec.key_table)} ({columns}, row_id, at)"  # noqa: S608
                f" SELECT {columns}, id, {quote(spec.column)} FROM {quote(spec.table)}"
                " WHERE id > %s",
                [last_id],
            )
        for table, constraints, indexes in saved:
            for name, definition in constraints:
                cursor.execute(
                    f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}"
                )
            for _name, definition in indexes:
                # A partitioned table's index reads "ON ONLY <table>": built that way it
                # would cover no partition.
                cursor.execute(definition.replace(" ON ONLY ", " ON ", 1))
        cursor.execute("RESET maintenance_work_mem")


def event_lines(numbers, population, rng, channel_ids, start, span, *, customers=None):
    """Rows of the events table as COPY text, in chunks: event number n of `numbers` occurs
    at start + n/len * span (arrival order), for a random ordinary customer (one in
    1/HEAVY_SHARE for the heavy one), unless `customers` says whose it is."""
    names, channel_lists, property_pools = [], [], []
    for name, (share, codes, properties) in EVENT_MIX.items():
        pool = [properties(k) for k in range(997)]
        for _ in range(share):
            names.append(name)
            channel_lists.append([str(channel_ids[code]) for code in codes])
            property_pools.append(pool)
    assert len(names) == 100
    from customers.models import Event

    tail = "".join(
        f"\t{_copy_text(v)}" for v in defaults_for(Event, {"id", *EVENT_COLUMNS}).values()
    )
    begin = int(start.timestamp())
    first_day = begin // 86400
    days = [
        (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=d)).strftime("%Y-%m-%d ")
        for d in range(first_day, first_day + int(span.total_seconds()) // 86400 + 2)
    ]
    minutes = [f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60)]
    seconds = [f"{s:02d}+00" for s in range(60)]
    step = span.total_seconds() / len(numbers)
    rand = rng.random
    lines = []
    for position, number in enumerate(numbers):
        if customers is not None:
            customer = customers[position]
        elif rand() < HEAVY_SHARE:
            customer = HEAVY_CUSTOMER
        else:
            customer = population.ordinary(rand())
        kind = int(rand() * 100)
        channels = channel_lists[kind]
        pool = property_pools[kind]
        moment = begin + int((position + rand()) * step)
        day, second = divmod(moment, 86400)
        stamp = days[day - first_day] + minutes[second // 60] + seconds[second % 60]
        lines.append(
            f"{customer}\t{names[kind]}\t{channels[int(rand() * len(channels))]}\t{stamp}\t"
            f"{stamp}\t{pool[int(rand() * 997)]}\tbench-fill\t"
            f"srv-{(number * SCRAMBLE) & MASK:032x}{tail}\n"
        )
        if len(lines) == 20_000:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)


def _copy_text(value):
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


def copy_events(chunks):
    """The COPY text chunks into customers_event; returns the rows written."""
    from django.db import connection

    from customers.models import Event

    table = Event._meta.db_table
    written = 0
    with connection.cursor() as cursor:
        columns = ", ".join(EVENT_COLUMNS + list(defaults_for(Event, {"id", *EVENT_COLUMNS})))
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # noqa: S608
            for chunk in chunks:
                copy.write(chunk)
                written += chunk.count("\n")
    return written


def fill_events(count, first_number, population, rng, channel_ids, now):
    """`count` more events over the last MONTHS months, by COPY, indexes rebuilt after."""
    from django.db import connection

    span = timedelta(days=30.4 * MONTHS)
    ensure_event_partitions(now - span, now)
    numbers = range(first_number, first_number + count)
    with connection.cursor() as cursor:
        # A throwaway database: no foreign-key (nor key-claiming) trigger per row while
        # loading; the rows are consistent by construction and the keys are claimed in bulk.
        cursor.execute("SET session_replication_role = replica")
    started = time.perf_counter()
    with event_indexes_dropped():
        written = copy_events(event_lines(numbers, population, rng, channel_ids, now - span, span))
        copied = time.perf_counter() - started
    indexed = time.perf_counter() - started - copied
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = DEFAULT")
        vacuum_started = time.perf_counter()
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("ANALYZE customers_event")  # the parent's own statistics, if partitioned
        vacuumed = time.perf_counter() - vacuum_started
    assert written == count, f"wrote {written} of {count}"
    print(
        f"fill: {count:,} events by COPY in {copied:.1f} s ({count / copied:,.0f} rows/s), "
        f"keys and indexes rebuilt in {indexed:.1f} s, VACUUM ANALYZE {vacuumed:.1f} s"
    )
    return {"copy": copied, "index": indexed, "vacuum": vacuumed}


def add_probe_timelines(population, rng, channel_ids, now):
    """PROBE_EVENTS events for each probe, over the same 24 months, by COPY."""
    customers = [probe for _ in range(PROBE_EVENTS) for probe in population.probes]
    span = timedelta(days=30.4 * MONTHS)
    ensure_event_partitions(now - span, now)
    numbers = range(10**15, 10**15 + len(customers))  # their own message ids
    copy_events(
        event_lines(numbers, population, rng, channel_ids, now - span, span, customers=customers)
    )


def table_size():
    """Rows and size of the events table (with its indexes, over every partition, and the
    message-id key table of a partitioned one)."""
    from django.db import connection

    spec = partitioned_events()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM customers_event")
        (rows,) = cursor.fetchone()
        cursor.execute(
            "SELECT pg_size_pretty(sum(pg_total_relation_size(relid))"
            " + coalesce(pg_total_relation_size(to_regclass(%s)), 0))"
            " FROM pg_partition_tree('customers_event')",
            [spec.key_table if spec else None],
        )
        (size,) = cursor.fetchone()
    return rows, size


# --- measuring ---------------------------------------------------------------------------


def ingest_items(count, population, rng, serial):
    """`count` track items as partners send them (JSON per item, as the API hands them on)."""
    import msgspec

    kinds = [(name, codes) for name, (share, codes, _p) in EVENT_MIX.items() for _ in range(share)]
    now = datetime.now(UTC)
    items = []
    for k in range(count):
        if rng.random() < 0.1:  # a new visitor, known by a cookie only
            identities = [{"kind": "cookie", "value": f"visitor-{serial}-{k}"}]
        else:
            identities = [
                {"kind": "email", "value": f"c{population.ordinary(rng.random())}@example.com"}
            ]
        name, codes = kinds[int(rng.random() * 100)]
        properties = msgspec.json.decode(EVENT_MIX[name][2](k))
        items.append(
            msgspec.Raw(
                msgspec.json.encode(
                    {
                        "type": "track",
                        "identities": identities,
                        "event": name,
                        "properties": properties,
                        "channel": rng.choice(codes),
                        "message_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                        "occurred_at": (now - timedelta(seconds=count - k)).isoformat(),
                    }
                )
            )
        )
    return items


class CpuMeter:
    """CPU seconds spent by this process and by its PostgreSQL backend (read from /proc: the
    server runs on this machine) between start() and stop(). Unlike the wall clock, it
    hardly moves with other work on the machine, so it tells a table that got dearer from
    neighbours that got busier."""

    def __init__(self):
        self.ticks = os.sysconf("SC_CLK_TCK")

    def _backend_pid(self):
        from django.db import connection

        connection.ensure_connection()
        return connection.connection.info.backend_pid

    def _backend_seconds(self, pid):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:  # PostgreSQL elsewhere: the client's CPU only
            return 0.0
        return (int(fields[11]) + int(fields[12])) / self.ticks  # utime + stime

    def start(self):
        self.pid = self._backend_pid()
        self.client, self.backend = time.process_time(), self._backend_seconds(self.pid)

    def stop(self):
        assert self._backend_pid() == self.pid, "the database connection changed while metered"
        return time.process_time() - self.client + self._backend_seconds(self.pid) - self.backend


def measure_ingest(population, rng, batches, label):
    """events/s (wall) of each round, and events per CPU second over all rounds."""
    from customers.services import ingest_batch

    rates, meter, cpu, events = [], CpuMeter(), 0.0, 0
    for round_number in range(INGEST_ROUNDS):
        items = ingest_items(batches * BATCH, population, rng, f"{label}-{round_number}")
        chunks = [items[at : at + BATCH] for at in range(0, len(items), BATCH)]
        meter.start()
        started = time.perf_counter()
        for chunk in chunks:
            results = ingest_batch(chunk, source="bench-scale")
            assert all(result.status == "ok" for result in results), results[0]
        rates.append(len(items) / (time.perf_counter() - started))
        cpu += meter.stop()
        events += len(items)
    return rates, events / cpu


def measure_api_ingest(client, population, rng, batches, label):
    bodies = []
    for number in range(batches):
        items = ingest_items(BATCH, population, rng, f"api-{label}-{number}")
        bodies.append(b'{"items": [' + b",".join(bytes(item) for item in items) + b"]}")
    started = time.perf_counter()
    for body in bodies:
        response = client.post("/api/v1/batch", body, content_type="application/json")
        assert response.status_code == 200, response.content[:300]
        assert response.json()["stored"] == BATCH, response.content[:300]
    return batches * BATCH / (time.perf_counter() - started)


def timed_gets(client, urls, check=None, **headers):
    """Each url fetched once: the wall times, and CPU milliseconds per request overall."""
    meter, samples = CpuMeter(), []
    meter.start()
    for url in urls:
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        if check:
            check(response)
    return samples, meter.stop() * 1000 / len(urls)


def measure_timelines(api, staff, public_ids, population, rng):
    from django.urls import reverse

    from customers.models import Customer

    probes = [public_ids[probe] for probe in population.probes]
    randoms = list(
        Customer.objects.filter(
            pk__in=[population.ordinary(rng.random()) for _ in range(len(probes))]
        ).values_list("public_id", flat=True)
    )
    heavy = public_ids[HEAVY_CUSTOMER]
    htmx = {"HX-Request": "true", "HX-Target": "timeline"}

    def api_urls(ids):
        return [f"/api/v1/customers/{public_id}/timeline" for public_id in ids]

    def page_urls(ids):
        return [reverse("customers:detail", args=[public_id]) for public_id in ids]

    def full_page(response):
        assert len(response.json()["results"]) == PROBE_EVENTS, response.json()

    timed_gets(api, api_urls(randoms[:10]))  # the code paths warm, not the probes' pages
    timed_gets(staff, page_urls(randoms[:10]), **htmx)
    figures = {}
    for key, client, urls, headers, check in (
        ("timeline", api, api_urls(probes), {}, full_page),
        ("360 timeline", staff, page_urls(probes), htmx, None),
        ("timeline random", api, api_urls(randoms), {}, None),
        ("timeline heavy", api, api_urls([heavy] * 9), {}, None),
        ("360 timeline heavy", staff, page_urls([heavy] * 9), htmx, None),
    ):
        samples, cpu = timed_gets(client, urls, check, **headers)
        figures[key] = statistics.median(samples) * 1000
        figures[f"{key} p95"] = percentile(samples, 0.95) * 1000
        figures[f"{key} cpu"] = cpu
    return figures


def segment_members(rules):
    from campaigns.services.segments import segment_queryset

    return list(segment_queryset(rules).order_by("pk").values_list("pk", flat=True))


def measure_segment():
    from campaigns.services.segments import READY_MADE as ready_made

    segment_members(SEGMENT_RULES)  # plans and caches warm, as on a live database
    samples, members = [], []
    for _ in range(3):
        started = time.perf_counter()
        members = segment_members(SEGMENT_RULES)
        samples.append(time.perf_counter() - started)
    started = time.perf_counter()
    ready = segment_members(ready_made[READY_MADE][1])
    ready_seconds = time.perf_counter() - started
    return {
        "segment": statistics.median(samples),
        "segment members": len(members),
        "ready-made": ready_seconds,
        "ready-made members": len(ready),
    }


def inbox_page(agent):
    from support.selectors import CappedPaginator, InboxFilters, inbox_conversations, inbox_counts

    conversations = inbox_conversations(agent, InboxFilters()).prefetch_related("tags")
    page = CappedPaginator(conversations, 50).get_page(1)
    list(page)
    inbox_counts(agent)
    return page


def measure_inbox(agent):
    inbox_page(agent)
    samples = []
    for _ in range(25):
        started = time.perf_counter()
        inbox_page(agent)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def explain(label, queryset):
    print(f"--- EXPLAIN ANALYZE: {label}")
    print(queryset.explain(analyze=True, buffers=True))


def explain_sql(label, sql, params):
    from django.db import connection

    print(f"--- EXPLAIN ANALYZE: {label}")
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        print("\n".join(line for (line,) in cursor.fetchall()))


def explain_all(population, public_ids, agent):
    from campaigns.services.segments import segment_queryset
    from customers.models import Customer, Event
    from customers.selectors import timeline_for
    from support.selectors import InboxFilters, inbox_conversations

    probe = Customer.objects.get(pk=population.probes[len(population.probes) // 2])
    heavy = Customer.objects.get(pk=HEAVY_CUSTOMER)
    explain("timeline, a probe (first page)", timeline_for(probe)[:51])
    explain("timeline, the heavy customer (first page)", timeline_for(heavy)[:51])
    explain_sql(
        "360 page: the heavy customer's event count (its paginator)",
        "SELECT count(*) FROM customers_event WHERE customer_id = %s",
        [heavy.pk],
    )
    explain(
        "360 page: the heavy customer's channel kinds",
        Event.objects.filter(customer=heavy, channel__isnull=False)
        .values_list("channel__kind", flat=True)
        .order_by()
        .distinct(),
    )
    explain("segment", segment_queryset(SEGMENT_RULES).order_by("pk").values_list("pk"))
    explain("inbox list", inbox_conversations(agent, InboxFilters())[:50])


# --- the run -----------------------------------------------------------------------------


def parse_steps(text):
    steps = sorted({int(part.replace("_", "")) for part in text.split(",") if part.strip()})
    if not steps or steps[0] <= 0:
        raise argparse.ArgumentTypeError("event steps are positive numbers")
    return steps


def human(number):
    if number >= 1_000_000 and number % 1_000_000 == 0:
        return f"{number // 1_000_000}M"
    if number >= 1000 and number % 1000 == 0:
        return f"{number // 1000}k"
    return f"{number:,}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=parse_steps, default=None,
                        help="event steps, cumulative (default 1000000,10000000)")  # fmt: skip
    parser.add_argument("--customers", type=int, default=None, help="default 1,000,000")
    parser.add_argument("--quick", action="store_true",
                        help="100,000 customers, 100,000 then 1,000,000 events")  # fmt: skip
    parser.add_argument("--ingest-batches", type=int, default=None,
                        help=f"batches of {BATCH} per ingest round (default 20, quick 10)")  # fmt: skip
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE at every step")
    args = parser.parse_args()
    steps = args.events or ([100_000, 1_000_000] if args.quick else [1_000_000, 10_000_000])
    customers = args.customers or (100_000 if args.quick else 1_000_000)
    batches = args.ingest_batches or (10 if args.quick else 20)
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        print("SKIP bench/scale.py measures PostgreSQL: set DATABASE_URL=postgres://...")
        return 0
    if customers < PROBES * 10:
        parser.error(f"--customers must be at least {PROBES * 10}")

    rng = random.Random(21)
    run_started = time.perf_counter()
    with throwaway_database() as connection:
        from django.contrib.auth import get_user_model
        from django.test import Client
        from django.utils import timezone

        from core.factories import demo_channels
        from core.services.api_keys import create_api_key
        from customers.models import Customer

        # One backend for the whole run: its CPU is read from /proc (CpuMeter).
        connection.settings_dict["CONN_MAX_AGE"] = None
        print(
            f"database: {connection.settings_dict['NAME']}; {customers:,} customers, event "
            f"steps {', '.join(human(s) for s in steps)}; load average "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
        channels = {channel.code: channel for channel in demo_channels()}
        channel_ids = {code: channel.pk for code, channel in channels.items()}
        population = Population(customers)
        agents = load_people(population, rng, channels)
        now = timezone.now()
        add_probe_timelines(population, rng, channel_ids, now)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
            cursor.execute("ANALYZE customers_event")
        public_ids = dict(
            Customer.objects.filter(pk__in=[*population.probes, HEAVY_CUSTOMER]).values_list(
                "pk", "public_id"
            )
        )
        _key, raw = create_api_key(
            "bench-scale", ["customers:read", "customers:write"], rate="100000000/min"
        )
        api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
        staff = Client()
        staff.force_login(
            get_user_model().objects.create_superuser("scale-admin", "scale@example.com", "x")
        )

        results, fills, filled, number = {}, {}, 0, 0
        for step in [0, *steps]:
            if step > filled:
                fills[step] = fill_events(step - filled, number, population, rng, channel_ids, now)
                number += step - filled
                filled = step
            rows, size = table_size()
            print(
                f"== {human(step)} events filled ({rows:,} rows in customers_event, {size}); "
                f"load average {os.getloadavg()[0]:.1f}"
            )
            figures = {}
            rates, per_cpu = measure_ingest(population, rng, batches, step)
            figures["ingest"] = statistics.median(rates)
            figures["ingest cpu"] = per_cpu
            print(
                f"   ingest_batch: {figures['ingest']:,.0f} events/s, median of rounds "
                f"{', '.join(f'{r:,.0f}' for r in rates)} ({batches} batches of {BATCH} each); "
                f"{per_cpu:,.0f} events per CPU second (this process and its database backend)"
            )
            figures["api ingest"] = measure_api_ingest(api, population, rng, 4, step)
            print(f"   POST /api/v1/batch (one sender): {figures['api ingest']:,.0f} events/s")
            figures.update(measure_timelines(api, staff, public_ids, population, rng))
            for key, label in (
                ("timeline", "timeline API, probes"),
                ("timeline random", "timeline API, random customers"),
                ("timeline heavy", "timeline API, heavy customer"),
                ("360 timeline", "360 page timeline, probes"),
                ("360 timeline heavy", "360 page timeline, heavy customer"),
            ):
                print(
                    f"   {label + ':':<36} median {figures[key]:5.1f} ms, p95 "
                    f"{figures[key + ' p95']:5.1f} ms; CPU {figures[key + ' cpu']:4.1f} ms a page"
                )
            figures.update(measure_segment())
            print(
                f"   segment: {figures['segment']:.2f} s, {figures['segment members']:,} members; "
                f"ready-made '{READY_MADE}': {figures['ready-made']:.2f} s, "
                f"{figures['ready-made members']:,} members"
            )
            figures["inbox"] = measure_inbox(agents[0])
            print(f"   inbox list: {figures['inbox']:.1f} ms")
            if args.explain:
                explain_all(population, public_ids, agents[0])
            results[step] = figures

        ok = judge(results, steps, population, public_ids, agents[0])
        print_table(results, fills)
        print(f"run took {time.perf_counter() - run_started:.0f} s")
    return 0 if ok else 1


def judge(results, steps, population, public_ids, agent):
    empty, last = results[0], results[steps[-1]]
    misses = set()
    for step in steps:
        figures = results[step]
        print(
            f"     at {human(step):>4}, against the empty table: ingest "
            f"{figures['ingest'] / empty['ingest']:.2f}x (CPU: "
            f"{figures['ingest cpu'] / empty['ingest cpu']:.2f}x), timeline "
            f"{figures['timeline'] / empty['timeline']:.2f}x (CPU: "
            f"{figures['timeline cpu'] / empty['timeline cpu']:.2f}x), 360 page timeline "
            f"{figures['360 timeline'] / empty['360 timeline']:.2f}x (CPU: "
            f"{figures['360 timeline cpu'] / empty['360 timeline cpu']:.2f}x)"
        )
    at = human(steps[-1])
    if not report(f"ingest events/s at {at} / empty", last["ingest"] / empty["ingest"], "ratio",
                  0.8, lower_is_better=False):  # fmt: skip
        misses.add("ingest")
    if not report(f"timeline API median at {at} / empty", last["timeline"] / empty["timeline"],
                  "ratio", 1.2):  # fmt: skip
        misses.add("timeline")
    if not report(f"360 page timeline median at {at} / empty",
                  last["360 timeline"] / empty["360 timeline"], "ratio", 1.2):  # fmt: skip
        misses.add("timeline")
    for step in [0, *steps]:
        figures = results[step]
        for key, label in (
            ("timeline", "timeline API median"),
            ("360 timeline", "360 page timeline median"),
            ("timeline random", "timeline API median, random customers"),
            ("timeline heavy", "timeline API, heavy customer"),
            ("360 timeline heavy", "360 page timeline, heavy customer"),
        ):
            if not report(f"{label} at {human(step)}", figures[key], "ms", 20):
                misses.add("timeline")
        if not report(f"segment over {population.count:,} customers at {human(step)}",
                      figures["segment"], "s", 3):  # fmt: skip
            misses.add("segment")
        if not report(f"inbox list at {human(step)}", figures["inbox"], "ms", 50):
            misses.add("inbox")
    if misses:
        print(f"missed: {', '.join(sorted(misses))}; the plans at {at}:")
        explain_all(population, public_ids, agent)
    return not misses


def print_table(results, fills):
    steps = list(results)
    rows = [
        ("ingest events/s (service)", "ingest", "{:,.0f}"),
        ("ingest events/s (API door)", "api ingest", "{:,.0f}"),
        ("timeline median ms (API)", "timeline", "{:.1f}"),
        ("timeline p95 ms (API)", "timeline p95", "{:.1f}"),
        ("timeline median ms (360 page)", "360 timeline", "{:.1f}"),
        ("timeline heavy ms (API / 360)", None, None),
        ("segment s", "segment", "{:.2f}"),
        ("inbox ms", "inbox", "{:.1f}"),
    ]
    print()
    print(f"| {'':<30} | " + " | ".join(f"{human(s) if s else 'empty':>12}" for s in steps) + " |")
    print(f"|{'-' * 32}|" + "|".join("-" * 14 for _ in steps) + "|")
    for label, key, form in rows:
        if key is None:
            cells = [
                f"{results[s]['timeline heavy']:.1f} / {results[s]['360 timeline heavy']:.1f}"
                for s in steps
            ]
        else:
            cells = [form.format(results[s][key]) for s in steps]
        print(f"| {label:<30} | " + " | ".join(f"{c:>12}" for c in cells) + " |")
    for step, times in fills.items():
        print(
            f"fill to {human(step)}: COPY {times['copy']:.0f} s, indexes {times['index']:.0f} s,"
            f" VACUUM ANALYZE {times['vacuum']:.0f} s"
        )


if __name__ == "__main__":
    sys.exit(main())
