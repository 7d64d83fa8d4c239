"""One id follows a partner's request into the logs, the Celery tasks it caused and the
webhooks we sent because of it (core.observability)."""

import logging

import pytest

from core.models import WebhookEndpoint
from core.observability import request_id_var
from core.services.outbox import publish
from core.tasks import deliver_outbox
from tests.campaigns.workers import new_queue, start_worker, stop, worker_env
from tests.core.test_fault_broker_and_cache import broker_at, order_body, wait_until  # noqa: F401
from tests.orders.conftest import shop  # noqa: F401 (the orders fixture: channels, stock)
from tests.receivers import HttpReceiver


@pytest.fixture
def receiver():
    server = HttpReceiver()
    yield server
    server.close()


@pytest.mark.django_db(transaction=True)
def test_the_request_id_is_in_the_request_log_its_task_log_and_the_webhook(
    shop,  # noqa: F811
    api_client_for,
    receiver,
    caplog,
):
    WebhookEndpoint.objects.create(name="shop", url=receiver.url, secret="s", topics=["order_*"])
    caplog.set_level(logging.INFO, logger="omni")
    answer = api_client_for("orders:write").post(
        "/api/v1/orders/",
        order_body(shop),
        format="json",
        HTTP_IDEMPOTENCY_KEY="rid-1",
        HTTP_X_REQUEST_ID="partner-req-42",
    )
    assert answer.status_code == 201, answer.content
    assert answer["X-Request-Id"] == "partner-req-42"
    request_lines = [r for r in caplog.records if r.name == "omni.request"]
    assert [(r.request_id, r.status, r.view) for r in request_lines] == [
        ("partner-req-42", 201, "api-orders")
    ]
    tasks = [r for r in caplog.records if r.name == "omni.task" and r.task == "core.deliver_outbox"]
    assert tasks and {r.request_id for r in tasks} == {"partner-req-42"}
    assert receiver.received, "no webhook was sent"
    assert {headers["X-Request-Id"] for headers, _body in receiver.received} == {"partner-req-42"}
    assert request_id_var.get() == ""  # nothing leaks into what runs next


@pytest.mark.django_db
def test_an_id_that_is_not_a_plain_token_is_replaced(client):
    answer = client.get("/healthz?live", HTTP_X_REQUEST_ID="a b<script>")
    given = answer["X-Request-Id"]
    assert given != "a b<script>" and len(given) == 32 and given.isalnum()
    assert client.get("/healthz?live")["X-Request-Id"] != given  # one per request


@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_adopts_the_id_of_the_request_that_published_its_task(
    redis_url,
    broker_at,  # noqa: F811
    receiver,
):
    WebhookEndpoint.objects.create(name="shop", url=receiver.url, secret="s", topics=["*"])
    queue = new_queue("rid")
    broker_at(redis_url)
    worker = start_worker(queue, worker_env(queue, redis_url))
    try:
        publish("order_placed", {"number": "W-1"})  # committed (no atomic block here)
        token = request_id_var.set("req-from-web-7")
        try:
            deliver_outbox.apply_async(queue=queue)
        finally:
            request_id_var.reset(token)
        assert wait_until(lambda: receiver.received, 60), "the worker sent nothing"
    finally:
        output = stop(worker)
    headers, _body = receiver.received[0]
    assert headers["X-Request-Id"] == "req-from-web-7", output
