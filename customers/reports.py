"""Acquisition (reads only): new customers per week by the channel of their first touch, and
what they bought in their first 90 days, per currency (amounts never added across
currencies); and open conversations and SLA breaches per day for the dashboard."""

from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from customers.models import Customer, Event
from orders.models import OrderLine
from orders.reports import purchases, start_of
from support.models import Conversation
from support.reports import BREACHED

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


def acquisition_counts(since: date, until: date, *, first_days: int = FIRST_DAYS) -> dict:
    """Per local day of creation and channel kind of first touch, for the known live
    customers created since..until: {"new": Counter[(day, kind)], "buyers": Counter[(day,
    kind)], "orders": {(day, kind, currency): [orders, revenue]}, "products":
    Counter[(day, kind, product name)] of units} over each one's first `first_days` days."""
    customers = Customer.objects.live().filter(
        is_anonymous=False,
        created_at__gte=start_of(since),
        created_at__lt=start_of(until + timedelta(days=1)),
    )
    created = dict(customers.values_list("pk", "created_at"))
    kinds = {pk: kind or UNKNOWN for pk, kind in first_touch_kinds(customers).items()}
    group = {pk: (timezone.localtime(at).date(), kinds[pk]) for pk, at in created.items()}
    counts = {
        "new": Counter(group.values()),
        "buyers": Counter(),
        "orders": defaultdict(lambda: [0, Decimal(0)]),
        "products": Counter(),
    }
    latest = max(created.values(), default=start_of(until)) + timedelta(days=first_days)
    orders = [
        row
        for row in purchases(since, latest.date())
        .filter(customer_id__in=created.keys())
        .values("pk", "customer_id", "placed_at", "currency", "total")
        if row["placed_at"] < created[row["customer_id"]] + timedelta(days=first_days)
    ]
    buyers = set()
    for row in orders:
        day, kind = group[row["customer_id"]]
        entry = counts["orders"][(day, kind, row["currency"])]
        entry[0] += 1
        entry[1] += row["total"] or Decimal(0)
        buyers.add(row["customer_id"])
    counts["buyers"] = Counter(group[pk] for pk in buyers)
    first_orders = {row["pk"]: row["customer_id"] for row in orders}
    for order_id, name, quantity in OrderLine.objects.filter(
        order_id__in=first_orders.keys()
    ).values_list("order_id", "product_name", "quantity"):
        day, kind = group[first_orders[order_id]]
        counts["products"][(day, kind, name)] += quantity
    return counts


def acquisition_from_counts(counts: dict, *, first_days: int = FIRST_DAYS) -> dict:
    weeks: dict = defaultdict(Counter)
    by_kind: dict = defaultdict(
        lambda: {"customers": 0, "buyers": 0, "orders": 0, "revenue": defaultdict(Decimal)}
    )
    products: dict = defaultdict(Counter)
    for (day, kind), n in counts["new"].items():
        weeks[week_of(day)][kind] += n
        by_kind[kind]["customers"] += n
    for (_day, kind), n in counts["buyers"].items():
        by_kind[kind]["buyers"] += n
    for (_day, kind, currency), (orders, revenue) in counts["orders"].items():
        by_kind[kind]["orders"] += orders
        by_kind[kind]["revenue"][currency] += Decimal(revenue)
    for (_day, kind, name), units in counts["products"].items():
        products[kind][name] += units
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
                "buyers": by_kind[kind]["buyers"],
                "orders": by_kind[kind]["orders"],
                "revenue": {
                    currency: amount.quantize(Decimal("0.01"))
                    for currency, amount in sorted(by_kind[kind]["revenue"].items())
                },
                "top_products": [
                    {"product": name, "units": units}
                    for name, units in sorted(
                        products[kind].items(), key=lambda item: (-item[1], item[0])
                    )[:3]
                ],
            }
            for kind in all_kinds
        ],
    }


def acquisition(since: date, until: date, *, first_days: int = FIRST_DAYS) -> dict:
    """Known customers created since..until (live profiles), per week (Monday) and per the
    channel kind of their first touch ("unknown" when no event has a channel), and per first
    touch: how many bought in their first `first_days` days, their orders, revenue per
    currency and the products they bought most. From the raw rows."""
    return acquisition_from_counts(
        acquisition_counts(since, until, first_days=first_days), first_days=first_days
    )


def open_conversations_by_day(days) -> tuple[list[int], list[int]]:
    """For each day: conversations open at its end (created by then and not resolved by
    then), and conversations started that day whose SLA was breached. Open at a day's end is
    (created before it) - (resolved before it), as a conversation is resolved after it
    starts: a few grouped counts, whatever the number of conversations."""
    first, end = start_of(days[0]), start_of(days[-1] + timedelta(days=1))
    live = Conversation.objects.filter(merged_into__isnull=True)
    zone = timezone.get_current_timezone()

    def per_day(field, *conditions):
        rows = (
            live.filter(*conditions, **{f"{field}__gte": first, f"{field}__lt": end})
            .annotate(day=TruncDate(field, tzinfo=zone))
            .values("day")
            .annotate(n=Count("id"))
            .order_by()
        )
        return {row["day"]: row["n"] for row in rows}

    created, resolved = per_day("created_at"), per_day("resolved_at")
    breached = per_day("created_at", BREACHED)
    open_now = (
        live.filter(created_at__lt=first).count() - live.filter(resolved_at__lt=first).count()
    )
    open_at = []
    for day in days:
        open_now += created.get(day, 0) - resolved.get(day, 0)
        open_at.append(open_now)
    return open_at, [breached.get(day, 0) for day in days]
