"""Keeping the daily rollups (customers.rollups.DailyFigure) current, and reading them.

A metric's days are rewritten whole (delete then insert, in one transaction), so a refresh
is idempotent and a late event or a cancelled order is counted right the next time its day
is refreshed. The beat refreshes the last two days every few minutes (the acquisition
metrics the last 92 days: a customer's first 90 days keep changing; support also the days
of the conversations changed since its last run); the first run, or
`refresh_rollups(since=...)`, rebuilds a whole period (a year, after a bulk import).
The journeys and the support figures have tables of their own (JourneyFigure,
SupportDailyFigure): a window of any days, and exact percentiles over any period.

Readers ask `counts_of(metric, since, until)`: the days the rollup covers are read from it,
any other day (before the first refresh, or a day it has not reached) is computed from the
raw rows by the same function the refresh uses, so a page is right either way and fast once
the rollup is there. `RollupRefresh` says when each metric was last brought up to date.
"""

from collections import Counter
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Case, F, Sum, When
from django.utils import timezone

from customers.reports import (
    FIRST_DAYS,
    acquisition_counts,
    acquisition_from_counts,
    cohort_counts,
    month_of,
    retention_from_counts,
)
from customers.rollups import DailyFigure, JourneyFigure, RollupRefresh, SupportDailyFigure
from inventory.selectors import low_stock_count
from orders.reports import (
    ROPO_MAX_DAYS,
    journey_counts,
    journey_runs,
    journeys_from_counts,
    ropo_counts,
    ropo_facts,
    ropo_from_counts,
    sales_by_day,
    steps_of,
)
from support.reports import (
    conversations_touched_days,
    open_conversations_by_day,
    support_days,
    support_from_days,
    volume_by_channel_and_day,
)

STOCK_ALERTS = "stock_alerts"
SALES = "sales"
NEW_CUSTOMERS = "new_customers"
FIRST_ORDERS = "first_orders"
FIRST_PRODUCTS = "first_products"
ROPO_CATEGORY = "ropo_category"
ROPO_STORE = "ropo_store"
JOURNEYS = "journeys"
CONVERSATIONS = "conversations"
RETENTION = "retention"
SUPPORT = "support"
# A conversation started days ago changes when it is answered, resolved or breached: besides
# the last two days, the beat refreshes the days of the conversations changed since its
# last run (a minute more, for a change committed while it ran).
SUPPORT_OVERLAP = timedelta(minutes=1)
# The journeys rollup (customers.JourneyFigure) keeps each purchase's runs of touches up to
# a year before it, so any window ?days=1..365 is read from it.
JOURNEY_LOOKBACK_DAYS = ROPO_MAX_DAYS
# customers.JourneyFigure's runs, the nearest to the purchase first.
RUN_PLACES = ("nearest", "second", "third", "fourth")
# A first run rebuilds this many days; the beat then refreshes the last two.
INITIAL_DAYS = 400
# A purchase today changes every cohort it belongs to: the beat rebuilds the cohorts whose
# first purchase fell in the last 400 days (any period a report may ask, 366 days, and more).
RETENTION_DAYS = 400
KEY_LENGTH = 200
SEPARATOR = "\t"


def _key(*parts) -> str:
    return SEPARATOR.join("" if part is None else str(part) for part in parts)[:KEY_LENGTH]


def _gap(text):
    return int(text) if text else None


# --- each metric: raw rows -> figures, and figures -> the counts its report sums ---------


def _sales_figures(since, until):
    return [
        DailyFigure(
            day=row["day"],
            key=row["channel"],
            currency=row["currency"],
            count=row["orders"],
            amount=row["revenue"],
        )
        for row in sales_by_day(since, until)
    ]


def _acquisition_figures(since, until):
    counts = acquisition_counts(since, until)
    figures = {NEW_CUSTOMERS: [], FIRST_ORDERS: [], FIRST_PRODUCTS: []}
    for (day, kind), n in counts["new"].items():
        figures[NEW_CUSTOMERS].append(
            DailyFigure(day=day, key=kind, count=n, extra=counts["buyers"].get((day, kind), 0))
        )
    for (day, kind, currency), (orders, revenue) in counts["orders"].items():
        figures[FIRST_ORDERS].append(
            DailyFigure(day=day, key=kind, currency=currency, count=orders, amount=revenue)
        )
    for (day, kind, name), units in counts["products"].items():
        figures[FIRST_PRODUCTS].append(DailyFigure(day=day, key=_key(kind, name), count=units))
    return figures


def _ropo_figures(since, until):
    by_category, by_store = ropo_counts(ropo_facts(since, until, lookback=ROPO_MAX_DAYS))
    return {
        ROPO_CATEGORY: [
            DailyFigure(day=day, key=_key(name, gap, product_gap), count=n)
            for (day, name, gap, product_gap), n in by_category.items()
        ],
        ROPO_STORE: [
            DailyFigure(day=day, key=_key(name, gap, product_gap), count=n)
            for (day, name, gap, product_gap), n in by_store.items()
        ],
    }


def _journey_figures(since, until):
    figures = []
    for (day, kind, kinds, days_before), n in journey_runs(
        since, until, lookback=JOURNEY_LOOKBACK_DAYS
    ).items():
        runs = {}
        for place, run_kind, days in zip(
            RUN_PLACES, reversed(kinds), reversed(days_before), strict=False
        ):
            runs[f"{place}_kind"], runs[f"{place}_days"] = run_kind, days
        figures.append(JourneyFigure(day=day, purchase_kind=kind, count=n, **runs))
    return figures


def _conversation_figures(since, until):
    days = [since + timedelta(days=n) for n in range((until - since).days + 1)]
    open_at, breached = open_conversations_by_day(days)
    return [
        DailyFigure(day=day, count=o, extra=b)
        for day, o, b in zip(days, open_at, breached, strict=True)
    ]


def _retention_figures(since, until):
    # The cohort month in the key, so a report sums the days of a month in the database.
    return [
        DailyFigure(day=day, key=_key(month_of(day).isoformat(), group, months), count=n)
        for (day, group, months), n in cohort_counts(since, until).items()
    ]


def _support_figures(since, until):
    return [
        SupportDailyFigure(
            **{
                **entry,
                "first_response_seconds": ",".join(map(str, entry["first_response_seconds"])),
                "resolution_seconds": ",".join(map(str, entry["resolution_seconds"])),
            }
        )
        for entry in support_days(since, until)
    ]


# metric group -> (compute(since, until) -> {metric: [figures]}, days the beat refreshes)
GROUPS = {
    SALES: (lambda s, u: {SALES: _sales_figures(s, u)}, 2),
    NEW_CUSTOMERS: (_acquisition_figures, FIRST_DAYS + 2),
    ROPO_CATEGORY: (_ropo_figures, 2),
    JOURNEYS: (lambda s, u: {JOURNEYS: _journey_figures(s, u)}, 2),
    CONVERSATIONS: (lambda s, u: {CONVERSATIONS: _conversation_figures(s, u)}, 2),
    RETENTION: (lambda s, u: {RETENTION: _retention_figures(s, u)}, RETENTION_DAYS),
    SUPPORT: (lambda s, u: {SUPPORT: _support_figures(s, u)}, 2),
}
# Figures kept in their own table (a day's rows replaced whole), not in DailyFigure.
TABLES = {JOURNEYS: JourneyFigure, SUPPORT: SupportDailyFigure}
GROUP_OF = {
    SALES: SALES,
    NEW_CUSTOMERS: NEW_CUSTOMERS,
    FIRST_ORDERS: NEW_CUSTOMERS,
    FIRST_PRODUCTS: NEW_CUSTOMERS,
    ROPO_CATEGORY: ROPO_CATEGORY,
    ROPO_STORE: ROPO_CATEGORY,
    JOURNEYS: JOURNEYS,
    CONVERSATIONS: CONVERSATIONS,
    RETENTION: RETENTION,
    SUPPORT: SUPPORT,
}


def figures_of(metric: str, since: date, until: date):
    return DailyFigure.objects.filter(metric=metric, day__gte=since, day__lte=until).order_by(
        "day", "key", "currency"
    )


def refreshed_at(metric: str):
    return (
        RollupRefresh.objects.filter(metric=metric).values_list("refreshed_at", flat=True).first()
    )


def _covered(metric: str):
    refresh = RollupRefresh.objects.filter(metric=metric).first()
    if refresh is None or refresh.first_day is None:
        return None
    return refresh.first_day, refresh.last_day


def _summed(metric: str, since: date, until: date) -> list[DailyFigure]:
    """The figures of the days summed per key and currency in the database (day None): what
    a report that does not chart by day reads, a few hundred rows instead of one per day."""
    rows = (
        DailyFigure.objects.filter(metric=metric, day__gte=since, day__lte=until)
        .values("key", "currency")
        .annotate(n=Sum("count"), total=Sum("amount"), second=Sum("extra"))
        .order_by()
    )
    return [
        DailyFigure(
            day=None,
            key=row["key"],
            currency=row["currency"],
            count=row["n"],
            amount=row["total"],
            extra=row["second"],
        )
        for row in rows
    ]


def figures_for(
    metric: str, since: date, until: date, *, by_day: bool = True
) -> tuple[list[DailyFigure], object]:
    """The figures of since..until: from the rollup where it covers the days, computed from
    the raw rows elsewhere; and when the rollup was last refreshed (None: all raw). Without
    `by_day`, the rollup's days come summed per key (their `day` is None)."""
    covered = _covered(metric)
    compute = GROUPS[GROUP_OF[metric]][0]
    if covered is None or covered[0] > until or covered[1] < since:
        return compute(since, until)[metric], None
    first, last = max(since, covered[0]), min(until, covered[1])
    if by_day:
        figures = list(figures_of(metric, first, last))
    else:
        figures = _summed(metric, first, last)
    if since < first:
        figures += compute(since, first - timedelta(days=1))[metric]
    if last < until:
        figures += compute(last + timedelta(days=1), until)[metric]
    return figures, refreshed_at(metric)


def sales_counts(since, until, *, channel=None):
    """[{day, channel, currency, orders, revenue}] as orders.reports.sales_by_day gives."""
    figures, when = figures_for(SALES, since, until)
    return [
        {
            "day": f.day,
            "channel": f.key,
            "currency": f.currency,
            "orders": f.count,
            "revenue": Decimal(f.amount).quantize(Decimal("0.01")),
        }
        for f in sorted(figures, key=lambda f: (f.day, f.key, f.currency))
        if not channel or f.key == channel
    ], when


def conversations_by_day(days) -> tuple[list[int], list[int], object]:
    """Open conversations at the end of each day and SLA breaches of those started that day
    (support.reports.open_conversations_by_day), from the rollup where it has the days."""
    figures, when = figures_for(CONVERSATIONS, days[0], days[-1])
    by_day = {f.day: f for f in figures}
    return (
        [by_day[day].count if day in by_day else 0 for day in days],
        [by_day[day].extra if day in by_day else 0 for day in days],
        when,
    )


def acquisition_rollup_counts(since, until):
    new, when = figures_for(NEW_CUSTOMERS, since, until)
    orders, _when = figures_for(FIRST_ORDERS, since, until, by_day=False)
    products, _when = figures_for(FIRST_PRODUCTS, since, until, by_day=False)
    counts = {
        "new": Counter({(f.day, f.key): f.count for f in new}),
        "buyers": Counter({(f.day, f.key): f.extra for f in new}),
        "orders": {},
        "products": Counter(),
    }
    for f in orders:
        entry = counts["orders"].setdefault((f.day, f.key, f.currency), [0, Decimal(0)])
        entry[0] += f.count
        entry[1] += Decimal(f.amount)
    for f in products:
        kind, _sep, name = f.key.partition(SEPARATOR)
        counts["products"][(f.day, kind, name)] += f.count
    return counts, when


def ropo_rollup_counts(since, until):
    by_category, when = figures_for(ROPO_CATEGORY, since, until, by_day=False)
    by_store, _when = figures_for(ROPO_STORE, since, until, by_day=False)

    def counter(figures):
        out = Counter()
        for f in figures:
            name, gap, product_gap = f.key.split(SEPARATOR)
            out[(f.day, name, _gap(gap), _gap(product_gap))] += f.count
        return out

    return counter(by_category), counter(by_store), when


def retention_rollup_counts(since, until):
    """(first day of the cohort's month, group, months since) -> customers: the days of a
    month summed (in the database where the rollup has them)."""
    figures, when = figures_for(RETENTION, since, until, by_day=False)
    counts = Counter()
    for f in figures:
        month, group, months = f.key.split(SEPARATOR)
        counts[(date.fromisoformat(month), int(group), int(months))] += f.count
    return counts, when


def _journeys_in_window(since, until, days) -> Counter:
    """(None, steps) -> purchases of since..until in a window of `days` days, from the
    journeys rollup: PostgreSQL groups the purchases by their kind and the kinds of their
    runs inside the window (a run's kind where its days are at most `days`), a few hundred
    rows whatever the period or the window."""
    inside = {
        place: Case(When(**{f"{place}_days__lte": days}, then=F(f"{place}_kind")), default=None)
        for place in RUN_PLACES
    }
    rows = (
        JourneyFigure.objects.filter(day__gte=since, day__lte=until)
        .annotate(**{f"in_{place}": kind for place, kind in inside.items()})
        .values_list("purchase_kind", *[f"in_{place}" for place in RUN_PLACES])
        .annotate(n=Sum("count"))
        .order_by()
    )
    counts = Counter()
    for purchase_kind, *nearest_first, n in rows:
        kinds = [kind for kind in reversed(nearest_first) if kind]
        counts[(None, steps_of(purchase_kind, kinds))] += n
    return counts


def journey_rollup_counts(since, until, *, days=30):
    """(day, steps) -> purchases in a window of `days` days: from the rollup where it covers
    the days (their day None), from the raw rows elsewhere; and when it was refreshed."""
    covered = _covered(JOURNEYS)
    if covered is None or covered[0] > until or covered[1] < since:
        return journey_counts(since, until, days=days), None
    first, last = max(since, covered[0]), min(until, covered[1])
    counts = _journeys_in_window(first, last, days)
    if since < first:
        counts.update(journey_counts(since, first - timedelta(days=1), days=days))
    if last < until:
        counts.update(journey_counts(last + timedelta(days=1), until, days=days))
    return counts, refreshed_at(JOURNEYS)


# --- refreshing ------------------------------------------------------------------------


def replace_figures(metric: str, since: date, until: date, figures: list, *, as_of=None):
    """The figures of `metric` for the days since..until become exactly `figures` (in the
    metric's own table where it has one). `as_of`: the moment the figures were read (the
    refresh records it, and the next one looks for changes after it)."""
    with transaction.atomic():
        if metric in TABLES:
            TABLES[metric].objects.filter(day__gte=since, day__lte=until).delete()
            TABLES[metric].objects.bulk_create(figures, batch_size=2000)
        else:
            DailyFigure.objects.filter(metric=metric, day__gte=since, day__lte=until).delete()
            for figure in figures:
                figure.metric = metric
            DailyFigure.objects.bulk_create(figures, batch_size=2000)
        as_of = as_of or timezone.now()
        refresh, created = RollupRefresh.objects.get_or_create(
            metric=metric,
            defaults={"first_day": since, "last_day": until, "refreshed_at": as_of},
        )
        if not created:
            refresh.refreshed_at = as_of
            refresh.first_day = min(refresh.first_day or since, since)
            refresh.last_day = max(refresh.last_day or until, until)
            refresh.save(update_fields=["refreshed_at", "first_day", "last_day"])


def snapshot_stock_alerts(today: date | None = None) -> int:
    """Today's number of stock levels at or under their threshold (a figure with no history
    in the ledger, so it is taken once a day and kept)."""
    today = today or timezone.localdate()
    count = low_stock_count()
    replace_figures(STOCK_ALERTS, today, today, [DailyFigure(day=today, count=count)])
    return count


def refresh_rollups(*, since: date | None = None, until: date | None = None) -> dict:
    """Bring every metric up to date for since..until. Without `since`: each group's recent
    days (the whole INITIAL_DAYS on its first run), through today."""
    until = until or timezone.localdate()
    done = {STOCK_ALERTS: snapshot_stock_alerts(until)}
    for group, (compute, recent_days) in GROUPS.items():
        as_of = timezone.now()
        start = since
        if start is None:
            start = until - timedelta(days=recent_days - 1)
            if _covered(group) is None:
                start = until - timedelta(days=INITIAL_DAYS)
        periods = [(start, until)]
        if since is None and group == SUPPORT and _covered(group) is not None:
            changed = conversations_touched_days(refreshed_at(SUPPORT) - SUPPORT_OVERLAP)
            periods = _periods({d for d in changed if d < start} | {start, until}, until)
        for first, last in periods:
            for metric, figures in compute(first, last).items():
                # Figures are keyed by the day they belong to, which is inside first..last.
                replace_figures(metric, first, last, figures, as_of=as_of)
                done[metric] = done.get(metric, 0) + len(figures)
    return done


def _periods(days: set, until: date) -> list[tuple[date, date]]:
    """The days to refresh as contiguous periods; the latest runs through `until`."""
    ordered = sorted(days)
    periods = []
    for day in ordered:
        if periods and day <= periods[-1][1] + timedelta(days=1):
            periods[-1][1] = max(periods[-1][1], day)
        else:
            periods.append([day, day])
    periods[-1][1] = until
    return [tuple(p) for p in periods]


# --- the reports, read from the rollups -------------------------------------------------


def acquisition_report(since, until) -> tuple[dict, object]:
    counts, when = acquisition_rollup_counts(since, until)
    return acquisition_from_counts(counts), when


def ropo_report(since, until, *, days=30) -> tuple[dict, object]:
    by_category, by_store, when = ropo_rollup_counts(since, until)
    return ropo_from_counts(by_category, by_store, days=days), when


def retention_report(since, until) -> tuple[dict, object]:
    """Monthly cohorts of first purchases on since..until, by number of channel kinds."""
    counts, when = retention_rollup_counts(since, until)
    return retention_from_counts(counts), when


def _support_entries(since, until) -> list[dict]:
    entries = []
    for figure in SupportDailyFigure.objects.filter(day__gte=since, day__lte=until).values():
        for field in ("first_response_seconds", "resolution_seconds"):
            text = figure[field]
            figure[field] = list(map(int, text.split(","))) if text else []
        entries.append(figure)
    return entries


def support_report(since, until) -> tuple[dict, object]:
    """Support over the local days since..until (support.reports.support_over_time's
    figures) from the daily rollup where it covers the days, the raw rows elsewhere; the
    inbound messages per day and channel from the raw rows (one grouped query)."""
    covered = _covered(SUPPORT)
    if covered is None or covered[0] > until or covered[1] < since:
        entries, when = support_days(since, until), None
    else:
        first, last = max(since, covered[0]), min(until, covered[1])
        entries = _support_entries(first, last)
        if since < first:
            entries += support_days(since, first - timedelta(days=1))
        if last < until:
            entries += support_days(last + timedelta(days=1), until)
        when = refreshed_at(SUPPORT)
    report = support_from_days(entries, since, until)
    start = timezone.make_aware(datetime.combine(since, time.min))
    end = timezone.make_aware(datetime.combine(until + timedelta(days=1), time.min))
    report["volume"] = volume_by_channel_and_day(start, end)
    return report, when


def journeys_report(since, until, *, days=30) -> tuple[dict, object]:
    """The journeys before the purchases of since..until in a window of `days` days (1 to
    365), from the rollup where it covers the days."""
    counts, when = journey_rollup_counts(since, until, days=days)
    return journeys_from_counts(counts, days=days), when
