"""A merge is announced to partners through the outbox, with both ids."""

import pytest

from core.models import OutboxEvent
from customers.services import resolve_customer

pytestmark = pytest.mark.django_db


def test_merging_an_anonymous_visitor_publishes_customer_merged():
    visitor = resolve_customer([{"kind": "cookie", "value": "c-81f"}])
    known = resolve_customer([{"kind": "email", "value": "sara@example.com"}])
    assert not OutboxEvent.objects.filter(topic="customer_merged").exists()

    survivor = resolve_customer(
        [{"kind": "cookie", "value": "c-81f"}, {"kind": "email", "value": "Sara@Example.com"}]
    )

    assert survivor.pk == known.pk
    event = OutboxEvent.objects.get(topic="customer_merged")
    assert event.payload["survivor_id"] == str(known.public_id)
    assert event.payload["merged_id"] == str(visitor.public_id)


def test_no_event_when_nothing_is_merged():
    resolve_customer([{"kind": "email", "value": "a@example.com"}])
    resolve_customer(
        [{"kind": "email", "value": "a@example.com"}, {"kind": "cookie", "value": "x"}]
    )
    assert not OutboxEvent.objects.filter(topic="customer_merged").exists()
