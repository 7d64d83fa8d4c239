"""Outbox events reach a real HTTP receiver, signed, only after commit, and are retried."""

import hashlib
import hmac
import json

import pytest
from django.db import transaction

from core.models import OutboxEvent, WebhookEndpoint
from core.services.outbox import deliver_pending, publish
from tests.receivers import HttpReceiver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receiver():
    server = HttpReceiver()
    yield server
    server.close()


def test_event_is_delivered_signed_after_commit(receiver):
    WebhookEndpoint.objects.create(
        name="shop", url=receiver.url, secret="s3cret", topics=["order_*"]
    )
    with transaction.atomic():
        publish("order_completed", {"number": "W-1001", "total": "120.00"})
        publish("cart_abandoned", {"cart": 7})  # not subscribed
        assert receiver.received == []  # nothing leaves before commit
    # Eager Celery ran the delivery task on commit.
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Omni-Signature"] == expected
    assert json.loads(body)["payload"]["number"] == "W-1001"
    assert OutboxEvent.objects.filter(published_at__isnull=True).count() == 0


def test_rolled_back_change_publishes_nothing(receiver):
    WebhookEndpoint.objects.create(name="shop", url=receiver.url, secret="x", topics=["*"])
    with pytest.raises(RuntimeError), transaction.atomic():
        publish("order_completed", {"number": "W-1"})
        raise RuntimeError("the order failed")
    assert OutboxEvent.objects.count() == 0
    assert receiver.received == []


def test_failed_delivery_is_retried_until_accepted(receiver):
    WebhookEndpoint.objects.create(name="shop", url=receiver.url, secret="x", topics=["*"])
    receiver.fail_next = 1
    with transaction.atomic():
        event = publish("order_completed", {"number": "W-2"})
    event.refresh_from_db()
    assert event.published_at is None and event.attempts == 1 and "500" in event.last_error
    assert deliver_pending() == {"sent": 1, "failed": 0}
    assert len(receiver.received) == 1
    assert receiver.received[0][0]["X-Omni-Event-Id"] == str(event.pk)


def test_events_nobody_subscribes_to_are_settled_without_a_request():
    """With no active endpoint the events are marked published (to no one), so a receiver
    added later starts with new events rather than a backlog from before it existed."""
    WebhookEndpoint.objects.create(
        name="old", url="http://127.0.0.1:9/", secret="x", is_active=False
    )
    with transaction.atomic():
        publish("order_completed", {"number": "W-3"})
        publish("customer_merged", {"survivor_id": "a", "merged_id": "b"})
    assert OutboxEvent.objects.filter(published_at__isnull=True).count() == 0
    assert set(OutboxEvent.objects.values_list("attempts", flat=True)) == {1}
    assert deliver_pending() == {"sent": 0, "failed": 0}
