"""Segment rules compile to one SQL query; answers checked against a hand-built history."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.errors import InvalidRules
from campaigns.services.segments import READY_MADE, count_members, segment_queryset
from customers.factories import (
    AnonymousCustomerFactory,
    ConsentFactory,
    CustomerFactory,
    EventFactory,
    IdentityFactory,
)

NOW = timezone.now()


def ago(**kwargs):
    return NOW - timedelta(**kwargs)


def order(customer, channel, when, total, order_id):
    return EventFactory(
        customer=customer,
        name="order_completed",
        channel=channel,
        occurred_at=when,
        properties={"order_id": order_id, "total": total, "currency": "USD", "products": []},
    )


@pytest.fixture
def history(channels):
    web, app, store = channels["web"], channels["app"], channels["store"]
    people = {name: CustomerFactory(first_name=name) for name in "ABCDEG"}
    a, b, c, d, e, g = (people[n] for n in "ABCDEG")
    EventFactory(
        customer=a,
        name="product_viewed",
        channel=web,
        occurred_at=ago(days=5),
        properties={"sku": "SHOE-1"},
    )
    EventFactory(
        customer=a,
        name="product_viewed",
        channel=app,
        occurred_at=ago(days=4),
        properties={"sku": "SHOE-2"},
    )
    order(a, store, ago(days=3), 120, "A1")
    order(b, store, ago(days=10), 50, "B1")
    order(b, web, ago(days=200), 30, "B2")
    order(c, web, ago(days=100), 300, "C1")
    EventFactory(
        customer=d,
        name="cart_abandoned",
        channel=web,
        occurred_at=ago(hours=2),
        properties={"cart_id": "D", "total": 80},
    )
    EventFactory(
        customer=e,
        name="cart_abandoned",
        channel=web,
        occurred_at=ago(hours=5),
        properties={"cart_id": "E", "total": 60},
    )
    order(e, store, ago(hours=1), 60, "E1")
    EventFactory(
        customer=g,
        name="product_viewed",
        channel=app,
        occurred_at=ago(days=40),
        properties={"sku": "SHOE-3"},
    )
    order(g, store, ago(days=2), 10, "G1")
    ghost = AnonymousCustomerFactory()
    order(ghost, store, ago(days=1), 99, "X1")
    # consents: A granted then withdrew (latest wins); B granted; C never decided
    ConsentFactory(customer=a, channel_kind="email", status="granted", recorded_at=ago(days=9))
    ConsentFactory(customer=a, channel_kind="email", status="withdrawn", recorded_at=ago(days=1))
    ConsentFactory(customer=b, channel_kind="email", status="granted", recorded_at=ago(days=9))
    IdentityFactory(customer=c, kind="phone", value="+989121234567")
    return people


def names(rules):
    return sorted(segment_queryset(rules, now=NOW).values_list("first_name", flat=True))


@pytest.mark.postgres
@pytest.mark.django_db
def test_ready_made_segments_match_the_hand_computed_answers(history):
    expected = {
        "Researched online, bought in store": ["A"],
        "Bought in store only, never online": ["A", "E", "G"],
        "Cart abandoned in the last 24 h": ["D"],
        "Lapsed 90 days": ["C"],
    }
    for name, (_description, rules) in READY_MADE.items():
        assert names(rules) == expected[name], name


@pytest.mark.postgres
@pytest.mark.django_db
def test_event_count_value_channel_and_order_rules(history):
    assert names({"event": "product_viewed", "channels": ["online"], "min_count": 2}) == ["A"]
    assert names({"event": "product_viewed", "channels": ["app"], "within_days": 30}) == ["A"]
    assert names({"event": "product_viewed", "did": False}) == ["B", "C", "D", "E"]
    assert names({"event": "cart_abandoned", "min_value": 70}) == ["D"]
    assert names({"orders": {"min_spent": 80}}) == ["A", "B", "C"]
    assert names({"orders": {"min_spent": 80, "within_days": 30}}) == ["A"]
    assert names({"orders": {"max_spent": 60}}) == ["E", "G"]
    assert names({"orders": {"min_count": 2}}) == ["B"]
    assert names({"orders": {"bought_in": ["web"], "never_in": ["store"]}}) == ["C"]
    assert names({"orders": {"last_purchase_within_days": 7}}) == ["A", "E", "G"]


@pytest.mark.postgres
@pytest.mark.django_db
def test_consent_identity_trait_and_boolean_rules(history):
    assert names({"consent": "email", "purpose": "marketing"}) == ["B"]
    assert names({"consent": "email", "purpose": "transactional"}) == ["A", "B", "C", "D", "E", "G"]
    assert names({"identity": "phone"}) == ["C"]
    assert names({"trait": "first_name", "op": "in", "value": ["A", "D"]}) == ["A", "D"]
    assert names({"any": [{"identity": "phone"}, {"event": "cart_abandoned"}]}) == ["C", "D", "E"]
    assert names({"not": {"orders": {"min_count": 1}}}) == ["D"]


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_segment_is_one_sql_query(history):
    rules = {
        "all": [
            {"event": "product_viewed", "channels": ["online"], "within_days": 30, "min_count": 2},
            {"orders": {"bought_in": ["store"], "min_spent": 100, "only_in": ["store"]}},
            {"consent": "email", "purpose": "transactional"},
        ]
    }
    with CaptureQueriesContext(connection) as queries:
        assert count_members(rules, now=NOW) == 1
    assert len(queries) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ({"event": "x", "within_days": -1}, "rules.within_days"),
        ({"all": []}, "rules.all"),
        ({"orders": {"spent_more": 1}}, "rules.orders.spent_more"),
        ({"consent": "pigeon"}, "rules.consent"),
        ({"wat": 1}, "rules"),
        ({"all": [{"event": "x", "min_count": 0}]}, "rules.all.0.min_count"),
    ],
)
def test_bad_rules_name_the_field(rules, field):
    with pytest.raises(InvalidRules) as error:
        count_members(rules)
    assert field in error.value.fields
