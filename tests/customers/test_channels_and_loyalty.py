"""Story 5: do customers who use more channels stay longer? Known customers grouped by the
number of kinds of channel they used, with their time as customers and recent activity."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from customers.factories import AnonymousCustomerFactory, CustomerFactory
from tests.query_counts import assert_queries_do_not_grow

NOW = timezone.now()


def _customer(channels, *, first_days_ago, last_days_ago, orders=0, **fields):
    return CustomerFactory(
        channels_used=sorted(channels),
        first_seen_at=NOW - timedelta(days=first_days_ago),
        last_seen_at=NOW - timedelta(days=last_days_ago),
        orders_count=orders,
        **fields,
    )


def test_customers_are_grouped_by_channels_used_with_stay_activity_and_orders(
    client, staff_in_role
):
    _customer(["web"], first_days_ago=40, last_days_ago=30, orders=1)  # 10 days, active
    _customer(["web"], first_days_ago=400, last_days_ago=370)  # 30 days, lapsed
    _customer(["web", "store"], first_days_ago=300, last_days_ago=10, orders=3)
    _customer(["web", "store", "instagram"], first_days_ago=500, last_days_ago=0, orders=4)
    _customer(
        ["web", "store", "instagram", "phone", "email"], first_days_ago=700, last_days_ago=100,
        orders=6,
    )  # fmt: skip
    AnonymousCustomerFactory(channels_used=["web"], first_seen_at=NOW, last_seen_at=NOW)
    erased = _customer(["web"], first_days_ago=5, last_days_ago=1)
    erased.erased_at = NOW
    erased.save()
    client.force_login(staff_in_role("Marketer"))

    page = client.get(reverse("customers:channels-and-loyalty"))

    rows = {row["group"]: row for row in page.context["rows"]}
    assert sorted(rows) == [1, 2, 3, 4]
    assert rows[1]["customers"] == 2 and rows[1]["stay_days"] == 20
    assert rows[1]["active"] == 1 and rows[1]["orders"] == 0.5
    assert rows[2]["stay_days"] == 290 and rows[2]["active"] == 1
    assert rows[4]["customers"] == 1 and rows[4]["stay_days"] == 600 and rows[4]["active"] == 0
    body = page.content.decode()
    assert "4 or more" in body and "50%" in body

    def add_customers(n):  # more customers, in every group, must not mean more queries
        for index in range(n):
            channels = ["web", "store", "instagram", "phone"][: index % 4 + 1]
            _customer(channels, first_days_ago=90, last_days_ago=index)

    def groups_page():
        assert client.get(reverse("customers:channels-and-loyalty")).status_code == 200

    assert_queries_do_not_grow(add_customers, groups_page, at_most=8)


def test_the_page_needs_the_customers_view_permission(client, staff_in_role):
    client.force_login(staff_in_role("Merchandiser"))
    assert client.get(reverse("customers:channels-and-loyalty")).status_code == 403


def test_partners_read_the_same_groups_from_the_api(api_client_for):
    _customer(["web"], first_days_ago=40, last_days_ago=30, orders=1)
    _customer(["web", "store"], first_days_ago=300, last_days_ago=10, orders=3)
    reader = api_client_for("customers:read")

    answer = reader.get("/api/v1/customers/channels-and-loyalty", {"active_days": 20})

    assert answer.status_code == 200
    assert answer.json() == {
        "active_days": 20,
        "results": [
            {"channels": 1, "customers": 1, "average_days_as_customer": 10, "active": 0,
             "average_orders": 1.0},
            {"channels": 2, "customers": 1, "average_days_as_customer": 290, "active": 1,
             "average_orders": 3.0},
        ],
    }  # fmt: skip
    refused = reader.get("/api/v1/customers/channels-and-loyalty", {"active_days": "soon"})
    assert refused.status_code == 400 and "active_days" in refused.json()["error"]["fields"]
