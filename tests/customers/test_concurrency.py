"""Concurrent resolution on PostgreSQL: overlapping identities end as one customer, no error."""

import threading

import pytest
from django.db import connection

from customers.factories import customer_with
from customers.models import Customer, Event, Identity
from customers.selectors import customer_by_public_id
from customers.services import ingest_batch, resolve_customer, track_event

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_together(*calls):
    """Start every call at the same moment in its own thread (own connection)."""
    barrier = threading.Barrier(len(calls))
    errors, results = [], [None] * len(calls)

    def run(position, call):
        try:
            barrier.wait(timeout=10)
            results[position] = call()
        except Exception as error:  # the test reports whatever went wrong in a thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


@pytest.mark.parametrize("round_", range(5))
def test_concurrent_identify_of_overlapping_new_identities_makes_one_customer(round_):
    email = f"sara{round_}@example.com"
    results = run_together(
        lambda: resolve_customer([("cookie", f"c-{round_}"), ("email", email)]),
        lambda: resolve_customer([("email", email), ("phone", "09121234567")]),
        lambda: resolve_customer([("phone", "+98 912 123 4567"), ("device", f"d-{round_}")]),
        lambda: resolve_customer([("device", f"d-{round_}"), ("cookie", f"c-{round_}")]),
    )
    # A profile one thread returned may have been merged by another since: follow it.
    assert len({customer_by_public_id(c.public_id).pk for c in results}) == 1
    assert Customer.objects.live().count() == 1
    assert Identity.objects.count() == 4


def test_concurrent_identify_that_merges_existing_profiles_ends_with_one():
    customer_with(("email", "sara@example.com"))
    customer_with(("phone", "+989121234567"))
    customer_with(("cookie", "c-81f"))
    results = run_together(
        lambda: resolve_customer([("email", "sara@example.com"), ("phone", "09121234567")]),
        lambda: resolve_customer([("phone", "09121234567"), ("cookie", "c-81f")]),
        lambda: resolve_customer([("cookie", "c-81f"), ("email", "sara@example.com")]),
    )
    assert len({customer_by_public_id(c.public_id).pk for c in results}) == 1
    assert Customer.objects.live().count() == 1


def test_concurrent_batches_and_tracks_with_shared_identities_store_each_event_once():
    items = [
        {
            "type": "track",
            "identities": [
                {"kind": "cookie", "value": f"c-{i % 7}"},
                {"kind": "email", "value": f"p{i % 5}@example.com"},
            ],
            "event": "page_viewed",
            "message_id": f"m-{i}",
        }
        for i in range(60)
    ]
    run_together(
        lambda: ingest_batch(items[:40]),
        lambda: ingest_batch(items[20:]),
        lambda: track_event([("email", "p1@example.com")], "page_viewed", message_id="m-1"),
        lambda: ingest_batch(items[::-1]),
    )
    assert Event.objects.count() == 60
    # cookies and emails interlock every item into one person
    assert Customer.objects.live().count() == 1
    assert Customer.objects.live().get().events_count == 60
