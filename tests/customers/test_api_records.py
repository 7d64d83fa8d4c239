"""Reading the record through the API: customers, timeline, consent history."""

from datetime import timedelta
from itertools import count

import pytest
from django.db import connection
from django.utils import timezone

from customers.factories import ConsentFactory, EventFactory, customer_with
from customers.selectors import customers_named, has_consent
from tests.query_counts import assert_queries_do_not_grow

from .conftest import post_json, sara_identities

pytestmark = pytest.mark.django_db


def test_customer_list_is_paged_and_bounded_in_queries(reader):
    made = count()

    def add_customers(n):
        for _ in range(n):
            i = next(made)
            customer_with(("email", f"p{i}@example.com"), ("cookie", f"c-{i}"))

    def customer_list():
        assert reader.get("/api/v1/customers", {"page_size": 20}).status_code == 200

    assert_queries_do_not_grow(add_customers, customer_list, at_most=6)
    add_customers(30 - 12)
    response = reader.get("/api/v1/customers", {"page_size": 20})
    body = response.json()
    assert body["count"] == 30 and len(body["results"]) == 20
    assert len(body["results"][0]["identities"]) == 2


def test_search_by_name_phone_or_any_identity(reader):
    sara = customer_with(
        ("phone", "+989121234567"),
        ("instagram", "sara.shoes"),
        first_name="Sara",
        last_name="Rahimi",
    )
    customer_with(("email", "other@example.com"), first_name="Omid", last_name="Karimi")
    for q in ("rahimi", "Sara Rahimi", "0912 123 4567", "@Sara.Shoes"):
        results = reader.get("/api/v1/customers", {"q": q}).json()["results"]
        assert [c["id"] for c in results] == [str(sara.public_id)], q


def test_the_id_of_a_merged_profile_answers_with_the_survivor(writer, reader):
    visitor = post_json(
        writer, "/api/v1/identify", {"identities": [{"kind": "cookie", "value": "c-81f"}]}
    ).json()["customer"]
    known = post_json(
        writer, "/api/v1/identify", {"identities": [{"kind": "email", "value": "sara@example.com"}]}
    ).json()["customer"]
    post_json(writer, "/api/v1/identify", {"identities": sara_identities()})
    response = reader.get(f"/api/v1/customers/{visitor['id']}")
    assert response.status_code == 200
    assert response.json()["id"] == known["id"]
    assert reader.get("/api/v1/customers/00000000-0000-0000-0000-000000000000").status_code == 404


def test_timeline_is_cursor_paged_newest_first_and_filtered_by_channel(reader, channels):
    sara = customer_with(("email", "sara@example.com"))
    start = timezone.now() - timedelta(days=1)
    for i in range(7):
        channel = channels["web"] if i % 2 else channels["store"]
        EventFactory(
            customer=sara,
            channel=channel,
            occurred_at=start + timedelta(minutes=i),
            message_id=f"e{i}",
        )
    seen = []
    url = f"/api/v1/customers/{sara.public_id}/timeline?page_size=3"
    while url:
        page = reader.get(url).json()
        seen += [event["message_id"] for event in page["results"]]
        url = page["next"]
    assert seen == [f"e{i}" for i in reversed(range(7))]

    other = customer_with(("email", "omid@example.com"))
    made = count()

    def add_events(n):
        for _ in range(n):
            EventFactory(customer=other, channel=channels["web"], message_id=f"o{next(made)}")

    def timeline():
        url = f"/api/v1/customers/{other.public_id}/timeline?page_size=50"
        assert reader.get(url).status_code == 200

    # 4 for the page, 3 for its audit entry (its insert, in a savepoint: the test's
    # transaction must survive a failed insert as a request's would).
    assert_queries_do_not_grow(add_events, timeline, at_most=7)
    store = reader.get(f"/api/v1/customers/{sara.public_id}/timeline", {"channel": "store"}).json()
    assert [e["message_id"] for e in store["results"]] == ["e6", "e4", "e2", "e0"]
    assert {e["channel_kind"] for e in store["results"]} == {"store"}


def test_consent_history_is_kept_and_the_latest_decision_wins(writer):
    sara = customer_with(("email", "sara@example.com"))
    url = f"/api/v1/customers/{sara.public_id}/consents"
    now = timezone.now()
    post_json(writer, url, {"channel": "sms", "purpose": "marketing", "status": "granted",
                            "recorded_at": (now - timedelta(days=3)).isoformat()})  # fmt: skip
    post_json(writer, url, {"channel": "sms", "purpose": "marketing", "status": "withdrawn",
                            "recorded_at": (now - timedelta(days=1)).isoformat()})  # fmt: skip
    # A late-arriving older decision joins the history but does not win.
    response = post_json(writer, url, {"channel": "sms", "purpose": "marketing", "status": "granted",
                                       "recorded_at": (now - timedelta(days=2)).isoformat(), "source": "store form"})  # fmt: skip
    assert response.status_code == 201
    body = writer.get(url).json()
    assert [(c["channel"], c["purpose"], c["status"]) for c in body["current"]] == [
        ("sms", "marketing", "withdrawn")
    ]
    assert [c["status"] for c in body["history"]] == ["withdrawn", "granted", "granted"]


def test_consent_write_names_bad_fields(writer):
    sara = customer_with(("email", "sara@example.com"))
    url = f"/api/v1/customers/{sara.public_id}/consents"
    for body, field in [
        ({"channel": "pigeon", "purpose": "marketing", "status": "granted"}, "channel"),
        ({"channel": "sms", "purpose": "spam", "status": "granted"}, "purpose"),
        ({"channel": "sms", "purpose": "marketing", "status": "maybe"}, "status"),
        ({"channel": "sms", "purpose": "marketing", "status": "granted", "extra": 1}, "extra"),
    ]:
        response = post_json(writer, url, body)
        assert response.status_code == 400 and field in response.json()["error"]["fields"], body


def test_has_consent_defaults_and_latest_wins():
    sara = customer_with(("email", "sara@example.com"))
    assert has_consent(sara, "email", "transactional") is True
    assert has_consent(sara, "email", "marketing") is False
    ConsentFactory(
        customer=sara,
        channel_kind="email",
        status="granted",
        recorded_at=timezone.now() - timedelta(days=1),
    )
    assert has_consent(sara, "email", "marketing") is True
    ConsentFactory(customer=sara, channel_kind="email", status="withdrawn")
    assert has_consent(sara, "email", "marketing") is False


def test_staff_session_reads_with_their_permissions(client, staff_in_role, channels):
    sara = customer_with(("email", "sara@example.com"))
    client.force_login(staff_in_role("Support agent"))
    assert client.get(f"/api/v1/customers/{sara.public_id}").status_code == 200
    erase = client.post(f"/api/v1/customers/{sara.public_id}/erase")
    assert erase.status_code == 403


@pytest.mark.postgres
def test_name_search_can_use_the_trigram_indexes():
    """The indexes of migration 0003 match the SQL Django writes for a "contains" search on a
    name (UPPER(column) LIKE UPPER(pattern)); were they to drift apart, every search by name
    in the customer list and the inbox would read every profile again."""
    customer_with(("email", "sara@example.com"), first_name="Sara", last_name="Rahimi")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table would be scanned anyway
        plan = customers_named("ahim").explain()
    assert "customer_first_name_trgm" in plan and "customer_last_name_trgm" in plan
    assert list(customers_named("ahim")) and not list(customers_named("zzz"))
