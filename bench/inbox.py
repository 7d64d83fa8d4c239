"""Benchmark of the support inbox at size: 100,000 conversations and 1,000,000 messages loaded
by COPY into a throwaway PostgreSQL database, then

- inbound webhook requests per second and median latency (signed SMS and WhatsApp payloads
  through the whole Django stack: middleware, signature, identity resolution, threading,
  dedupe, SLA, timeline event) — target under 30 ms at the median;
- the inbox list (count + first page, as the page runs it) for the common filters — target
  under 50 ms at the median;
- live updates: 200 inbox pages listening to the event stream (served by uvicorn, as the
  README recommends for /support/events) while a burst of 1,000 inbound webhooks arrives; the
  time from each webhook to the moment every page has heard of it, median and 99th
  percentile — target p99 under 2 s.

Run: DATABASE_URL=postgres://... python bench/inbox.py   (about 2-3 minutes on 2 cores)
"""

import json
import os
import random
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import median_ms, percentile, report, throwaway_database  # noqa: E402

CONVERSATIONS = int(os.environ.get("BENCH_CONVERSATIONS", 100_000))
MESSAGES_PER_CONVERSATION = 10
CUSTOMERS = CONVERSATIONS // 2
AGENTS = 12
WEBHOOK_REQUESTS = 400
LIST_REPEAT = 25
LIVE_CONNECTIONS = int(os.environ.get("BENCH_LIVE_CONNECTIONS", 200))
LIVE_MESSAGES = int(os.environ.get("BENCH_LIVE_MESSAGES", 1000))
SECRET = "bench-inbound-secret"


def copy_rows(model, rows, columns):
    """COPY rows (tuples in `columns` order) into the model's table."""
    from django.db import connection

    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(model._meta.get_field(c).column) for c in columns)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # noqa: S608
            for row in rows:
                copy.write_row(row)


def defaults_for(model, given):
    """Every concrete column not given, with the model's default (so the loader follows the
    model when another app adds a field)."""
    from django.db.models.fields import NOT_PROVIDED

    values = {}
    for field in model._meta.concrete_fields:
        if field.primary_key or field.name in given or field.attname in given:
            continue
        if field.default is not NOT_PROVIDED:
            default = field.get_default()
            values[field.attname] = (
                json.dumps(default) if field.get_internal_type() == "JSONField" else default
            )
        elif field.null:
            values[field.attname] = None
        elif field.blank:
            values[field.attname] = ""
    return values


@contextmanager
def indexes_dropped(*models):
    """Drop secondary indexes and unique constraints while loading, then rebuild them: one
    sorted build is far cheaper than a million index insertions."""
    from django.db import connection

    saved = []
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'u'",
                [table],
            )
            constraints = cursor.fetchall()
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname "
                "NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
                [table, table],
            )
            indexes = cursor.fetchall()
            quote = connection.ops.quote_name
            for name, _definition in constraints:
                cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
            for name, _definition in indexes:
                cursor.execute(f"DROP INDEX {quote(name)}")
            saved.append((table, constraints, indexes))
    yield
    with connection.cursor() as cursor:
        for table, constraints, indexes in saved:
            for name, definition in constraints:
                cursor.execute(
                    f"ALTER TABLE {connection.ops.quote_name(table)} ADD CONSTRAINT "
                    f"{connection.ops.quote_name(name)} {definition}"
                )
            for _name, definition in indexes:
                cursor.execute(definition)


def reset_sequence(model):
    from django.core.management.color import no_style
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [model]):
            cursor.execute(sql)


def copy_messages(plan):
    from support.models import Message

    message_given = [
        "id", "conversation_id", "direction", "kind", "channel_id", "text", "external_id",
        "idempotency_key", "created_at", "delivery_status",
    ]  # fmt: skip
    message_defaults = defaults_for(Message, set(message_given))

    def message_rows():
        number = 0
        for conversation_id, channel_id, created in plan:
            for j in range(MESSAGES_PER_CONVERSATION):
                number += 1
                inbound = j % 2 == 0
                yield (
                    number, conversation_id, "inbound" if inbound else "outbound", "message",
                    channel_id, "Hello, where is my parcel? It was due yesterday.",
                    f"bench-{number}" if inbound else "", f"bench-key-{number}",
                    created + timedelta(minutes=j * 7), "" if inbound else "delivered",
                    *message_defaults.values(),
                )  # fmt: skip

    copy_rows(Message, message_rows(), [*message_given, *message_defaults])


def load(rng):
    from django.db import connection
    from django.utils import timezone

    from core.factories import StaffUserFactory, demo_channels
    from customers.models import Customer, Identity
    from support.models import Conversation, Message, SlaPolicy, Team, TeamMembership

    channels = {c.code: c for c in demo_channels()}
    for channel in channels.values():
        channel.provider_settings = {"inbound_secret": SECRET}
        channel.save()
    agents = [
        StaffUserFactory(username=f"bench-agent{i}", roles=["Support agent"]) for i in range(AGENTS)
    ]
    teams = [
        Team.objects.create(
            name="Online",
            channel_kinds=["email", "sms", "whatsapp", "telegram", "instagram", "messenger"],
        ),
        Team.objects.create(name="Stores", channel_kinds=["phone", "store"], is_default=True),
        Team.objects.create(name="VIP", assignment_strategy="least_open"),
    ]
    TeamMembership.objects.bulk_create(
        TeamMembership(team=team, user=agent) for team in teams for agent in agents
    )
    for priority, minutes in ((1, 480), (2, 120), (3, 60), (4, 15)):
        SlaPolicy.objects.create(
            priority=priority,
            first_response_minutes=minutes,
            next_response_minutes=minutes * 2,
            resolution_minutes=minutes * 12,
        )
    now = timezone.now()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # A throwaway database: skip the per-row foreign-key triggers while loading (the
        # loader makes the references consistent itself); needs a superuser, else it is slower.
        try:
            cursor.execute("SET session_replication_role = replica")
        except Exception:  # noqa: BLE001
            print("   (not a superuser: loading with foreign-key checks)")

    first_names = [
        "Sara",
        "Reza",
        "Ali",
        "Maryam",
        "Leyla",
        "Nina",
        "Omid",
        "Aysel",
        "Fatemeh",
        "John",
    ]
    last_names = [
        "Rahimi",
        "Karimi",
        "Ahmadi",
        "Aliyeva",
        "Hosseini",
        "Smith",
        "Mammadov",
        "Tehrani",
    ]
    customer_given = {
        "id": None, "public_id": None, "first_name": None, "last_name": None,
        "is_anonymous": None, "created_at": None,
    }  # fmt: skip
    customer_defaults = defaults_for(Customer, customer_given)
    customer_columns = [
        "id",
        "public_id",
        "first_name",
        "last_name",
        "is_anonymous",
        "created_at",
        *customer_defaults,
    ]
    # Built after the rows, as for conversations: a GIN (trigram) index filled row by row
    # keeps a long pending list that autovacuum would flush in a live database.
    with indexes_dropped(Customer, Identity):
        copy_rows(
            Customer,
            (
                (i, uuid.uuid4(), rng.choice(first_names), rng.choice(last_names), False,
                 now - timedelta(days=rng.uniform(30, 400)), *customer_defaults.values())
                for i in range(1, CUSTOMERS + 1)
            ),
            customer_columns,
        )  # fmt: skip
        identity_defaults = defaults_for(Identity, {"id", "customer", "kind", "value"})
        copy_rows(
            Identity,
            (
                row
                for i in range(1, CUSTOMERS + 1)
                for row in (
                    (
                        2 * i - 1,
                        i,
                        "email",
                        f"customer{i}@example.com",
                        *identity_defaults.values(),
                    ),
                    (2 * i, i, "phone", f"+98912{i:07d}", *identity_defaults.values()),
                )
            ),
            ["id", "customer_id", "kind", "value", *identity_defaults],
        )
    loaded_customers = time.perf_counter() - started

    kinds = ["email", "sms", "whatsapp", "telegram", "instagram", "messenger", "phone", "store"]
    statuses = (
        ["open"] * 20 + ["pending"] * 5 + ["snoozed"] * 1 + ["resolved"] * 66 + ["closed"] * 8
    )
    conversation_given = [
        "id", "customer_id", "subject", "status", "priority", "team_id", "assignee_id",
        "started_channel_id", "last_inbound_channel_id", "channels_used", "created_at",
        "updated_at", "last_message_at", "sla_due_at", "first_response_due_at",
        "resolution_due_at", "resolved_at",
    ]  # fmt: skip
    conversation_defaults = defaults_for(Conversation, set(conversation_given))
    plan = []

    def conversation_rows():
        for i in range(1, CONVERSATIONS + 1):
            code = rng.choice(kinds)
            channel = channels[code]
            status = rng.choice(statuses)
            created = now - timedelta(minutes=rng.uniform(5, 60 * 24 * 90))
            active = status in ("open", "pending", "snoozed")
            due = (
                created + timedelta(minutes=rng.uniform(15, 60 * 24)) if status == "open" else None
            )
            team = teams[1] if code in ("phone", "store") else teams[0 if rng.random() < 0.9 else 2]
            assignee = rng.choice(agents).pk if rng.random() < 0.8 else None
            last = created + timedelta(minutes=rng.uniform(1, 600))
            plan.append((i, channel.pk, created))
            yield (
                i, rng.randint(1, CUSTOMERS), f"Question {i} about order W-{i}", status,
                rng.choices([1, 2, 3, 4], weights=[15, 60, 20, 5])[0], team.pk, assignee,
                channel.pk, channel.pk, json.dumps([channel.kind]), created, last, last,
                due, due, created + timedelta(days=2),
                None if active else last + timedelta(hours=1),
                *conversation_defaults.values(),
            )  # fmt: skip

    with indexes_dropped(Conversation, Message):
        copy_rows(Conversation, conversation_rows(), [*conversation_given, *conversation_defaults])
        copy_messages(plan)
    for model in (Customer, Identity, Conversation, Message):
        reset_sequence(model)
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = DEFAULT")
        cursor.execute("ANALYZE")
    elapsed = time.perf_counter() - started
    rows = CUSTOMERS * 3 + CONVERSATIONS * (1 + MESSAGES_PER_CONVERSATION)
    print(
        f"loaded {CUSTOMERS:,} customers (+{2 * CUSTOMERS:,} identities, {loaded_customers:.1f} s), "
        f"{CONVERSATIONS:,} conversations and {CONVERSATIONS * MESSAGES_PER_CONVERSATION:,} "
        f"messages by COPY in {elapsed:.1f} s ({rows / elapsed:,.0f} rows/s)"
    )
    return channels, agents, teams


def bench_webhooks(rng, channels):
    from django.test import Client

    from core.services.outbox import sign

    client = Client()
    samples = []
    statuses = set()

    def post(kind, payload, header):
        body = json.dumps(payload).encode()
        start = time.perf_counter()
        response = client.post(
            f"/api/v1/inbound/{kind}", data=body, content_type="application/json",
            headers={header: sign(SECRET, body)},
        )  # fmt: skip
        samples.append(time.perf_counter() - start)
        statuses.add(response.status_code)

    for n in range(WEBHOOK_REQUESTS):
        customer = rng.randint(1, CUSTOMERS) if n % 4 else CUSTOMERS + n  # a quarter new senders
        if n % 2:
            post(
                "sms",
                {
                    "id": f"bench-sms-{n}",
                    "from": f"+98912{customer:07d}",
                    "text": "Where is my parcel?",
                },
                "X-Omni-Signature",
            )
        else:
            post(
                "whatsapp",
                {
                    "object": "whatsapp_business_account",
                    "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
                        "messaging_product": "whatsapp",
                        "contacts": [{"profile": {"name": "Bench Customer"}, "wa_id": f"98913{customer:07d}"}],
                        "messages": [{"from": f"98913{customer:07d}", "id": f"wamid.bench.{n}",
                                      "timestamp": str(int(time.time())), "type": "text",
                                      "text": {"body": "Is size 38 in stock?"}}],
                    }}]}],
                },
                "X-Hub-Signature-256",
            )  # fmt: skip
    # retries of already stored messages: the dedupe path
    retries = []
    for n in range(1, 101, 2):
        body = json.dumps({"id": f"bench-sms-{n}", "from": "+989120000001", "text": "x"}).encode()
        start = time.perf_counter()
        client.post(
            "/api/v1/inbound/sms", data=body, content_type="application/json",
            headers={"X-Omni-Signature": sign(SECRET, body)},
        )  # fmt: skip
        retries.append(time.perf_counter() - start)
    assert statuses == {200}, f"webhook answered {statuses}"
    total = sum(samples)
    print(
        f"   {len(samples)} inbound webhooks (sms + whatsapp, a quarter from new senders) in {total:.1f} s"
    )
    report(
        "inbound webhook requests per second",
        len(samples) / total,
        "req/s",
        33.0,
        lower_is_better=False,
    )
    ok = report("inbound webhook median latency", median_ms(samples), "ms", 30.0)
    report("inbound webhook retry (deduplicated) median latency", median_ms(retries), "ms", 30.0)
    return ok


def bench_list(agents, teams, channels):
    from support.selectors import CappedPaginator, InboxFilters, inbox_conversations

    agent = agents[0]
    cases = [
        ("open (default)", InboxFilters()),
        ("mine", InboxFilters(view="mine")),
        ("unassigned", InboxFilters(view="unassigned")),
        ("team", InboxFilters(team=teams[0].pk)),
        ("channel whatsapp", InboxFilters(channel="whatsapp")),
        ("priority urgent", InboxFilters(priority=4)),
        ("breaching", InboxFilters(breaching=True)),
        ("search customer name", InboxFilters(q="Rahimi")),
        ("search email", InboxFilters(q="customer4242@example.com")),
        ("search phone", InboxFilters(q="0912 000 4242")),
        ("all statuses, page 3", InboxFilters(status="all")),
    ]
    results = []
    for label, filters in cases:
        page_number = 3 if "page 3" in label else 1

        def run(filters=filters, page_number=page_number):
            page = CappedPaginator(inbox_conversations(agent, filters), 50).get_page(page_number)
            list(page)

        run()  # warm
        samples = []
        for _ in range(LIST_REPEAT):
            start = time.perf_counter()
            run()
            samples.append(time.perf_counter() - start)
        results.append(report(f"inbox list: {label}", median_ms(samples), "ms", 50.0))
    if os.environ.get("BENCH_EXPLAIN"):
        for label, filters in cases:
            print(f"--- {label}")
            print(inbox_conversations(agent, filters)[:50].explain(analyze=True))
    return all(results)


def bench_live(agents):
    """200 listening pages, a burst of 1,000 webhooks: webhook to every page, p50 and p99."""
    import asyncio
    import socket
    import threading

    import uvicorn
    from django.conf import settings
    from django.test import Client

    from core import live
    from core.services.outbox import sign

    settings.LIVE_EVENTS_STREAM_SECONDS = 3600  # no reconnects during the burst
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            "config.asgi:application", host="127.0.0.1", port=port, log_level="warning",
            lifespan="off", backlog=LIVE_CONNECTIONS * 2,
        )
    )  # fmt: skip
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)

    agent_client = Client()
    agent_client.force_login(agents[0])
    cookie = f"sessionid={agent_client.cookies['sessionid'].value}"
    after = live.latest_id()
    posted, everyone, heard = {}, {}, {}
    connected = threading.Semaphore(0)
    loop = asyncio.new_event_loop()

    async def listen():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            f"GET /support/events?after={after} HTTP/1.0\r\nHost: 127.0.0.1\r\n"
            f"Cookie: {cookie}\r\nAccept: text/event-stream\r\n\r\n".encode()
        )
        await writer.drain()
        status = await reader.readline()
        assert b" 200 " in status, status
        await reader.readuntil(b"\r\n\r\n")
        connected.release()
        while line := await reader.readline():
            if line.startswith(b"data: "):
                message = json.loads(line[6:]).get("message")
                heard[message] = heard.get(message, 0) + 1
                if heard[message] == LIVE_CONNECTIONS:
                    everyone[message] = time.perf_counter()

    async def listen_all():
        await asyncio.gather(*(listen() for _ in range(LIVE_CONNECTIONS)), return_exceptions=True)

    threading.Thread(target=lambda: loop.run_until_complete(listen_all()), daemon=True).start()
    for _ in range(LIVE_CONNECTIONS):
        assert connected.acquire(timeout=60), "a page could not open its event stream"

    webhook = Client()
    start = time.perf_counter()
    for n in range(LIVE_MESSAGES):
        body = json.dumps(
            {"id": f"bench-live-{n}", "from": f"+98935{n:07d}", "text": "Is size 38 in stock?"}
        ).encode()
        sent = time.perf_counter()
        response = webhook.post(
            "/api/v1/inbound/sms", data=body, content_type="application/json",
            headers={"X-Omni-Signature": sign(SECRET, body)},
        )  # fmt: skip
        assert response.status_code == 200, response.content
        posted[response.json()["messages"][0]] = sent
    burst = time.perf_counter() - start
    deadline = time.perf_counter() + 30
    while len(everyone) < len(posted) and time.perf_counter() < deadline:
        time.sleep(0.05)
    server.should_exit = True
    live.end_streams()
    # The server's reading threads keep their connections; end them so the database can go.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    missing = len(posted) - len(everyone)
    latencies = sorted(everyone[m] - posted[m] for m in posted if m in everyone)
    print(
        f"   {LIVE_CONNECTIONS} pages listening (uvicorn), {LIVE_MESSAGES} webhooks in {burst:.1f} s"
        f" ({LIVE_MESSAGES / burst:.0f}/s); {missing} not heard by every page within 30 s"
    )
    if not latencies:
        return False
    report("live: webhook to every page, median", median_ms(latencies) / 1000, "s", 2.0)
    ok = report("live: webhook to every page, p99", percentile(latencies, 0.99), "s", 2.0)
    return ok and missing == 0


def main():
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        print("SKIPPED bench/inbox.py: needs DATABASE_URL=postgres://... (COPY and real plans)")
        return 0
    rng = random.Random(8)
    with throwaway_database():
        channels, agents, teams = load(rng)
        webhooks_ok = bench_webhooks(rng, channels)
        list_ok = bench_list(agents, teams, channels)
        live_ok = bench_live(agents)
    return 0 if webhooks_ok and list_ok and live_ok else 1


if __name__ == "__main__":
    sys.exit(main())
