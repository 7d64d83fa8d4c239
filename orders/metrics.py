"""Orders' figures for the metrics endpoint (core.metrics)."""

from django.db.models import Count

from core.metrics import business_gauge
from orders.models import Order


@business_gauge(
    "omni_orders", "Orders stored, per channel and status.", labels=("channel", "status")
)
def orders_per_channel():
    rows = Order.objects.values("channel__code", "status").annotate(n=Count("id")).order_by()
    return [((row["channel__code"], row["status"]), row["n"]) for row in rows]
