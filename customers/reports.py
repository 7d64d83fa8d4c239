"""Acquisition (reads only): new customers per week by the channel of their first touch, and
what they bought in their first 90 days, per currency (amounts never added across
currencies); monthly cohort retention by number of channel kinds; and open conversations
and SLA breaches per day for the dashboard."""

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Min, OuterRef, Subquery
from django.db.models.functions import TruncMonth
from django.utils import timezone

from customers.models import Customer, Event
from orders.reports import customer_sales, purchases, start_of, units_of_orders

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
    for order_id, name, quantity in units_of_orders(first_orders.keys()):
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


# --- retention by number of channels: monthly cohorts ------------------------------------

# Channel groups of the cohort curves: 1, 2, and 3 or more kinds of channel.
COHORT_GROUPS = (1, 2, 3)


def month_of(day: date) -> date:
    return day.replace(day=1)


def months_between(first: date, later: date) -> int:
    return (later.year - first.year) * 12 + later.month - first.month


def add_months(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def channel_group(channels_used) -> int:
    """1, 2 or 3 (three or more) kinds of channel on the profile; a buyer whose profile
    lists none has used at least the channel they bought through: one."""
    return min(max(len(channels_used or []), 1), COHORT_GROUPS[-1])


def cohort_counts(since: date, until: date) -> Counter:
    """(local day of the first purchase, channel group, months since) -> customers, for the
    live customers whose first purchase (a sale order, not cancelled) fell on since..until.
    Months since is the calendar months from the first purchase's month to the month of a
    later purchase (0: the first month itself, so the cohort's size), counting each
    customer once a month, over every purchase up to now. The group is the number of
    channel kinds on the profile now (`channels_used`: 1, 2, 3 or more)."""
    zone = timezone.get_current_timezone()
    sales = customer_sales()
    firsts = (
        sales.values("customer_id")
        .annotate(first=Min("placed_at"))
        .filter(first__gte=start_of(since), first__lt=start_of(until + timedelta(days=1)))
        .order_by()
    )
    first_day = {
        row["customer_id"]: timezone.localtime(row["first"], zone).date() for row in firsts
    }
    groups = {
        pk: channel_group(used)
        for pk, used in Customer.objects.live()
        .filter(pk__in=firsts.values("customer_id"))
        .values_list("pk", "channels_used")
    }
    counts: Counter = Counter()
    for customer_id, month in (
        sales.filter(customer_id__in=firsts.values("customer_id"))
        .annotate(month=TruncMonth("placed_at", tzinfo=zone))
        .values_list("customer_id", "month")
        .distinct()
        .order_by()
    ):
        if customer_id not in groups:
            continue  # merged into another profile since
        day = first_day[customer_id]
        month = month.date() if isinstance(month, datetime) else month
        counts[(day, groups[customer_id], months_between(month_of(day), month))] += 1
    return counts


def retention_from_counts(counts: Counter, *, today: date | None = None) -> dict:
    """Cohort curves from counted (day, group, months since) -> customers: per calendar
    month of first purchase and group the cohort's size and how many bought again in each
    later month, and per group the retention curve: in month N, the share of the customers
    of the cohorts that have reached month N (the current month counts so far) who bought
    in it. Month 0 is every cohort's first month, 100 %."""
    current = month_of(today or timezone.localdate())
    cells: Counter = Counter()
    for (day, group, months), n in counts.items():
        cells[(month_of(day), group, months)] += n
    cohort_months = sorted({month for month, _g, _m in cells})
    span = months_between(cohort_months[0], current) + 1 if cohort_months else 0
    cohorts = []
    for month in cohort_months:
        for group in COHORT_GROUPS:
            size = cells.get((month, group, 0), 0)
            if not size:
                continue
            reached = months_between(month, current) + 1
            cohorts.append(
                {
                    "month": month,
                    "group": group,
                    "customers": size,
                    "active": [cells.get((month, group, n), 0) for n in range(reached)],
                }
            )
    curves = []
    for group in COHORT_GROUPS:
        rows = [row for row in cohorts if row["group"] == group]
        customers = [sum(r["customers"] for r in rows if len(r["active"]) > n) for n in range(span)]
        active = [sum(r["active"][n] for r in rows if len(r["active"]) > n) for n in range(span)]
        curves.append(
            {
                "group": group,
                "customers": customers,
                "active": active,
                "share": [
                    round(a / c, 4) if c else None for a, c in zip(active, customers, strict=True)
                ],
            }
        )
    return {"months": list(range(span)), "curves": curves, "cohorts": cohorts}
