"""/api/v1/batch keeps every guarantee of single calls while writing in bulk: lifetime figures
equal to the timeline, per-item refusals, verification, and races with merges and erasures
between reading an identity and locking its customer."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from customers.factories import customer_with
from customers.models import Customer, Event, Identity
from customers.services import erase_customer, ingest_batch, merge_customers
from customers.services import ingest as ingest_module
from customers.services.figures import FIGURE_FIELDS, recompute_lifetime_figures

from .conftest import post_json
from .test_concurrency import run_together

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def track(email, event, message_id, *, minutes, channel="web", **properties):
    return {
        "type": "track",
        "identities": [{"kind": "email", "value": email}],
        "event": event,
        "properties": properties,
        "channel": channel,
        "message_id": message_id,
        "occurred_at": (START + timedelta(minutes=minutes)).isoformat(),
    }


def figures_of(customer):
    return {name: getattr(customer, name) for name in FIGURE_FIELDS}


def assert_figures_match_timeline():
    for customer in Customer.objects.live():
        rebuilt = recompute_lifetime_figures(Customer.objects.get(pk=customer.pk), save=False)
        assert figures_of(customer) == figures_of(rebuilt), customer


def test_batch_keeps_lifetime_figures_equal_to_the_timeline_across_retries(writer):
    first = [
        track("ana@example.com", "product_viewed", "m-1", minutes=30, sku="S-1"),
        track("ana@example.com", "order_completed", "m-2", minutes=40, channel="app",
              order_id="o-1", total="49.90", currency="USD"),
        track("ana@example.com", "order_completed", "m-3", minutes=5, channel="store",
              order_id="o-2", total=10, currency="EUR"),
        track("ana@example.com", "order_refunded", "m-4", minutes=50, order_id="o-1", total=5),
        track("bob@example.com", "page_viewed", "m-5", minutes=20, channel="instagram"),
        track("bob@example.com", "page_viewed", "m-5", minutes=21),  # same id twice in a batch
    ]  # fmt: skip
    body = post_json(writer, "/api/v1/batch", {"items": first}).json()
    assert [r["status"] for r in body["results"]] == ["ok"] * 5 + ["duplicate"]

    ana = Customer.objects.get(identities__value="ana@example.com")
    assert ana.events_count == 4
    assert ana.orders_count == 2
    assert ana.lifetime_spend == {"USD": "44.90", "EUR": "10"}
    assert ana.channels_used == ["mobile_app", "store", "web"]
    assert ana.first_seen_at == START + timedelta(minutes=5)
    assert_figures_match_timeline()

    # The retry stores nothing and counts nothing; new events among old ones count once.
    retried = post_json(writer, "/api/v1/batch", {"items": first}).json()
    assert retried["stored"] == 0
    later = [
        *first,
        track("ana@example.com", "order_completed", "m-6", minutes=90, order_id="o-3",
              total=0.1, currency="USD"),
        track("bob@example.com", "page_viewed", "m-7", minutes=1, channel="web"),
    ]  # fmt: skip
    assert post_json(writer, "/api/v1/batch", {"items": later}).json()["stored"] == 2
    ana.refresh_from_db()
    assert (ana.events_count, ana.orders_count) == (5, 3)
    assert ana.lifetime_spend == {"USD": "45.00", "EUR": "10"}
    bob = Customer.objects.get(identities__value="bob@example.com")
    assert bob.events_count == 2
    assert bob.channels_used == ["instagram", "web"]
    assert bob.first_seen_at == START + timedelta(minutes=1)
    assert_figures_match_timeline()


def test_items_linked_through_shared_identities_in_any_order_are_one_customer(writer):
    items = [
        _page_view("m-0", ("cookie", "a")),
        _page_view("m-1", ("cookie", "b")),
        _page_view("m-2", ("cookie", "c")),
        _page_view("m-3", ("cookie", "a"), ("cookie", "b")),  # joins 0 and 1
        _page_view("m-4", ("cookie", "c"), ("device", "d")),
        _page_view("m-5", ("device", "d"), ("cookie", "a")),  # joins {0, 1, 3} and {2, 4}
        _page_view("m-6", ("cookie", "z")),
    ]
    results = post_json(writer, "/api/v1/batch", {"items": items}).json()["results"]
    assert len({r["customer_id"] for r in results[:6]}) == 1
    assert results[6]["customer_id"] != results[0]["customer_id"]
    assert Customer.objects.count() == 2
    assert Customer.objects.get(public_id=results[0]["customer_id"]).events_count == 6


def test_batch_refuses_an_item_holding_a_nul_character_and_stores_the_others(writer):
    items = [
        track("ana@example.com", "page_viewed", "m-1", minutes=1),
        track("ana@example.com", "page_viewed", "m-2", minutes=2, path="/a\u0000b"),
        {**track("ana@example.com", "page_viewed", "m-3", minutes=3),
         "identities": [{"kind": "cookie", "value": "c-\u0000"}]},
        track("ana@example.com", "page_viewed", "m-\u00004", minutes=4),
        track("ana@example.com", "page_viewed", "m-5", minutes=5, path="a \\u0000 written out"),
    ]  # fmt: skip
    body = post_json(writer, "/api/v1/batch", {"items": items}).json()
    assert [r["status"] for r in body["results"]] == ["ok", "error", "error", "error", "ok"]
    assert "properties" in body["results"][1]["error"]["fields"]
    assert "identities.0" in body["results"][2]["error"]["fields"]
    assert "message_id" in body["results"][3]["error"]["fields"]
    assert sorted(Event.objects.values_list("message_id", flat=True)) == ["m-1", "m-5"]


def test_batch_verifies_an_identity_already_known_unverified(writer):
    customer = customer_with(("email", "ana@example.com"))
    items = [
        {"type": "identify", "identities": [
            {"kind": "email", "value": "Ana@Example.com", "verified": True},
            {"kind": "cookie", "value": "c-1"},
        ], "traits": {"first_name": "Ana"}, "channel": "app"},
    ]  # fmt: skip
    results = post_json(writer, "/api/v1/batch", {"items": items}).json()["results"]
    assert results[0]["customer_id"] == str(customer.public_id)
    assert Identity.objects.get(kind="email").is_verified
    assert Identity.objects.get(kind="cookie").customer_id == customer.pk
    customer.refresh_from_db()
    assert customer.first_name == "Ana"
    assert customer.channels_used == ["mobile_app"]


def _interrupt_identity_read(monkeypatch, action):
    """Run `action` in another connection, committed, right after the batch first reads its
    identities: the race a lock-free read must survive."""
    real = ingest_module.IdentityRead.rows
    calls = []

    def read_then_race(read):
        rows = real(read)
        if not calls:
            calls.append(True)
            errors = []

            def run():
                try:
                    action()
                except Exception as error:  # reported below, in the test's thread
                    errors.append(error)
                finally:
                    connection.close()

            thread = threading.Thread(target=run)
            thread.start()
            thread.join(timeout=30)
            assert not errors, errors
        return rows

    monkeypatch.setattr(ingest_module.IdentityRead, "rows", read_then_race)
    return calls


def _page_view(message_id, *identities):
    return {
        "type": "track",
        "identities": [{"kind": kind, "value": value} for kind, value in identities],
        "event": "page_viewed",
        "message_id": message_id,
    }


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_profile_merged_between_read_and_lock_sends_the_events_to_the_survivor(monkeypatch):
    known = customer_with(("email", "ana@example.com"))
    visitor = customer_with(("cookie", "c-1"))
    raced = _interrupt_identity_read(
        monkeypatch, lambda: merge_customers(known, visitor, reason="test: identified elsewhere")
    )

    results = ingest_batch([_page_view("m-1", ("cookie", "c-1"))])
    assert raced

    assert results[0].status == "ok"
    assert str(results[0].customer.public_id) == str(known.public_id)
    assert Event.objects.get(message_id="m-1").customer_id == known.pk
    known.refresh_from_db()
    assert known.events_count == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_profile_erased_between_read_and_lock_receives_nothing(monkeypatch):
    erased = customer_with(("email", "ana@example.com"), ("cookie", "c-1"))
    raced = _interrupt_identity_read(monkeypatch, lambda: erase_customer(erased))

    results = ingest_batch([_page_view("m-1", ("cookie", "c-1"))])
    assert raced

    assert results[0].status == "ok"
    event = Event.objects.get(message_id="m-1")
    assert event.customer_id != erased.pk
    assert not Identity.objects.filter(customer_id=erased.pk).exists()
    assert Identity.objects.get(kind="cookie", value="c-1").customer_id == event.customer_id
    erased.refresh_from_db()
    assert erased.events_count == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_overlapping_batches_at_once_store_and_count_each_event_once(channels):
    """Four batches at the same moment, each creating some of the same new people and
    carrying some of the same message ids: every event is stored once, on one profile per
    person, and counted once in its figures."""
    items = [
        {
            "type": "track",
            "identities": [
                {"kind": "email", "value": f"p{i % 40}@example.com", "verified": i % 3 == 0},
                {"kind": "cookie", "value": f"c-{i % 40}"},
            ],
            "event": "page_viewed",
            "channel": ("web", "app", "store")[i % 3],
            "message_id": f"m-{i}",
            "occurred_at": (START + timedelta(minutes=i)).isoformat(),
        }
        for i in range(120)
    ]
    answers = run_together(
        lambda: ingest_batch(items[:80]),
        lambda: ingest_batch(items[40:]),
        lambda: ingest_batch(items[::-1]),
        lambda: ingest_batch(items[20:100]),
    )
    statuses = [result.status for results in answers for result in results]
    assert statuses.count("ok") == 120
    assert statuses.count("duplicate") == 80 + 80 + 120 + 80 - 120
    assert Event.objects.count() == 120
    assert Customer.objects.live().count() == Customer.objects.count() == 40
    assert Identity.objects.count() == 80
    assert Identity.objects.filter(kind="email", is_verified=True).count() == 40
    for customer in Customer.objects.all():
        assert customer.events_count == Event.objects.filter(customer=customer).count() == 3
    assert_figures_match_timeline()
