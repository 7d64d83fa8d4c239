"""Acquisition (reads only): new customers per week by the channel of their first touch, and
what they bought in their first 90 days, per currency (amounts never added across
currencies)."""

from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import OuterRef, Subquery

from customers.models import Customer, Event
from orders.models import OrderLine
from orders.reports import purchases, start_of

FIRST_DAYS = 90
UNKNOWN = "unknown"


def week_of(day: date) -> date:
    """The Monday a day's week starts on."""
    return day - timedelta(days=day.weekday())


def first_touch_kinds(customers) -> dict[int, str]:
    """customer id -> the channel kind of their earliest event with a channel."""
    first = Event.objects.filter(customer_id=OuterRef("pk"), channel__isnull=False).order_by(
        "occurred_at", "id"
    )
    return dict(
        customers.annotate(kind=Subquery(first.values("channel__kind")[:1])).values_list(
            "pk", "kind"
        )
    )


def acquisition(since: date, until: date, *, first_days: int = FIRST_DAYS) -> dict:
    """Known customers created since..until (live profiles), per week (Monday) and per the
    channel kind of their first touch ("unknown" when no event has a channel), and per first
    touch: how many bought in their first `first_days` days, their orders, revenue per
    currency and the products they bought most."""
    customers = Customer.objects.live().filter(
        is_anonymous=False,
        created_at__gte=start_of(since),
        created_at__lt=start_of(until + timedelta(days=1)),
    )
    created = dict(customers.values_list("pk", "created_at"))
    kinds = {pk: kind or UNKNOWN for pk, kind in first_touch_kinds(customers).items()}
    weeks: dict = defaultdict(Counter)
    for pk, created_at in created.items():
        weeks[week_of(created_at.date())][kinds[pk]] += 1

    latest = max(created.values(), default=start_of(until)) + timedelta(days=first_days)
    orders = [
        row
        for row in purchases(since, latest.date())
        .filter(customer_id__in=created.keys())
        .values("pk", "customer_id", "placed_at", "currency", "total")
        if row["placed_at"] < created[row["customer_id"]] + timedelta(days=first_days)
    ]
    products: dict = defaultdict(Counter)
    first_orders = {row["pk"]: row for row in orders}
    for order_id, name, quantity in OrderLine.objects.filter(
        order_id__in=first_orders.keys()
    ).values_list("order_id", "product_name", "quantity"):
        products[kinds[first_orders[order_id]["customer_id"]]][name] += quantity
    by_kind: dict = defaultdict(
        lambda: {"customers": 0, "buyers": set(), "orders": 0, "revenue": defaultdict(Decimal)}
    )
    for pk in created:
        by_kind[kinds[pk]]["customers"] += 1
    for row in orders:
        entry = by_kind[kinds[row["customer_id"]]]
        entry["buyers"].add(row["customer_id"])
        entry["orders"] += 1
        entry["revenue"][row["currency"]] += row["total"] or Decimal(0)
    all_kinds = sorted(by_kind, key=lambda kind: (-by_kind[kind]["customers"], kind))
    return {
        "first_days": first_days,
        "kinds": all_kinds,
        "weeks": [
            {"week": week, "counts": [weeks[week].get(kind, 0) for kind in all_kinds]}
            for week in sorted(weeks)
        ],
        "first_purchases": [
            {
                "kind": kind,
                "customers": by_kind[kind]["customers"],
                "buyers": len(by_kind[kind]["buyers"]),
                "orders": by_kind[kind]["orders"],
                "revenue": {
                    currency: amount.quantize(Decimal("0.01"))
                    for currency, amount in sorted(by_kind[kind]["revenue"].items())
                },
                "top_products": [
                    {"product": name, "units": units}
                    for name, units in products[kind].most_common(3)
                ],
            }
            for kind in all_kinds
        ],
    }
