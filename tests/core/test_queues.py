"""Workloads that don't wait for each other: every task is routed by name to one queue of
its workload (config/settings.py), so a campaign in flight never holds a stock push."""

import time

import pytest
import redis
from celery import Celery
from celery.app.routes import Router, prepare
from django.conf import settings

from campaigns.factories import CampaignFactory, CampaignMessageFactory
from campaigns.services import delivery
from catalog.factories import VariantListingFactory
from config.celery import app
from core.factories import ChannelFactory
from core.models import ChannelKind
from inventory.factories import ChannelStockRuleFactory, WarehouseFactory, receive_stock
from inventory.services import sync
from tests.campaigns.workers import new_queue, start_worker, stop, wait_until, worker_env
from tests.core.test_fault_broker_and_cache import broker_at  # noqa: F401 (a fixture)

WORKLOADS = {"default", "sending", "stock", "ingest"}


def test_every_task_is_routed_to_the_queue_of_a_known_workload():
    app.loader.import_default_modules()  # every app's tasks module, as a worker loads them
    tasks = sorted(name for name in app.tasks if not name.startswith("celery."))
    assert tasks, "no task registered"
    known = {settings.TASK_QUEUES[workload] for workload in WORKLOADS}
    unrouted = [name for name in tasks if name not in settings.CELERY_TASK_ROUTES]
    assert not unrouted, f"add these tasks to TASK_WORKLOADS in config/settings.py: {unrouted}"
    for name in tasks:
        assert app.amqp.router.route({}, name)["queue"].name in known, name
    # The workloads the issue names, where an operator expects them.
    assert app.amqp.router.route({}, "campaigns.send_chunk")["queue"].name == "sending"
    assert app.amqp.router.route({}, "support.send_outbound_message")["queue"].name == "sending"
    assert app.amqp.router.route({}, "inventory.push_stock")["queue"].name == "stock"
    assert app.amqp.router.route({}, "customers.refresh_rollups")["queue"].name == "ingest"
    assert app.amqp.router.route({}, "core.deliver_outbox")["queue"].name == "default"
    # A worker started without -Q consumes them all.
    assert {queue.name for queue in settings.CELERY_TASK_QUEUES} == known


@pytest.fixture
def publishing_to(broker_at, redis_url, monkeypatch):  # noqa: F811 (the fixture imported above)
    """`publishing_to(queue)`: this process publishes to Redis as a web process does, with the
    production routes renamed into the test's own queues (tests.campaigns.workers.queues_of),
    so nothing of this test meets another run's worker."""

    def point(queue):
        broker_at(redis_url)
        routes = {
            task: {"queue": queue if workload == "default" else f"{queue}.{workload}"}
            for workload, tasks in settings.TASK_WORKLOADS.items()
            for task in tasks
        }
        router = Router(prepare(routes), app.amqp.Queues(()), create_missing=True, app=app)
        monkeypatch.setattr(app.amqp, "router", router)

    return point


@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_stock_push_leaves_within_its_debounce_while_a_campaign_fills_the_sending_queue(
    publishing_to, redis_url, http_receiver
):
    queue = new_queue("queues")
    broker = redis.Redis.from_url(redis_url)
    web = ChannelFactory(code="web", name="Web shop", kind=ChannelKind.WEB)
    variant = VariantListingFactory(channel=web).variant
    warehouse = WarehouseFactory(code="wh-tehran", channels=[web])
    ChannelStockRuleFactory(channel=web, sync_enabled=True, sync_url=http_receiver.url)
    campaign = CampaignFactory()
    CampaignMessageFactory.create_batch(
        60, campaign=campaign, status="queued", sent_at=None, claimed_at=None
    )
    # Only a stock worker: nobody reads `sending`, as when every sending worker is busy.
    worker = start_worker(queue, worker_env(queue, redis_url), queues=[f"{queue}.stock"])
    client = Celery(broker=redis_url, backend=redis_url, set_as_current=False)
    try:
        ping = client.send_task("core.ping", queue=f"{queue}.stock")
        assert ping.get(timeout=30)["value"] == "pong", "the stock worker did not start"
        publishing_to(queue)

        # The campaign in flight: its chunks wait on `sending`, ahead of the stock change.
        assert delivery.enqueue_due(campaign_id=campaign.pk, chunk_size=2) == 60
        assert broker.llen(f"{queue}.sending") == 30

        changed = time.monotonic()
        receive_stock(variant, warehouse, 7)
        assert wait_until(lambda: http_receiver.received, sync.DEBOUNCE_SECONDS + 10)
        took = time.monotonic() - changed
        assert http_receiver.json_bodies()[0]["items"][0]["units"] == 7
        # Sent when its debounce ran out (a second's slack for the poll and the request).
        assert took < sync.DEBOUNCE_SECONDS + 2, took
        # The campaign's chunks are all still waiting for a sending worker: none was lost,
        # none run by the stock worker.
        assert broker.llen(f"{queue}.sending") == 30
        assert campaign.messages.filter(status="queued").count() == 60
    finally:
        output = stop(worker)
        broker.delete(*(f"{queue}{suffix}" for suffix in ("", ".sending", ".stock", ".ingest")))
        client.close()
    assert "Traceback" not in output, output
