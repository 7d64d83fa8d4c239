"""Fault tests: a real Redis, started on its own port by the test, serves as the broker (or
the shared cache) and is stopped mid-test. Partners still get normal answers, nothing is
stored twice, and the side work left in the database goes out once the broker is back.

Every request made while a service is down must answer within ANSWER_BOUND_SECONDS, issue
24's bound ("with the broker down an order answers 201 in under 1 s"): a correctness bound,
generous for a request that costs milliseconds when the publish gives up as configured (the
retry policy is checked below), not a benchmark (bench/faults.py measures).
"""

import datetime as dt
import logging
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone

from config.celery import app as celery_app
from core.models import OutboxEvent, WebhookEndpoint
from core.services import shared_cache
from customers.models import Customer
from inventory.factories import ChannelStockRuleFactory
from inventory.models import StockMovement, StockSyncState
from inventory.tasks import push_stock_changes
from orders.models import Order
from support.models import DeliveryStatus, Message
from support.services import InboundMessage, receive_inbound, reply
from support.tasks import send_unsent_replies
from tests.orders.conftest import shop  # noqa: F401 (the orders fixture: channels, stock)
from tests.receivers import HttpReceiver, free_port
from tests.support.conftest import Webhooks, make_channel

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
ADDRESS = {"name": "Ali", "address": "1 Street", "city": "Tehran", "country": "IR"}
# Issue 24: with a service down, a request answers "in under 1 s" (the 19 s it took was the bug).
ANSWER_BOUND_SECONDS = 1.0


def answered_in_time(send, *args, **kwargs):
    """`send(*args, **kwargs)` (a test client's post or get), failing the test when the answer
    took ANSWER_BOUND_SECONDS or longer."""
    started = time.perf_counter()
    response = send(*args, **kwargs)
    seconds = time.perf_counter() - started
    assert seconds < ANSWER_BOUND_SECONDS, f"{args[0]} answered in {seconds:.2f} s"
    return response


class RedisServer:
    """A redis-server of our own on a free loopback port, stopped and started by the test."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        assert wait_until(lambda: _answers(client), 20), "redis-server did not start"
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        assert not _answers(client), "redis-server still answers"


def _answers(client):
    try:
        return client.ping()
    except redis.RedisError:
        return False


def wait_until(condition, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False


@pytest.fixture
def redis_server():
    if not os.path.exists(REDIS_SERVER):
        reason = "needs redis-server (apt-get install redis-server)"
        if os.environ.get("OMNI_REQUIRE_SERVICES") == "1":
            pytest.fail(f"required service missing: {reason}")
        pytest.skip(reason)
    server = RedisServer().start()
    yield server
    server.stop()


def _forget_broker_connections():
    celery_app._pool = None
    if "amqp" in celery_app.__dict__:
        celery_app.amqp._producer_pool = None


@pytest.fixture
def broker_at():
    """`broker_at(url)`: this process publishes to a real broker instead of running tasks
    eagerly, as a web process with CELERY_BROKER_URL does; `broker_at(None)` and the end of
    the test restore the suite's eager mode."""
    saved = {
        name: celery_app.conf[name]
        for name in ("broker_url", "task_always_eager", "result_backend")
    }

    def point(url):
        if url is None:  # back to the suite's way: tasks run in-process
            celery_app.conf.update(saved)
        else:
            celery_app.conf.update(broker_url=url, task_always_eager=False, result_backend=None)
        _forget_broker_connections()

    yield point
    celery_app.conf.update(saved)
    _forget_broker_connections()
    celery_app.set_current()  # whatever a test created, shared tasks belong to ours again


@pytest.fixture
def cache_at():
    """`cache_at(url)`: the shared cache is the Redis at `url`; restored before the suite's
    cache-clearing fixture runs (it would talk to the stopped Redis)."""
    overrides = []

    def point(url):
        override = override_settings(
            CACHES={
                "default": {
                    "BACKEND": "django.core.cache.backends.redis.RedisCache",
                    "LOCATION": url,
                    "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
                }
            }
        )
        override.enable()
        overrides.append(override)

    yield point
    for override in reversed(overrides):
        override.disable()


def database_url():
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    return f"postgres://{db.get('USER') or 'postgres'}{password}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"


def start_worker(broker_url):
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo"]
        + ["-n", f"fault-{uuid.uuid4().hex[:6]}@%h", "--without-gossip", "--without-mingle"]
        + ["--without-heartbeat", "--loglevel=WARNING"],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker_url,
            "CELERY_RESULT_BACKEND": broker_url,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop_worker(process):
    process.terminate()
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output


def order_body(shop, sku_colour="black", **changes):  # noqa: F811 (shop is the fixture's data)
    return {
        "channel": "web",
        "customer": {"identities": [{"kind": "email", "value": "ali@example.com"}]},
        "lines": [{"sku": shop.sku(sku_colour), "quantity": 1}],
        "shipping": ADDRESS,
        **changes,
    }


def movement(shop, key):  # noqa: F811
    occurred = (timezone.now() - dt.timedelta(minutes=1)).isoformat()
    return {
        "movements": [
            {
                "sku": shop.sku("white"),
                "location": shop.warehouse.code,
                "reason": "sale",
                "quantity": -1,
                "idempotency_key": key,
                "occurred_at": occurred,
            }
        ]
    }


def test_publish_gives_up_within_a_fraction_of_a_second_by_configuration():
    """What bounds a request's cost when the broker is dead: the publish is tried three times
    at most, 50 ms apart, each connection attempt cut off at BROKER_TIMEOUT_SECONDS; side
    work subscribes to no result backend (whose default reconnects took the 19 s)."""
    policy = celery_app.conf.task_publish_retry_policy
    assert celery_app.conf.task_publish_retry is True
    attempts = policy["max_retries"] + 1
    waits = sum(
        min(policy["interval_start"] + n * policy["interval_step"], policy["interval_max"])
        for n in range(policy["max_retries"])
    )
    worst = attempts * settings.BROKER_TIMEOUT_SECONDS + waits
    assert attempts <= 3 and worst < 1.0, (attempts, worst)
    assert celery_app.conf.broker_connection_timeout == settings.BROKER_TIMEOUT_SECONDS
    backend_policy = celery_app.conf.result_backend_transport_options["retry_policy"]
    assert backend_policy["max_retries"] <= 2


@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_partners_get_answers_and_the_side_work_follows_once(
    shop,  # noqa: F811
    api_client_for,
    redis_server,
    broker_at,
    caplog,
):
    events_receiver, stock_receiver = HttpReceiver(), HttpReceiver()
    WebhookEndpoint.objects.create(
        name="partner", url=events_receiver.url, secret="s3cret", topics=["*"]
    )
    ChannelStockRuleFactory(
        channel=shop.channels["web"],
        sync_enabled=True,
        sync_url=stock_receiver.url,
        sync_secret="stock-secret",
    )
    make_channel("sms", "sms")
    orders = api_client_for("orders:write", "customers:write")
    stock = api_client_for("inventory:write")
    identify = api_client_for("customers:write")
    broker_at(redis_server.url)
    worker = None
    try:
        redis_server.stop()
        caplog.set_level(logging.WARNING, logger="core.services.enqueue")

        placed = answered_in_time(
            orders.post,
            "/api/v1/orders/",
            order_body(shop),
            format="json",
            HTTP_IDEMPOTENCY_KEY="fault-1",
        )
        assert placed.status_code == 201, placed.content
        # One publish attempt for the order's whole transaction, however many events it wrote.
        refused = [r for r in caplog.records if "broker unreachable" in r.getMessage()]
        assert [r.getMessage().split(":")[1].split()[0] for r in refused].count(
            "core.deliver_outbox"
        ) == 1
        replay = answered_in_time(
            orders.post,
            "/api/v1/orders/",
            order_body(shop),
            format="json",
            HTTP_IDEMPOTENCY_KEY="fault-1",
        )
        assert replay.status_code == 201 and replay.json()["number"] == placed.json()["number"]
        assert Order.objects.count() == 1

        # Each sent twice, as a partner or provider retries an answer it did not trust.
        for attempt in (1, 2):
            moved = answered_in_time(
                stock.post, "/api/v1/stock/movements", movement(shop, "pos-1"), format="json"
            )
            assert moved.status_code == 200, moved.content
            assert moved.json()["applied"] == (1 if attempt == 1 else 0), moved.content
            who = answered_in_time(
                identify.post,
                "/api/v1/identify",
                {"identities": [{"kind": "email", "value": "ali@example.com"}]},
                format="json",
            )
            assert who.status_code == 200, who.content
            inbound = answered_in_time(
                Webhooks().post,
                "sms",
                {"id": "SM1", "from": "+989121234567", "to": "+98100", "text": "Hello?"},
            )
            assert inbound.status_code == 200, inbound.content
        assert_stored_once(shop)
        # Identify named the order's customer, not a new one.
        assert who.json()["customer"]["id"] == str(Order.objects.get().customer.public_id)

        # The side work waits in the database.
        assert OutboxEvent.objects.filter(published_at__isnull=True).exists()
        assert StockSyncState.objects.filter(channel=shop.channels["web"], pending=True).exists()
        assert events_receiver.received == [] and stock_receiver.received == []

        # The broker comes back, with a real worker.
        redis_server.start()
        worker = start_worker(redis_server.url)
        # The next enqueue (another order) sends every pending event, old ones included.
        second = orders.post("/api/v1/orders/", order_body(shop, "red"), format="json")
        assert second.status_code == 201, second.content
        assert wait_until(
            lambda: not OutboxEvent.objects.filter(published_at__isnull=True).exists(), 90
        ), "pending events were not delivered after the broker returned"
        # What beat sends: the sweeps find nothing left to send twice, and push the stock.
        # Not the current app: shared tasks resolve to the current app, and this one would
        # stay behind pointing at a broker the next tests do not have.
        client = Celery(broker=redis_server.url, backend=redis_server.url, set_as_current=False)
        client.conf.task_routes = settings.CELERY_TASK_ROUTES  # each to its queue, as beat does
        swept = client.send_task("core.deliver_outbox").get(timeout=60)
        assert swept == {"sent": 0, "failed": 0}
        client.send_task("inventory.push_stock_changes").get(timeout=60)
        assert wait_until(
            lambda: (
                not StockSyncState.objects.filter(pending=True).exists() and stock_receiver.received
            ),
            90,
        ), "pending stock marks were not pushed after the broker returned"
    finally:
        output = stop_worker(worker) if worker else ""
        events_receiver.close()
        stock_receiver.close()
    if os.environ.get("SHOW_CELERY_OUTPUT"):
        print(output)

    delivered = Counter(headers["X-Omni-Event-Id"] for headers, _body in events_receiver.received)
    events = {str(pk) for pk in OutboxEvent.objects.values_list("pk", flat=True)}
    assert set(delivered) == events
    assert all(count == 1 for count in delivered.values()), delivered
    numbers = {
        body["payload"]["number"]
        for body in events_receiver.json_bodies()
        if body["topic"] == "order_placed"
    }
    assert numbers == {placed.json()["number"], second.json()["number"]}
    pushed = {item["sku"] for body in stock_receiver.json_bodies() for item in body["items"]}
    assert shop.sku("white") in pushed
    assert Order.objects.count() == 2
    assert_stored_once(shop)  # the sweeps and the worker stored nothing again


def assert_stored_once(shop):  # noqa: F811
    """What the broker-down test sent while the broker was down, each stored exactly once."""
    assert Message.objects.filter(external_id="SM1").count() == 1
    assert StockMovement.objects.filter(idempotency_key="pos-1").count() == 1
    assert StockMovement.objects.filter(variant=shop.variant("white"), reason="sale").count() == 1
    identified = Customer.objects.filter(
        identities__kind="email", identities__value="ali@example.com"
    )
    assert identified.count() == 1


@pytest.mark.django_db
def test_with_the_cache_down_the_api_and_pages_answer_and_recover_when_it_returns(
    shop,  # noqa: F811
    api_client_for,
    staff_in_role,
    redis_server,
    cache_at,
    caplog,
    monkeypatch,
):
    cache_at(redis_server.url)
    ChannelStockRuleFactory(
        channel=shop.channels["web"], sync_enabled=True, sync_url="http://127.0.0.1:9/none"
    )
    make_channel("sms", "sms")
    orders = api_client_for("orders:write", "customers:write", "orders:read")
    stock = api_client_for("inventory:write")
    staff = staff_in_role("Support agent")
    browser = Client()
    browser.force_login(staff)

    # While the cache is up, the rate limit counts there.
    assert orders.get("/api/v1/orders/").status_code == 200
    assert redis.Redis(port=redis_server.port).keys("*throttle_api_client_*")
    # A running server has compiled its templates; the first render here takes seconds, which
    # the bound below is not about.
    assert browser.get("/support/").status_code == 200

    redis_server.stop()
    monkeypatch.setattr(shared_cache, "_last_warned", {})
    caplog.set_level(logging.WARNING, logger="core.services.shared_cache")

    assert answered_in_time(orders.get, "/api/v1/orders/").status_code == 200
    placed = answered_in_time(orders.post, "/api/v1/orders/", order_body(shop), format="json")
    assert placed.status_code == 201, placed.content
    moved = answered_in_time(
        stock.post, "/api/v1/stock/movements", movement(shop, "pos-9"), format="json"
    )
    assert moved.status_code == 200, moved.content
    inbound = answered_in_time(
        Webhooks().post,
        "sms",
        {"id": "SM9", "from": "+989121234567", "to": "+98100", "text": "Hi"},
    )
    assert inbound.status_code == 200, inbound.content
    # The session lives in the database.
    assert answered_in_time(browser.get, "/support/").status_code == 200
    not_ready = answered_in_time(browser.get, "/healthz?ready")
    assert not_ready.status_code == 503 and not_ready["Retry-After"] == "5"
    cache_health = not_ready.json()["checks"]["cache"]
    assert (cache_health["status"], cache_health["required"]) == ("error", True)

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("shared cache unavailable, rate limit falls back" in w for w in warnings), warnings
    assert shared_cache.fallbacks["rate limit"] >= 1
    # The stock change's push is left to beat's sweep, which reads the pending mark.
    assert StockSyncState.objects.filter(channel=shop.channels["web"], pending=True).exists()

    # Redis comes back (empty, as a restarted cache without persistence): all is as before.
    redis_server.start()
    fell_back = shared_cache.fallbacks["rate limit"]
    ready = browser.get("/healthz?ready")
    assert ready.status_code == 200, ready.content
    assert "Retry-After" not in ready
    cache_health = ready.json()["checks"]["cache"]
    assert (cache_health["status"], cache_health["shared"]) == ("ok", True)
    assert orders.get("/api/v1/orders/").status_code == 200
    again = orders.post("/api/v1/orders/", order_body(shop, "red"), format="json")
    assert again.status_code == 201, again.content
    assert browser.get("/support/").status_code == 200
    # The rate limit counts in the cache again, and nothing fell back since.
    assert redis.Redis(port=redis_server.port).keys("*throttle_api_client_*")
    assert shared_cache.fallbacks["rate limit"] == fell_back
    assert Order.objects.count() == 2


@pytest.mark.django_db
def test_a_reply_whose_publish_the_broker_refused_is_sent_once_by_the_sweep(
    http_receiver, broker_at, django_capture_on_commit_callbacks
):
    whatsapp = make_channel(
        "wa-http", "whatsapp", provider="http", url=http_receiver.url, secret="provider-secret"
    )
    question = receive_inbound(
        InboundMessage(
            channel=whatsapp,
            identities=[{"kind": "whatsapp", "value": "+989121112233"}],
            text="Where is my parcel?",
            external_id="wa-1",
            address="+989121112233",
        )
    ).message
    broker_at(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    with django_capture_on_commit_callbacks(execute=True):
        answer = reply(question.conversation, None, "It ships today.")
    answer.refresh_from_db()
    assert answer.delivery_status == DeliveryStatus.QUEUED and answer.send_attempts == 0

    broker_at(None)  # the broker is back (tasks run in-process again)
    assert send_unsent_replies() == {"replies": 0}  # not yet: its task may still be queued
    Message.objects.filter(pk=answer.pk).update(created_at=timezone.now() - dt.timedelta(minutes=2))
    assert send_unsent_replies() == {"replies": 1}
    assert send_unsent_replies() == {"replies": 0}
    answer.refresh_from_db()
    assert answer.delivery_status == DeliveryStatus.SENT
    assert len(http_receiver.received) == 1


@pytest.mark.django_db
def test_with_the_cache_down_the_stock_sweep_still_pushes_pending_marks_and_recovers(
    shop,  # noqa: F811
    api_client_for,
    http_receiver,
    redis_server,
    cache_at,
    caplog,
    monkeypatch,
):
    ChannelStockRuleFactory(
        channel=shop.channels["web"], sync_enabled=True, sync_url=http_receiver.url
    )
    cache_at(redis_server.url)
    redis_server.stop()
    monkeypatch.setattr(shared_cache, "_last_warned", {})
    caplog.set_level(logging.WARNING, logger="core.services.shared_cache")
    stock = api_client_for("inventory:write")

    moved = answered_in_time(
        stock.post, "/api/v1/stock/movements", movement(shop, "pos-7"), format="json"
    )
    assert moved.status_code == 200, moved.content
    pending = StockSyncState.objects.filter(channel=shop.channels["web"], pending=True)
    assert pending.exists()
    pending.update(changed_at=timezone.now() - dt.timedelta(minutes=1))

    # What beat sends every minute: no cache for its debounce or the channel's lock (a
    # PostgreSQL advisory lock stands in), and the figures go out.
    assert push_stock_changes() == {"channels": 1}
    assert not StockSyncState.objects.filter(pending=True).exists()
    pushed = {item["sku"] for body in http_receiver.json_bodies() for item in body["items"]}
    assert shop.sku("white") in pushed
    assert shared_cache.fallbacks["stock push lock"] >= 1

    # Redis comes back: the API, /healthz?ready and the sweep use it again.
    redis_server.start()
    fell_back = shared_cache.fallbacks["stock push lock"]
    ready = Client().get("/healthz?ready")
    assert ready.status_code == 200, ready.content
    assert ready.json()["checks"]["cache"]["status"] == "ok"
    moved = stock.post("/api/v1/stock/movements", movement(shop, "pos-8"), format="json")
    assert moved.status_code == 200 and moved.json()["applied"] == 1, moved.content
    StockSyncState.objects.filter(pending=True).update(
        changed_at=timezone.now() - dt.timedelta(minutes=1)
    )
    assert push_stock_changes() == {"channels": 1}
    assert not StockSyncState.objects.filter(pending=True).exists()
    assert shared_cache.fallbacks["stock push lock"] == fell_back
