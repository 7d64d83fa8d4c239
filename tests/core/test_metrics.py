"""The metrics endpoint, as Prometheus scrapes it: after a scripted order, a reply sent and a
stock push, the business gauges say so; requests are timed per view; only the token's holder
(or this machine, without a token) may read it."""

import json
import re
from pathlib import Path

import pytest
from django.test import Client

from core.tasks import deliver_outbox
from inventory.factories import ChannelStockRuleFactory
from inventory.tasks import push_stock
from support.models import Conversation
from tests.core.test_fault_broker_and_cache import movement, order_body
from tests.orders.conftest import shop  # noqa: F401 (the orders fixture: channels, stock)
from tests.receivers import HttpReceiver
from tests.support.conftest import Webhooks, make_channel


def scrape(**headers):
    answer = Client(**headers).get("/metrics")
    assert answer.status_code == 200, answer.status_code
    assert answer["Content-Type"].startswith("text/plain; version=")  # the exposition format
    return answer.content.decode()


def value(text, name, **labels):
    """The sample `name{labels}` in the exposition text (labels in any order), or None."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        sample, _, figure = line.rpartition(" ")
        found = dict(re.findall(r'(\w+)="([^"]*)"', sample))
        if sample.split("{")[0] == name and all(found.get(k) == v for k, v in labels.items()):
            return float(figure)
    return None


@pytest.mark.django_db
def test_business_gauges_follow_an_order_a_reply_and_a_stock_push(
    shop,  # noqa: F811
    api_client_for,
    django_capture_on_commit_callbacks,
):
    receiver = HttpReceiver()
    try:
        ChannelStockRuleFactory(
            channel=shop.channels["web"],
            sync_enabled=True,
            sync_url=receiver.url,
            sync_secret="stock-secret",
        )
        make_channel("sms", "sms")
        before = scrape()
        assert value(before, "omni_orders", channel="web", status="placed") in (None, 0.0)

        placed = api_client_for("orders:write").post(
            "/api/v1/orders/", order_body(shop), format="json", HTTP_IDEMPOTENCY_KEY="m-1"
        )
        assert placed.status_code == 201, placed.content
        status = placed.json()["status"]
        inbound = Webhooks().post(
            "sms", {"id": "SM1", "from": "+989121234567", "to": "+98100", "text": "Hi"}
        )
        assert inbound.status_code == 200, inbound.content
        conversation = Conversation.objects.get()
        with django_capture_on_commit_callbacks(execute=True):  # the send, after commit
            reply = api_client_for("support:write").post(
                f"/api/v1/support/conversations/{conversation.pk}/reply",
                {"text": "Hello"},
                format="json",
            )
        assert reply.status_code in (200, 201), reply.content
        moved = api_client_for("inventory:write").post(
            "/api/v1/stock/movements", movement(shop, "m-pos-1"), format="json"
        )
        assert moved.status_code == 200, moved.content
        pending = value(scrape(), "omni_stock_pushes", channel="web", state="pending")
        assert pending >= 1.0
        push_stock.apply(args=[shop.channels["web"].pk]).get()  # the debounced push runs
        assert receiver.received, "the stock figure was not pushed"

        after = scrape()
        assert value(after, "omni_orders", channel="web", status=status) == 1.0
        assert value(after, "omni_support_messages_sent", channel="sms", status="sent") == 1.0
        assert value(after, "omni_conversations_open", state="open") == 1.0
        assert value(after, "omni_stock_pushes", channel="web", state="pending") == 0.0
        assert value(after, "omni_events_ingested", channel="web") >= 1.0
        # The order's events wait for the outbox sweep (no commit ran it in this test).
        assert value(after, "omni_outbox_backlog") >= 1.0
        deliver_outbox.apply().get()
        assert value(scrape(), "omni_outbox_backlog") == 0.0
        # Requests are timed per view name, never per path (ids would explode the series).
        assert (
            value(
                after,
                "omni_http_request_duration_seconds_count",
                view="api-support-reply",
                method="POST",
                status=str(reply.status_code),
            )
            >= 1.0
        )
        assert f"/conversations/{conversation.pk}/" not in after
        assert value(after, "omni_db_query_duration_seconds_count", alias="default") > 0
    finally:
        receiver.close()


@pytest.mark.django_db
def test_only_the_token_holder_reads_the_metrics(settings):
    settings.METRICS_TOKEN = "metrics-secret"
    assert Client().get("/metrics").status_code == 404
    assert Client(HTTP_AUTHORIZATION="Bearer wrong").get("/metrics").status_code == 404
    assert scrape(HTTP_AUTHORIZATION="Bearer metrics-secret")
    settings.METRICS_TOKEN = ""
    assert Client(REMOTE_ADDR="203.0.113.9").get("/metrics").status_code == 404
    assert scrape()  # this machine, no token set


@pytest.mark.django_db
def test_the_grafana_dashboard_reads_only_metrics_the_endpoint_exposes():
    """docs/grafana-dashboard.json must not drift from what /metrics serves."""
    dashboard = json.loads((Path(__file__).parents[2] / "docs/grafana-dashboard.json").read_text())
    exposed = {line.split()[2] for line in scrape().splitlines() if line.startswith("# TYPE ")}
    suffixes = ("_bucket", "_count", "_sum", "_total")
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            names = set(re.findall(r"\b(omni_[a-z_]+)", target["expr"]))
            assert names, panel["title"]
            for name in names:
                base = next((name[: -len(s)] for s in suffixes if name.endswith(s)), name)
                assert name in exposed or base in exposed, (panel["title"], name)
