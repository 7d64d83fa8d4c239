"""Stock pushes to channels, for the metrics endpoint (core.metrics)."""

from django.db.models import Count, Q

from core.metrics import business_gauge
from inventory.models import StockSyncState


@business_gauge(
    "omni_stock_pushes",
    "Channel stock figures waiting to be pushed (pending) and those whose last push failed "
    "(failing), per channel.",
    labels=("channel", "state"),
)
def stock_pushes():
    rows = (
        StockSyncState.objects.values("channel__code")
        .annotate(
            waiting=Count("id", filter=Q(pending=True)),
            failing_now=Count("id", filter=Q(pending=True) & ~Q(last_error="")),
        )
        .order_by()
    )
    figures = []
    for row in rows:
        figures.append(((row["channel__code"], "pending"), row["waiting"]))
        figures.append(((row["channel__code"], "failing"), row["failing_now"]))
    return figures
