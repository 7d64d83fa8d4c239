"""Real HTTP load: gunicorn (4 sync workers) on PostgreSQL, driven over loopback by an
open-loop asyncio client at a fixed offered rate with a partner mix; per endpoint: count,
throughput, latency percentiles and errors, against the issue's targets.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/omni_bench .venv/bin/python bench/http_load.py
        [--rate 40] [--seconds 30] [--warmup 5] [--workers 4]
        [--worker-class sync|gthread --threads 4] [--curve 20,30,40,50]

What runs (issue 21, item 4):
- a throwaway database (test_<name>, created, migrated and dropped here) seeded through the
  factories and the real services: the demo's channels, 8 stores and 2 warehouses serving web
  and app, 1,000 SKUs priced on web with stock at every location (receipts through the
  ledger), 5,000 customers (email, cookie and phone, through /api/v1/batch), one partner API
  key holding the scopes the mix needs, and the WhatsApp channel's inbound secret;
- `gunicorn config.wsgi` with 4 sync workers on 127.0.0.1 and a free port, in production
  shape (DEBUG off, a SECRET_KEY, PROMETHEUS_MULTIPROC_DIR, no access log), against that
  database. Sync workers are what the README's production command runs; gthread would let a
  worker take another request while one waits on the database, but on 2 cores 4 processes
  already do that between them (`--worker-class gthread --threads 4` measures it). Celery
  runs eagerly (the embedded default: no broker), so each request also does the work its
  tasks would do on a worker sharing these cores; the cache is the embedded per-process one
  (the key's own rate limit is set far above the offered rate);
- the client sends every request at its scheduled time, whether or not earlier answers came
  back (open loop: a slow server makes requests queue, and the latency counted runs from the
  scheduled time, so queueing is included and never hidden by a client that waits). Each
  request is its own connection with `Connection: close`, as a proxy in front of gunicorn's
  sync workers sends them (they do not keep connections alive). No HTTP library: a few lines
  of asyncio streams keep the client's own CPU small on the 2 cores it shares with the server.

The mix, per 100 requests: 35 single availability look-ups (GET /api/v1/availability), 10
bulk look-ups of 100 SKUs (a category page), 20 event batches (POST /api/v1/batch, 50 events
from 10 visitors: 8 known, 2 new), 10 reservations, 10 orders of 1-3 lines, 13 inbound
WhatsApp messages (signed as Meta signs them), 2 retries of an earlier write with the same
Idempotency-Key (or the same WhatsApp message id), which must change nothing. Every write
carries a fresh Idempotency-Key, as partners send them.

Printed per endpoint: requests, answered per second, mean latency beside the server's own
mean time (its request histogram at /metrics: the difference is time spent queueing),
p50/p95/p99/max, 409 refusals and errors; then the CPU each answered request cost (gunicorn,
the PostgreSQL backends, this client) and the load average before and after, since the 2
cores may be shared; then what the database holds (no order or reservation twice).

Targets (issue 21): no errors (a status the mix did not expect, a batch item refused, a
timeout, a refused connection); p99 under 200 ms for every endpoint at the offered rate; the
rate achieved at least 0.98 of the rate offered. A reservation or order refused for want of
stock (409 insufficient_stock) is an expected answer, counted apart; the seeded stock makes
it rare. `--curve` steps through several rates against one server and prints a line each,
without judging (stopping once the server falls behind), to find the rate the machine
sustains; the default --rate came from it (see the README).

Without PostgreSQL (no DATABASE_URL) it prints SKIP and exits 0, so `make bench` runs it.
"""

import argparse
import asyncio
import gc
import hashlib
import hmac
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from _harness import percentile, report, throwaway_database

ROOT = Path(__file__).resolve().parents[1]
# Requests per second. The curve on a quiet machine (--curve, December 2026): p99 80-90 ms
# at 40 and 60/s, 150-220 ms at 50-70/s, 600 ms at 80/s; the server falls behind near 90/s.
# 40/s met every target in every quiet run; from 50/s a few slow orders took the orders' p99
# past 200 ms in some runs.
RATE = 40
SECONDS, WARMUP = 30.0, 5.0
WORKERS = 4
TIMEOUT = 10.0  # a request not answered by then is an error
P99_TARGET_MS = 200
ACHIEVED_SHARE = 0.98

SKUS = 1000
PRODUCTS = SKUS // 10
STORES, WAREHOUSES = 8, 2
CUSTOMERS = 5000
BULK_SKUS = 100
BATCH_VISITORS, EVENTS_PER_VISITOR = 10, 5
SECRET = "bench-whatsapp-inbound-secret"

AVAILABILITY = "GET  /api/v1/availability (1 SKU)"
BULK = f"POST /api/v1/availability/bulk ({BULK_SKUS})"
BATCH = f"POST /api/v1/batch ({BATCH_VISITORS * EVENTS_PER_VISITOR} events)"
RESERVATION = "POST /api/v1/reservations"
ORDER = "POST /api/v1/orders/ (1-3 lines)"
WEBHOOK = "POST /api/v1/inbound/whatsapp"
RETRY = "retried write (same key)"
# The view each endpoint is timed under by the server (core.metrics), for its own figure.
VIEWS = {
    AVAILABILITY: "api-availability",
    BULK: "api-availability-bulk",
    BATCH: "api-batch",
    RESERVATION: "api-reservations",
    ORDER: "api-orders",
    WEBHOOK: "api-support-inbound",
}
MIX = {AVAILABILITY: 35, BULK: 10, BATCH: 20, RESERVATION: 10, ORDER: 10, WEBHOOK: 13, RETRY: 2}

EVENTS = [
    ("product_viewed", lambda sku: {"sku": sku, "price": 49.9}),
    ("page_viewed", lambda sku: {"path": f"/p/{sku.lower()}"}),
    ("product_added_to_cart", lambda sku: {"sku": sku, "quantity": 1}),
    ("product_searched", lambda sku: {"query": "running shoes"}),
    ("wishlist_added", lambda sku: {"sku": sku}),
]
QUESTIONS = [
    "Is size 38 in stock?",
    "Where is my order?",
    "سلام، این کفش سایز ۴۰ دارید؟",
    "Can I pick it up in the store tomorrow?",
]


# --- the data ------------------------------------------------------------------------------
def build():
    """Channels, locations, 1,000 SKUs with prices and stock, 5,000 customers, the partner's
    key. Returns (skus, raw API key)."""
    from django.test import Client
    from django.utils import timezone
    from moneyed import Money

    from catalog.factories import ProductFactory
    from catalog.models import ProductListing, ProductVariant, VariantListing
    from core.factories import api_key_with, demo_channels
    from core.models import Channel
    from inventory.factories import ChannelStockRuleFactory, LocationFactory, WarehouseFactory
    from inventory.services import MovementInput, record_movements

    channels = {channel.code: channel for channel in demo_channels()}
    web, app = channels["web"], channels["app"]
    Channel.objects.filter(code="whatsapp").update(
        provider_settings={"inbound_secret": SECRET, "verify_token": "bench"}
    )
    ChannelStockRuleFactory(channel=web)
    rnd = random.Random(21)
    locations = [
        LocationFactory(
            code=f"store-{n}",
            latitude=35 + rnd.random() * 5,
            longitude=46 + rnd.random() * 13,
            channels=[web, app],
        )
        for n in range(STORES)
    ] + [WarehouseFactory(code=f"wh-{n}", channels=[web, app]) for n in range(WAREHOUSES)]
    products = ProductFactory.create_batch(PRODUCTS)
    variants = ProductVariant.objects.bulk_create(
        [
            ProductVariant(product=products[n // 10], sku=f"BENCH-{n:05d}", position=n % 10)
            for n in range(SKUS)
        ]
    )
    listings = ProductListing.objects.bulk_create(
        [ProductListing(product=product, channel=web) for product in products]
    )
    listing_of = {listing.product_id: listing for listing in listings}
    VariantListing.objects.bulk_create(
        [
            VariantListing(
                listing=listing_of[variant.product_id],
                variant=variant,
                price=Money(rnd.choice([19, 29, 49, 79, 129]), web.currency),
            )
            for variant in variants
        ]
    )
    # Stock through the ledger (receipts), so levels and ledger agree as in production.
    received = timezone.now() - timedelta(days=1)
    receipts = [
        MovementInput(
            sku=variant.sku,
            location=location.code,
            reason="receipt",
            idempotency_key=f"seed-{variant.sku}-{location.code}",
            occurred_at=received,
            quantity=rnd.randint(20, 200),
            source="bench-seed",
        )
        for variant in variants
        for location in locations
    ]
    for at in range(0, len(receipts), 2000):
        results = record_movements(receipts[at : at + 2000])
        assert all(r.status == "applied" for r in results), results[0]

    _key, raw = api_key_with(
        ["customers:write", "inventory:write", "orders:write"],
        name="bench partner",
        rate="10000000/min",
    )
    # Customers through the real door: identities normalised as every later request's are.
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    for first in range(0, CUSTOMERS, 500):
        items = [
            {
                "type": "identify",
                "identities": [
                    {"kind": "email", "value": email_of(n)},
                    {"kind": "cookie", "value": cookie_of(n)},
                    {"kind": "phone", "value": phone_of(n)},
                ],
                "traits": {"first_name": f"Shopper {n}"},
                "channel": "web",
                "message_id": f"seed-{n}",
            }
            for n in range(first, min(first + 500, CUSTOMERS))
        ]
        response = client.post("/api/v1/batch", {"items": items}, content_type="application/json")
        assert response.status_code == 200 and not response.json()["errors"], response.content[:300]
    return [variant.sku for variant in variants], raw


def email_of(n):
    return f"shopper{n}@example.com"


def cookie_of(n):
    return f"cookie-{n}"


def phone_of(n):
    return f"+98912{n:07d}"


# --- the requests --------------------------------------------------------------------------
@dataclass
class Planned:
    endpoint: str
    raw: bytes | None  # None: a retry, chosen when it is due
    check: object = None  # (status, head, body) -> "ok" | "refused" | an error text
    retry_check: object = None  # how a resend of this request must be answered


def http_request(method, path, *, body=b"", headers=()):
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    if method == "POST":
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _json_of(body):
    try:
        return json.loads(body)
    except ValueError:
        return {}


def expect(*statuses):
    def check(status, head, body):
        return "ok" if status in statuses else f"HTTP {status}: {body[:160]!r}"

    return check


def expect_written(*statuses):
    """A write: these statuses, or a refusal for want of stock (counted apart)."""

    def check(status, head, body):
        if status in statuses:
            return "ok"
        if status == 409 and _json_of(body).get("error", {}).get("code") == "insufficient_stock":
            return "refused"
        return f"HTTP {status}: {body[:160]!r}"

    return check


def expect_batch(events):
    def check(status, head, body):
        if status != 200:
            return f"HTTP {status}: {body[:160]!r}"
        answer = _json_of(body)
        if answer.get("errors") or answer.get("stored", 0) + answer.get("duplicates", 0) != events:
            return f"batch answered {answer.get('stored')} stored, {answer.get('errors')} errors"
        return "ok"

    return check


def expect_webhook(*, duplicate):
    def check(status, head, body):
        if status != 200:
            return f"HTTP {status}: {body[:160]!r}"
        answer = _json_of(body)
        wanted = ("duplicates", "accepted") if duplicate else ("accepted", "duplicates")
        if answer.get(wanted[0]) != 1 or answer.get(wanted[1]) != 0:
            return f"webhook answered {answer}"
        return "ok"

    return check


def expect_replayed(status, head, body):
    if not 200 <= status < 300:
        return f"HTTP {status}: {body[:160]!r}"
    if b"\r\nidempotent-replayed: true" not in head.lower():
        return "a retry with the same Idempotency-Key was not answered from the stored answer"
    return "ok"


class Mix:
    """The partner's requests, built before the clock starts (the client's CPU during the
    run is then only sending and reading)."""

    def __init__(self, skus, raw_key, step):
        self.skus, self.step = skus, step
        self.rnd = random.Random(f"http-load-{step}")
        self.auth = ("Authorization", f"Bearer {raw_key}")
        self.number = 0

    def plan(self, count):
        names = list(MIX)
        return [
            self.one(name) for name in self.rnd.choices(names, [MIX[n] for n in names], k=count)
        ]

    def one(self, endpoint):
        self.number += 1
        builders = {
            AVAILABILITY: self._availability,
            BULK: self._bulk,
            BATCH: self._batch,
            RESERVATION: self._reservation,
            ORDER: self._order,
            WEBHOOK: self._webhook,
            RETRY: self._retry,
        }
        return builders[endpoint]()

    def _key(self, kind):
        return ("Idempotency-Key", f"{kind}-{self.step}-{self.number}-{secrets.token_hex(4)}")

    def _post(self, endpoint, path, document, check, *, headers=()):
        body = json.dumps(document).encode()
        raw = http_request("POST", path, body=body, headers=(self.auth, *headers))
        return Planned(endpoint, raw, check, expect_replayed)

    def _availability(self):
        sku = self.rnd.choice(self.skus)
        path = f"/api/v1/availability?sku={quote(sku)}&channel=web"
        return Planned(AVAILABILITY, http_request("GET", path, headers=(self.auth,)), expect(200))

    def _bulk(self):
        document = {"channel": "web", "skus": self.rnd.sample(self.skus, BULK_SKUS)}
        body = json.dumps(document).encode()
        raw = http_request("POST", "/api/v1/availability/bulk", body=body, headers=(self.auth,))
        return Planned(BULK, raw, expect(200))

    def _batch(self):
        now = datetime.now(UTC)
        items = []
        for visitor in range(BATCH_VISITORS):
            if visitor < BATCH_VISITORS * 0.8:
                person = self.rnd.randrange(CUSTOMERS)
                identities = [
                    {"kind": "email", "value": email_of(person)},
                    {"kind": "cookie", "value": cookie_of(person)},
                ]
            else:
                identities = [
                    {"kind": "cookie", "value": f"visitor-{self.step}-{self.number}-{visitor}"}
                ]
            for k in range(EVENTS_PER_VISITOR):
                name, properties = self.rnd.choice(EVENTS)
                items.append(
                    {
                        "type": "track",
                        "identities": identities,
                        "event": name,
                        "properties": properties(self.rnd.choice(self.skus)),
                        "channel": self.rnd.choice(["web", "app"]),
                        "message_id": f"ev-{self.step}-{self.number}-{visitor}-{k}",
                        "occurred_at": (now - timedelta(seconds=60 - k)).isoformat(),
                    }
                )
        check = expect_batch(len(items))
        return self._post(
            BATCH, "/api/v1/batch", {"items": items}, check, headers=[self._key("batch")]
        )

    def _reservation(self):
        document = {
            "sku": self.rnd.choice(self.skus),
            "quantity": self.rnd.choice([1, 1, 1, 2]),
            "channel": "web",
            "expires_in": 900,
            "reference": f"cart-{self.step}-{self.number}",
        }
        check = expect_written(201)
        return self._post(
            RESERVATION, "/api/v1/reservations", document, check, headers=[self._key("hold")]
        )

    def _order(self):
        person = self.rnd.randrange(CUSTOMERS)
        document = {
            "external_id": f"web-{self.step}-{self.number}",
            "channel": "web",
            "customer": {"identities": [{"kind": "email", "value": email_of(person)}]},
            "lines": [
                {"sku": sku, "quantity": self.rnd.choice([1, 1, 2])}
                for sku in self.rnd.sample(self.skus, self.rnd.randint(1, 3))
            ],
            "shipping": {
                "name": f"Shopper {person}",
                "address": "12 Valiasr St",
                "city": "Tehran",
                "country": "IR",
            },
        }
        check = expect_written(201)
        return self._post(ORDER, "/api/v1/orders/", document, check, headers=[self._key("order")])

    def _webhook(self):
        known = self.rnd.random() < 0.8
        sender = phone_of(self.rnd.randrange(CUSTOMERS)) if known else f"+98935{self.number:07d}"
        document = {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "102290129340398",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "15550783881",
                                    "phone_number_id": "106540352242922",
                                },
                                "contacts": [
                                    {"profile": {"name": "Bench Shopper"}, "wa_id": sender[1:]}
                                ],
                                "messages": [
                                    {
                                        "from": sender[1:],
                                        "id": f"wamid.bench{self.step}x{self.number}",
                                        "timestamp": str(int(time.time())),
                                        "type": "text",
                                        "text": {"body": self.rnd.choice(QUESTIONS)},
                                    }
                                ],
                            },
                        }
                    ],
                }
            ],
        }
        body = json.dumps(document).encode()
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        raw = http_request(
            "POST",
            "/api/v1/inbound/whatsapp",
            body=body,
            headers=[("X-Hub-Signature-256", signature)],
        )
        # Meta retries a delivery it thinks failed with the same message id: stored once.
        return Planned(
            WEBHOOK, raw, expect_webhook(duplicate=False), expect_webhook(duplicate=True)
        )

    def _retry(self):
        return Planned(RETRY, None)


# --- the client ----------------------------------------------------------------------------
@dataclass
class Outcome:
    endpoint: str
    latency: float  # seconds from the scheduled time to the whole answer read
    result: str  # "ok", "refused", or what went wrong
    measured: bool  # scheduled inside the measured window (not the warm-up)
    done_at: float


async def exchange(port, raw):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        answer = await reader.read()  # Connection: close: the answer ends at EOF
    finally:
        writer.close()
    head, _sep, body = answer.partition(b"\r\n\r\n")
    if not head:
        raise ConnectionError("the connection closed without an answer")
    return int(head.split(b" ", 2)[1]), head, body


async def drive(port, plans, rate, warmup):
    """Send plans[i] at start + i / rate, each in its own task, never waiting for answers."""
    loop = asyncio.get_running_loop()
    outcomes, written = [], []  # written: (raw, check) of writes answered "ok", to retry
    lag = [0.0]

    async def send(plan, due, measured):
        if plan.raw is None:  # a retry: an earlier write answered ok, sent again unchanged
            if not written:
                return
            raw, check = written[random.Random(due).randrange(len(written))]
        else:
            raw, check = plan.raw, plan.check
        try:
            status, head, body = await asyncio.wait_for(exchange(port, raw), TIMEOUT)
            result = check(status, head, body)
        except TimeoutError:
            result = f"timeout after {TIMEOUT:g} s"
        except OSError as error:
            result = f"connection error: {error!r}"
        except (ValueError, IndexError) as error:
            result = f"malformed answer: {error!r}"
        done = loop.time()
        outcomes.append(Outcome(plan.endpoint, done - due, result, measured, done))
        if result == "ok" and plan.raw is not None and plan.retry_check is not None:
            written.append((raw, plan.retry_check))

    start = loop.time() + 0.1
    tasks = []
    index = 0
    while index < len(plans):
        now = loop.time()
        due = start + index / rate
        if due > now:
            await asyncio.sleep(due - now)
            continue
        lag[0] = max(lag[0], now - due)
        while index < len(plans) and start + index / rate <= now:
            due = start + index / rate
            measured = due >= start + warmup
            tasks.append(asyncio.create_task(send(plans[index], due, measured)))
            index += 1
    await asyncio.gather(*tasks)
    return outcomes, start + warmup, lag[0]


def run_load(port, plans, rate, warmup):
    gc.collect()
    gc.freeze()  # the prepared requests are not walked by every collection during the run
    try:
        return asyncio.run(drive(port, plans, rate, warmup))
    finally:
        gc.unfreeze()


@dataclass
class Summary:
    offered: float
    seconds: float
    rows: dict = field(default_factory=dict)  # endpoint -> dict of figures
    total: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)  # ((endpoint, what went wrong), how many)


def summarise(outcomes, window_start, rate, seconds):
    measured = [o for o in outcomes if o.measured]
    last = max((o.done_at for o in measured), default=window_start + seconds)
    span = max(seconds, last - window_start)
    summary = Summary(rate, span)

    def figures(group):
        answered = [o for o in group if o.result in ("ok", "refused")]
        latencies = [o.latency for o in group]
        errors = [o for o in group if o.result not in ("ok", "refused")]
        return {
            "count": len(group),
            "rate": len(answered) / span,
            "mean": sum(latencies) * 1000 / len(latencies) if latencies else 0.0,
            "p50": percentile(latencies, 0.50) * 1000 if latencies else 0.0,
            "p95": percentile(latencies, 0.95) * 1000 if latencies else 0.0,
            "p99": percentile(latencies, 0.99) * 1000 if latencies else 0.0,
            "max": max(latencies) * 1000 if latencies else 0.0,
            "refused": sum(o.result == "refused" for o in group),
            "errors": len(errors),
        }

    for endpoint in MIX:
        group = [o for o in measured if o.endpoint == endpoint]
        if group:
            summary.rows[endpoint] = figures(group)
    summary.total = figures(measured)
    summary.errors = Counter(
        (o.endpoint, o.result[:120]) for o in measured if o.result not in ("ok", "refused")
    ).most_common()
    return summary


def print_table(summary):
    """Latencies from the scheduled time (queueing included); `server` is the mean time the
    server itself measured (core.metrics), so mean - server is time spent waiting."""
    print(
        f"     {'endpoint':<38} {'count':>5} {'per s':>6} {'mean':>7} {'server':>7} "
        f"{'p50':>7} {'p95':>7} {'p99':>7} {'max':>7} {'409':>4} {'errors':>6}  (ms)"
    )
    for endpoint, row in [*summary.rows.items(), ("all", summary.total)]:
        server = f"{row['server']:>7.1f}" if "server" in row else f"{'':>7}"
        print(
            f"     {endpoint:<38} {row['count']:>5} {row['rate']:>6.1f} {row['mean']:>7.1f} "
            f"{server} {row['p50']:>7.1f} {row['p95']:>7.1f} {row['p99']:>7.1f} "
            f"{row['max']:>7.1f} {row['refused']:>4} {row['errors']:>6}"
        )
    for (endpoint, text), times in summary.errors[:6]:
        print(f"     error x{times}, {endpoint.strip()}: {text}")
    if len(summary.errors) > 6:
        print(f"     ... and {len(summary.errors) - 6} other kinds of error")


# --- the server ----------------------------------------------------------------------------
def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url(settings):
    user = quote(settings["USER"] or "", safe="")
    password = f":{quote(settings['PASSWORD'], safe='')}" if settings["PASSWORD"] else ""
    host = settings["HOST"] or "127.0.0.1"
    port = f":{settings['PORT']}" if settings["PORT"] else ""
    return f"postgres://{user}{password}@{host}{port}/{settings['NAME']}"


def server_environment(url, metrics_dir):
    env = dict(os.environ)
    # The embedded defaults for everything but the database: eager Celery, per-process cache,
    # in-memory live events; nothing that would reach another install's Redis or a tracer.
    for name in (
        "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "CACHE_URL", "LIVE_EVENTS_REDIS_URL",
        "DATABASE_REPLICA_URL", "METRICS_TOKEN", "SENTRY_DSN", "OTEL_ENABLED",
    ):  # fmt: skip
        env.pop(name, None)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=url,
        DEBUG="False",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        # Loopback, no TLS proxy in front: no redirect to https.
        SECURE_SSL_REDIRECT="False",
        # The API serves no static files; no collectstatic manifest is needed.
        STATICFILES_BACKEND="django.contrib.staticfiles.storage.StaticFilesStorage",
        EMAIL_URL="dummymail://",
        # As production runs several workers: their request timings summed at /metrics,
        # which gives the server's own time per endpoint beside the client's.
        PROMETHEUS_MULTIPROC_DIR=metrics_dir,
        # Each worker keeps one backend for the whole run (production: 60 s, then a new
        # one; no difference a request would notice), so the CPU figure counts every backend.
        CONN_MAX_AGE="3600",
    )
    return env


@contextmanager
def gunicorn_serving(url, *, workers, worker_class, threads, log_path):
    """gunicorn in its own process group, stopped (the whole group) whatever happens."""
    port = free_port()
    metrics_dir = tempfile.TemporaryDirectory(prefix="http_load-metrics-")
    command = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
        "--worker-class", worker_class, "--threads", str(threads),
        "--backlog", "2048", "--timeout", "60", "--graceful-timeout", "5",
        "--log-level", "info", "--error-logfile", "-",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=server_environment(url, metrics_dir.name),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_serving(port, process, workers, log_path)
        yield port, process.pid
    finally:
        stop(process)
        metrics_dir.cleanup()


def wait_until_serving(port, process, workers, log_path):
    deadline = time.monotonic() + 90
    probe = http_request("GET", "/healthz?live")
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({process.returncode}); see {log_path}")
        try:
            status, _head, _body = asyncio.run(exchange(port, probe))
            booted = Path(log_path).read_text(errors="replace").count("Booting worker")
            if status == 200 and booted >= workers:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within 90 s; see {log_path}")


def stop(process):
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)
    except ProcessLookupError:
        pass


def warm(port, skus, raw_key):
    """Every worker imports lazily on its first requests: a few of each kind, unmeasured,
    before the warm-up proper."""
    mix = Mix(skus, raw_key, step="warm")
    plans = [mix.one(name) for name in MIX if name != RETRY for _ in range(WORKERS * 2)]
    outcomes, _start, _lag = asyncio.run(drive(port, plans, 20, 0))
    failed = [o.result for o in outcomes if o.result not in ("ok", "refused")]
    if failed:
        raise RuntimeError(f"{len(failed)} warming requests failed, first: {failed[0]}")


def _cpu_seconds(pid):
    """User + system CPU seconds the process has used so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_by_pid(pids):
    return {pid: seconds for pid in pids if (seconds := _cpu_seconds(pid)) is not None}


def server_pids(group, database):
    """gunicorn's processes (its process group) and the PostgreSQL backends serving the
    benchmark's database (not this process's own)."""
    from django.db import connection

    gunicorn = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group:
            gunicorn.append(int(entry.name))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [database],
        )
        backends = [pid for (pid,) in cursor.fetchall()]
    return gunicorn, backends


class CpuMeter:
    """CPU used by gunicorn, by PostgreSQL's backends for this database and by the client
    during a step, per answered request: a figure the other helpers' load on the shared
    cores does not move much, unlike the latencies."""

    def __init__(self, group, database):
        self.group, self.database = group, database

    def __enter__(self):
        app, db = server_pids(self.group, self.database)
        self.start = (_cpu_by_pid(app), _cpu_by_pid(db), time.process_time())
        return self

    def __exit__(self, *exc):
        app, db = server_pids(self.group, self.database)
        # Per process: one that started during the step counts whole (a worker's connection
        # renewed after CONN_MAX_AGE); one that ended took its last figures with it.
        self.used = tuple(
            sum(seconds - before.get(pid, 0.0) for pid, seconds in _cpu_by_pid(pids).items())
            for pids, before in ((app, self.start[0]), (db, self.start[1]))
        ) + (time.process_time() - self.start[2],)
        return False

    def per_request(self, answered):
        return tuple(seconds * 1000 / max(answered, 1) for seconds in self.used)


def server_seconds(port):
    """{view: (requests, seconds)} from the server's request histogram (every worker's)."""
    status, _head, body = asyncio.run(exchange(port, http_request("GET", "/metrics")))
    if status != 200:
        return {}
    totals = {}
    for line in body.decode().splitlines():
        if not line.startswith("omni_http_request_duration_seconds_"):
            continue
        name, _brace, rest = line.partition("{")
        labels, _close, value = rest.rpartition("} ")
        view = labels.split('view="', 1)[1].split('"', 1)[0] if 'view="' in labels else ""
        count, seconds = totals.get(view, (0.0, 0.0))
        if name.endswith("_count"):
            count += float(value)
        elif name.endswith("_sum"):
            seconds += float(value)
        totals[view] = (count, seconds)
    return totals


def settle(port, seconds=30):
    """Until the server answers a liveness probe at once: a step that overloaded it leaves
    a backlog of requests the client gave up on, which must not weigh on the next step."""
    deadline = time.monotonic() + seconds
    probe = http_request("GET", "/healthz?live")
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            asyncio.run(asyncio.wait_for(exchange(port, probe), TIMEOUT))
        except (OSError, TimeoutError):
            pass
        else:
            if time.perf_counter() - started < 0.05:
                return
        time.sleep(0.5)


def load_line():
    one, five, _fifteen = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def check_database(written_before):
    """What the database holds after the run: as many orders and reservations as were
    answered 201 (retries made none), and never more reserved than on hand."""
    from django.db.models import F

    from inventory.models import Reservation, StockLevel
    from orders.models import Order

    return {
        "orders": Order.objects.count() - written_before["orders"],
        "reservations": _partner_holds(Reservation) - written_before["reservations"],
        "oversold levels": StockLevel.objects.filter(reserved__gt=F("on_hand")).count(),
    }


def counts():
    from inventory.models import Reservation
    from orders.models import Order

    return {"orders": Order.objects.count(), "reservations": _partner_holds(Reservation)}


def _partner_holds(model):
    # Orders hold their lines' units too; the partner's own holds carry its cart reference.
    return model.objects.filter(reference__startswith="cart-").count()


def run_step(port, group, database, mix, rate, options):
    """One offered rate: warm-up and measured window; prints the load and CPU lines."""
    before = counts()
    print(
        f"     offered {rate:g} req/s for {options.warmup:g} s warm-up + {options.seconds:g} s "
        f"measured; {load_line()} before"
    )
    plans = mix.plan(int(rate * (options.warmup + options.seconds)))
    timed_before = server_seconds(port)
    with CpuMeter(group, database) as cpu:
        outcomes, window_start, lag = run_load(port, plans, rate, options.warmup)
    timed = server_seconds(port)
    summary = summarise(outcomes, window_start, rate, options.seconds)
    for endpoint, row in summary.rows.items():
        # Over the warm-up and the window alike (the histogram has no clock), retries included.
        count, seconds = timed.get(VIEWS.get(endpoint), (0, 0))
        count_before, seconds_before = timed_before.get(VIEWS.get(endpoint), (0, 0))
        if count > count_before:
            row["server"] = (seconds - seconds_before) * 1000 / (count - count_before)
    held = check_database(before)
    app_ms, db_ms, client_ms = cpu.per_request(sum(o.result in ("ok", "refused") for o in outcomes))
    whole = app_ms + db_ms + client_ms
    print(
        f"     ... {load_line()} after; the client's scheduler ran at most {lag * 1000:.1f} ms late"
    )
    print(
        f"     CPU per answered request: {app_ms:.1f} ms gunicorn + {db_ms:.1f} ms PostgreSQL "
        f"backends + {client_ms:.1f} ms this client = {whole:.1f} ms: {os.cpu_count()} idle "
        f"cores would serve at most {os.cpu_count() * 1000 / max(whole, 0.001):.0f}/s"
    )
    return summary, outcomes, held


def curve_line(rate, summary):
    total = summary.total
    worst, row = max(summary.rows.items(), key=lambda item: item[1]["p99"])
    print(
        f"CURVE offered {rate:>6.1f}/s achieved {total['rate']:>6.1f}/s p50 {total['p50']:>7.1f} "
        f"p95 {total['p95']:>7.1f} p99 {total['p99']:>7.1f} ms errors {total['errors']:>4}; "
        f"worst p99 {row['p99']:.0f} ms ({worst.strip()})"
    )


def judge(rate, summary, outcomes, held, tracebacks):
    """The database's own count, and one line per target."""
    answered = {
        name: sum(o.endpoint == name and o.result == "ok" for o in outcomes)
        for name in (ORDER, RESERVATION)
    }
    print(
        f"     in the database: {held['orders']} new orders for {answered[ORDER]} answered 201, "
        f"{held['reservations']} new reservations for {answered[RESERVATION]}; "
        f"{held['oversold levels']} levels reserved beyond on hand; "
        f"server log: {tracebacks} tracebacks"
    )
    total = summary.total
    ok = [
        report(
            f"rate achieved, of {rate:g} req/s offered (answered/s)",
            total["rate"],
            "/s",
            rate * ACHIEVED_SHARE,
            lower_is_better=False,
        ),
        report("errors (unexpected status, timeout, connection)", total["errors"], "", 0),
        report(f"p99, all endpoints at {rate:g} req/s offered", total["p99"], "ms", P99_TARGET_MS),
    ]
    for endpoint, row in summary.rows.items():
        ok.append(report(f"p99, {endpoint.strip()}", row["p99"], "ms", P99_TARGET_MS))
    extra = held["orders"] - answered[ORDER] + held["reservations"] - answered[RESERVATION]
    ok.append(report("writes held beyond the 201s (retries must add none)", extra, "", 0))
    ok.append(report("stock levels reserved beyond on hand", held["oversold levels"], "", 0))
    return all(ok)


def _exit_on_signal(number, _frame):
    raise SystemExit(128 + number)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=RATE, help="requests per second offered")
    parser.add_argument("--seconds", type=float, default=SECONDS, help="measured window")
    parser.add_argument("--warmup", type=float, default=WARMUP, help="unmeasured, at the same rate")
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=1, help="per worker, with gthread")
    parser.add_argument(
        "--curve", default="", help="comma-separated rates: one line each, not judged"
    )
    options = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        print("SKIP bench/http_load.py needs PostgreSQL: set DATABASE_URL=postgres://...")
        return 0
    # Stopped by a signal (a timeout, a closed terminal), the finally blocks still stop
    # gunicorn and drop the database: Python's default would end the process without them.
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, _exit_on_signal)
    rates = [float(r) for r in options.curve.split(",") if r.strip()] or [options.rate]
    threads = options.threads if options.worker_class == "gthread" else 1
    log_path = Path(tempfile.gettempdir()) / f"http_load-{os.getpid()}.log"

    # Seeding goes through the test client, whose whitenoise looks for collected static
    # files this run never serves.
    warnings.filterwarnings("ignore", message="No directory at")
    with throwaway_database() as connection:
        started = time.perf_counter()
        skus, raw_key = build()
        url = database_url(connection.settings_dict)
        database = connection.settings_dict["NAME"]
        print(
            f"database: {database}; {SKUS} SKUs x {STORES + WAREHOUSES} locations, "
            f"{CUSTOMERS} customers, seeded in {time.perf_counter() - started:.1f} s"
        )
        connection.close()  # the parent's connection idles while the server works
        steps = []
        with gunicorn_serving(
            url,
            workers=options.workers,
            worker_class=options.worker_class,
            threads=threads,
            log_path=log_path,
        ) as (port, group):
            print(
                f"gunicorn config.wsgi: {options.workers} {options.worker_class} workers"
                f"{f' x {threads} threads' if threads > 1 else ''} on 127.0.0.1:{port}, DEBUG "
                "off, Celery eager; per 100 requests: "
                + ", ".join(f"{weight} {name.split(' (')[0]}" for name, weight in MIX.items())
            )
            warm(port, skus, raw_key)
            for step, rate in enumerate(rates):
                mix = Mix(skus, raw_key, step)
                summary, outcomes, held = run_step(port, group, database, mix, rate, options)
                steps.append((rate, summary, outcomes, held))
                print_table(summary)
                if options.curve:
                    curve_line(rate, summary)
                    if summary.total["rate"] < rate * 0.9:
                        print("     (stopping: the server no longer keeps up)")
                        break
                    settle(port)
        log = log_path.read_text(errors="replace")
        tracebacks = log.count("Traceback") + log.count("WORKER TIMEOUT")
        ok = True
        if not options.curve:
            ok = judge(*steps[0], tracebacks)
        if tracebacks:
            print(f"     server log kept: {log_path} ({tracebacks} tracebacks)")
        else:
            log_path.unlink(missing_ok=True)
        if options.curve:
            return 0
        print("all targets met" if ok else "some targets missed")
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
