"""Stock figures pushed to a channel's endpoint: a real HTTP receiver and a real Celery
worker (in a thread, in-memory broker) with real countdowns: one request for a burst,
retried after a failure, never an older figure after a newer one."""

import hashlib
import hmac
import json
import time

import pytest
from celery.contrib.testing.worker import start_worker

from config.celery import app
from inventory.factories import ChannelStockRuleFactory, receive_stock
from inventory.models import StockSyncState
from inventory.selectors import available_to_promise
from inventory.services import MovementInput, record_movements, reserve, sync
from tests.task_ledger import TaskLedger

pytestmark = pytest.mark.django_db(transaction=True)
SECRET = "stock-s3cret"


@pytest.fixture
def receiver(http_receiver):
    http_receiver.fail_status = 503  # the endpoint is down for a moment
    return http_receiver


@pytest.fixture
def worker(transactional_db, monkeypatch):
    """A Celery worker thread on the in-memory broker; tasks are really queued, countdowns
    really wait."""
    monkeypatch.setattr(sync, "DEBOUNCE_SECONDS", 1)
    monkeypatch.setattr("inventory.tasks.backoff_seconds", lambda retries: 0.5)
    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        app.conf.task_always_eager = True


@pytest.fixture
def ledger():
    with TaskLedger() as ledger:
        yield ledger


@pytest.fixture
def synced(channels, warehouse, variant, receiver):
    ChannelStockRuleFactory(
        channel=channels["web"], sync_enabled=True, sync_url=receiver.url, sync_secret=SECRET
    )
    return channels["web"]


def sale(variant, location, key):
    return MovementInput(
        sku=variant.sku,
        location=location.code,
        reason="sale",
        quantity=-1,
        idempotency_key=key,
        occurred_at=__import__("django.utils.timezone").utils.timezone.now(),
    )


def test_a_burst_of_sales_sends_one_signed_request_with_the_latest_figure(
    worker, synced, receiver, variant, warehouse, ledger
):
    receive_stock(variant, warehouse, 20)
    for n in range(5):  # five separate transactions, as five POS calls
        record_movements([sale(variant, warehouse, f"s{n}")])
    reserve(variant=variant, quantity=2, location=warehouse.code)
    # Each change scheduled on its commit, all before this line: one push was sent.
    assert ledger.published("inventory.push_stock") == 1
    assert ledger.wait_idle(), ledger  # it ran, and nothing it sent is still to come
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    assert (
        headers["X-Omni-Signature"]
        == "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    )
    payload = json.loads(body)
    assert payload["channel"] == "web"
    assert payload["items"] == [{"sku": variant.sku, "units": 13, "version": 1}]


def test_a_failed_push_is_retried_with_the_newest_figure(
    worker, synced, receiver, variant, warehouse
):
    receiver.fail_next = 2
    receive_stock(variant, warehouse, 10)
    assert receiver.wait_for(1, timeout=15)
    [payload] = receiver.json_bodies()
    assert payload["items"][0]["units"] == 10
    assert payload["items"][0]["version"] == 3  # two refused attempts, each with its own version

    deadline = time.monotonic() + 10  # the worker records the success after the response
    state = StockSyncState.objects.get(variant=variant, channel=synced)
    while state.last_units is None and time.monotonic() < deadline:
        time.sleep(0.05)
        state.refresh_from_db()
    assert state.pending is False and state.last_units == 10 and state.attempts == 0


def test_no_older_figure_is_ever_sent_after_a_newer_one(
    worker, synced, receiver, variant, warehouse, ledger
):
    receive_stock(variant, warehouse, 30)
    for n in range(6):
        record_movements([sale(variant, warehouse, f"s{n}")])
        if n == 2:
            receiver.fail_next = 1
        time.sleep(0.7)  # pacing, not waiting: sales land before, during and after pushes
    final = available_to_promise(variant, synced)[variant.pk]
    assert ledger.wait_idle(), ledger  # every push and retry has run: the last one is last
    items = [body["items"][0] for body in receiver.json_bodies()]
    assert len(items) >= 2
    versions = [item["version"] for item in items]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    units = [item["units"] for item in items]
    assert units == sorted(units, reverse=True)  # only sales: figures only go down
    assert units[-1] == final == 24
