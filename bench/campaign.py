"""Campaign figures: a segment over 100,000 customers (with their timelines) evaluated in one
query, and an email campaign sent by 2 real Celery worker processes (Redis broker) to a local
aiosmtpd sink, every message claimed, rendered, sent over SMTP and marked sent.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/omni .venv/bin/python bench/campaign.py

Targets: the segment under 2 s; sending at least 500 messages per second. Both on the
issue's sizes: the segment over 100,000 customers and the campaign to all 100,000 of them
(about 3 minutes at the measured rate). BENCH_SEND_RECIPIENTS=5000 sends to fewer for a
quicker look; the figure is a rate, so it changes little once the workers are warm.
"""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from _harness import report, throwaway_database

ROOT = Path(__file__).resolve().parents[1]
CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", 100_000))
SEND_RECIPIENTS = int(os.environ.get("BENCH_SEND_RECIPIENTS", 100_000))
WORKERS = 2
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


def build_customers(channels):
    """100,000 customers with an email, consent for the first SEND_RECIPIENTS, and a timeline
    (0-4 product views on web/app/store, 0-2 orders in web/store), generated inside
    PostgreSQL with generate_series: seconds instead of minutes of Python objects."""
    from django.db import connection

    web, app, store = (channels[code].pk for code in ("web", "app", "store"))
    statements = [
        (
            "INSERT INTO customers_customer (public_id, first_name, last_name, locale,"
            " preferred_channel, traits, is_anonymous, created_at, orders_count, lifetime_spend,"
            " channels_used, events_count)"
            " SELECT gen_random_uuid(), 'C' || i, '', 'en', '', '{}', false, now(), 0, '{}',"
            " '[]', 0 FROM generate_series(1, %s) AS i",
            [CUSTOMERS],
        ),
        (
            "INSERT INTO customers_identity (customer_id, kind, value, partner, is_verified,"
            " created_at, unreachable_reason) SELECT id, 'email', 'c' || id || '@example.com',"
            " '', false, now(), '' FROM customers_customer",
            [],
        ),
        (
            "INSERT INTO customers_consent (customer_id, channel_kind, purpose, status, source,"
            " recorded_at, created_at) SELECT id, 'email', 'marketing', 'granted', 'bench',"
            " now() - interval '30 days', now() FROM customers_customer ORDER BY id LIMIT %s",
            [SEND_RECIPIENTS],
        ),
        (
            "INSERT INTO customers_event (customer_id, name, channel_id, occurred_at,"
            " received_at, properties, source, message_id)"
            " SELECT c.id, 'product_viewed', (ARRAY[%s, %s, %s])[1 + floor(random() * 3)::int],"
            " now() - floor(random() * 60) * interval '1 day', now(),"
            " jsonb_build_object('sku', 'SKU-' || floor(random() * 500)::int), 'bench',"
            " 'bench-v-' || c.id || '-' || g"
            " FROM customers_customer c CROSS JOIN generate_series(1, 4) AS g"
            " WHERE random() < 0.5",
            [web, app, store],
        ),
        (
            "INSERT INTO customers_event (customer_id, name, channel_id, occurred_at,"
            " received_at, properties, source, message_id)"
            " SELECT c.id, 'order_completed', (ARRAY[%s, %s, %s])[1 + floor(random() * 3)::int],"
            " now() - floor(random() * 200) * interval '1 day', now(),"
            " jsonb_build_object('order_id', 'B' || c.id || '-' || g,"
            "   'total', 5 + floor(random() * 400)::int, 'currency', 'USD'), 'bench',"
            " 'bench-o-' || c.id || '-' || g"
            " FROM customers_customer c CROSS JOIN generate_series(1, 2) AS g"
            " WHERE random() < 0.4",
            [web, store, store],
        ),
    ]
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
        cursor.execute("ANALYZE")
        cursor.execute("SELECT count(*) FROM customers_event")
        return cursor.fetchone()[0]


def database_url(connection):
    settings = connection.settings_dict
    user = settings.get("USER") or "postgres"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "127.0.0.1"
    return f"postgres://{user}{password}@{host}:{settings.get('PORT') or 5432}/{settings['NAME']}"


def main():
    with throwaway_database() as connection:
        from celery import Celery

        from campaigns.factories import CampaignFactory, SegmentFactory
        from campaigns.models import CampaignMessage
        from campaigns.services import delivery, launch
        from campaigns.services.segments import READY_MADE, count_members
        from core.factories import ChannelFactory
        from tests.receivers import SmtpServer

        channels = {
            "web": ChannelFactory(code="web", kind="web"),
            "app": ChannelFactory(code="app", kind="mobile_app"),
            "store": ChannelFactory(code="store", kind="store"),
            "email": ChannelFactory(code="email", kind="email", provider="smtp"),
        }
        started = time.perf_counter()
        events = build_customers(channels)
        print(
            f"database: {connection.vendor}; {CUSTOMERS:,} customers, {events:,} events "
            f"(built in {time.perf_counter() - started:.0f} s)"
        )

        rules = {
            "all": [
                {"event": "product_viewed", "channels": ["online"], "within_days": 30},
                {"orders": {"bought_in": ["store"], "min_spent": 50}},
                {"consent": "email", "purpose": "transactional"},
            ]
        }
        _description, ready_made = READY_MADE["Researched online, bought in store"]
        count_members(rules)  # warm the plan cache
        samples, members = [], 0
        for _ in range(3):
            start = time.perf_counter()
            members = count_members(rules)
            samples.append(time.perf_counter() - start)
        start = time.perf_counter()
        ready_count = count_members(ready_made)
        ready_seconds = time.perf_counter() - start
        print(f"segment: {members:,} members (ready-made 'researched online': {ready_count:,})")

        # --- sending --------------------------------------------------------------------------
        smtp = SmtpServer()
        segment = SegmentFactory(rules={"consent": "email", "purpose": "marketing"})
        campaign = CampaignFactory(segment=segment, channel=channels["email"], frequency_cap=100)
        launch.enqueue_due = lambda **kwargs: 0  # the broker below gets the chunks
        start = time.perf_counter()
        rows = launch.start_campaign(campaign)
        split_seconds = time.perf_counter() - start
        print(f"campaign: {rows:,} message rows made in {split_seconds:.1f} s")

        queue = f"bench-{uuid.uuid4().hex[:8]}"
        env = {
            **os.environ,
            "CELERY_BROKER_URL": REDIS_URL,
            "CELERY_RESULT_BACKEND": "",
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "DATABASE_URL": database_url(connection),
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
            "LOG_LEVEL": "WARNING",
        }
        workers = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency", str(WORKERS),
             "-Q", queue, "-n", f"{queue}@%h", "--without-gossip", "--without-mingle",
             "--loglevel=WARNING"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            client = Celery(broker=REDIS_URL)
            ping = client.send_task("core.ping", queue=queue)
            del ping
            time.sleep(3)  # let both processes boot before the clock starts
            ids = list(campaign.messages.order_by("id").values_list("id", flat=True))
            start = time.perf_counter()
            for first in range(0, len(ids), delivery.CHUNK_SIZE):
                client.send_task(
                    "campaigns.send_chunk",
                    args=[ids[first : first + delivery.CHUNK_SIZE]],
                    queue=queue,
                )
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                if len(smtp.messages) >= rows:
                    break
                time.sleep(0.25)
            elapsed = time.perf_counter() - start
        finally:
            workers.terminate()
            workers.wait(timeout=30)
            smtp.stop()
        sent = CampaignMessage.objects.filter(campaign=campaign, status="sent").count()
        received = len(smtp.messages)
        rate = received / elapsed if elapsed else 0.0
        print(
            f"sending: {received:,} messages received by the SMTP sink, {sent:,} rows sent, "
            f"in {elapsed:.1f} s with {WORKERS} worker processes of {delivery.SEND_THREADS} "
            "sending threads"
        )
        if rows < CUSTOMERS:
            print(
                f"note: sent to {rows:,} recipients, not {CUSTOMERS:,}: at this rate all "
                f"{CUSTOMERS:,} would take {CUSTOMERS / max(rate, 1):.0f} s "
                "(BENCH_SEND_RECIPIENTS=100000 to run it)"
            )
        ok = all(
            [
                report(f"segment over {CUSTOMERS:,} customers (median of 3)", sorted(samples)[1], "s", 2),
                report("ready-made segment 'researched online, bought in store'", ready_seconds, "s", 2),
                report(f"email sending, {WORKERS} workers, {rows:,} recipients", rate, "msg/s", 500,
                       lower_is_better=False),
            ]
        )  # fmt: skip
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
