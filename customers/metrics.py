"""Customers' figures for the metrics endpoint (core.metrics)."""

from django.db.models import Count

from core.metrics import business_gauge
from customers.models import Event


@business_gauge(
    "omni_events_ingested",
    "Events stored on customers' timelines, per channel.",
    labels=("channel",),
)
def events_ingested():
    rows = Event.objects.values("channel__code").annotate(n=Count("id")).order_by()
    return [((row["channel__code"] or "none",), row["n"]) for row in rows]
