"""Campaign figures: a segment over 100,000 customers (with their timelines) evaluated in one
query, and an email campaign sent by 2 real Celery worker processes (Redis broker) to a local
aiosmtpd sink, every message claimed, rendered, sent over SMTP and marked sent.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/omni .venv/bin/python bench/campaign.py

Targets: the segment under 2 s; sending at least 500 messages per second. The run is kept
under ~5 minutes: the segment is always measured on 100,000 customers; the send on
BENCH_SEND_RECIPIENTS (default 20,000 of them), because 100,000 messages at the rate
measured here would take longer than that budget on its own (the figure is a rate, so it
does not depend on the campaign's size once the workers are warm). Set
BENCH_SEND_RECIPIENTS=100000 to send to all of them.
"""

import os
import random
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

from _harness import report, throwaway_database

ROOT = Path(__file__).resolve().parents[1]
CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", 100_000))
SEND_RECIPIENTS = int(os.environ.get("BENCH_SEND_RECIPIENTS", 20_000))
WORKERS = 2
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


def build_customers(channels):
    from django.utils import timezone

    from customers.models import Consent, Customer, Event, Identity

    now = timezone.now()
    rng = random.Random(7)
    batch = 10_000
    made = 0
    for start in range(0, CUSTOMERS, batch):
        customers = Customer.objects.bulk_create(
            [
                Customer(first_name=f"C{i}", is_anonymous=False, created_at=now, locale="en")
                for i in range(start, min(CUSTOMERS, start + batch))
            ]
        )
        identities, consents, events = [], [], []
        for customer in customers:
            i = made
            made += 1
            identities.append(Identity(customer=customer, kind="email", value=f"c{i}@example.com"))
            if i < SEND_RECIPIENTS:
                consents.append(
                    Consent(
                        customer=customer,
                        channel_kind="email",
                        purpose="marketing",
                        status="granted",
                        recorded_at=now - timedelta(days=30),
                    )
                )
            for _ in range(rng.randint(0, 4)):
                events.append(
                    Event(
                        customer=customer,
                        name="product_viewed",
                        channel=channels[rng.choice(["web", "app", "store"])],
                        occurred_at=now - timedelta(days=rng.randint(0, 60)),
                        properties={"sku": f"SKU-{rng.randint(1, 500)}"},
                        message_id=uuid.uuid4().hex,
                    )
                )
            for _ in range(rng.choice([0, 0, 1, 1, 2])):
                events.append(
                    Event(
                        customer=customer,
                        name="order_completed",
                        channel=channels[rng.choice(["web", "store", "store"])],
                        occurred_at=now - timedelta(days=rng.randint(0, 200)),
                        properties={
                            "order_id": uuid.uuid4().hex[:10],
                            "total": rng.randint(5, 400),
                        },
                        message_id=uuid.uuid4().hex,
                    )
                )
        Identity.objects.bulk_create(identities)
        Consent.objects.bulk_create(consents)
        Event.objects.bulk_create(events, batch_size=5000)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE") if connection.vendor == "postgresql" else None
    return Event.objects.count()


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
        from campaigns.services import sending
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
        sending.enqueue_due = lambda **kwargs: 0  # the broker below gets the chunks
        start = time.perf_counter()
        rows = sending.start_campaign(campaign)
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
            for first in range(0, len(ids), sending.CHUNK_SIZE):
                client.send_task(
                    "campaigns.send_chunk",
                    args=[ids[first : first + sending.CHUNK_SIZE]],
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
            f"in {elapsed:.1f} s with {WORKERS} worker processes"
        )
        if rows < CUSTOMERS:
            print(
                f"note: sent to {rows:,} recipients, not {CUSTOMERS:,}: at this rate all "
                f"{CUSTOMERS:,} would take {CUSTOMERS / max(rate, 1):.0f} s, over the 5-minute "
                "budget of this script (BENCH_SEND_RECIPIENTS=100000 to run it anyway)"
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
