"""Keeping the daily rollups (customers.rollups.DailyFigure) current.

A metric's days are rewritten whole (delete then insert, in one transaction), so a refresh
is idempotent and a late event or a cancelled order is counted right the next time its day
is refreshed. The beat refreshes the last few days every few minutes; `refresh_rollups(
since=...)` rebuilds any period (the year, after a bulk import)."""

from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from customers.rollups import DailyFigure, RollupRefresh
from inventory.selectors import low_stock_count

STOCK_ALERTS = "stock_alerts"


def figures_of(metric: str, since: date, until: date):
    return DailyFigure.objects.filter(metric=metric, day__gte=since, day__lte=until).order_by(
        "day", "key", "currency"
    )


def refreshed_at(metric: str):
    return (
        RollupRefresh.objects.filter(metric=metric).values_list("refreshed_at", flat=True).first()
    )


def replace_figures(metric: str, since: date, until: date, figures: list[DailyFigure]):
    """The figures of `metric` for the days since..until become exactly `figures`."""
    with transaction.atomic():
        DailyFigure.objects.filter(metric=metric, day__gte=since, day__lte=until).delete()
        for figure in figures:
            figure.metric = metric
        DailyFigure.objects.bulk_create(figures, batch_size=1000)
        refresh, created = RollupRefresh.objects.get_or_create(
            metric=metric,
            defaults={"first_day": since, "last_day": until, "refreshed_at": timezone.now()},
        )
        if not created:
            refresh.refreshed_at = timezone.now()
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
    """Bring every metric up to date for since..until (default: yesterday and today)."""
    until = until or timezone.localdate()
    since = since or until - timedelta(days=1)
    return {STOCK_ALERTS: snapshot_stock_alerts(until)}
