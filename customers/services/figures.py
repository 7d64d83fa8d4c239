"""Lifetime figures on the profile (orders, spend per currency, channels used, events, first
and last seen), kept current from the timeline.

Other apps feed them by recording `order_completed` / `order_refunded` events with `total`
and `currency` properties; nothing else writes these columns.
"""

from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Max, Min

from customers.event_names import amount
from customers.models import Customer, Event

FIGURE_FIELDS = [
    "orders_count",
    "lifetime_spend",
    "channels_used",
    "events_count",
    "first_seen_at",
    "last_seen_at",
]
ORDER_EVENTS = ("order_completed", "order_refunded")


def _add_spend(spend: dict, properties: dict, sign: int) -> None:
    total = amount(properties.get("total", properties.get("revenue")))
    if total is None:
        return
    currency = properties.get("currency") or settings.DEFAULT_CURRENCY
    spend[currency] = str(Decimal(spend.get(currency, "0")) + sign * total)


def apply_event_figures(customer: Customer, events) -> None:
    """Add newly stored events (objects with name, channel, occurred_at, properties) to the
    profile's figures, in memory; the caller saves."""
    channels = set(customer.channels_used or [])
    spend = dict(customer.lifetime_spend or {})
    for event in events:
        customer.events_count += 1
        if event.channel is not None:
            channels.add(event.channel.kind)
        if customer.first_seen_at is None or event.occurred_at < customer.first_seen_at:
            customer.first_seen_at = event.occurred_at
        if customer.last_seen_at is None or event.occurred_at > customer.last_seen_at:
            customer.last_seen_at = event.occurred_at
        if event.name == "order_completed":
            customer.orders_count += 1
            _add_spend(spend, event.properties, +1)
        elif event.name == "order_refunded":
            _add_spend(spend, event.properties, -1)
    customer.channels_used = sorted(channels)
    customer.lifetime_spend = spend


def recompute_lifetime_figures(customer: Customer, *, save: bool = True) -> Customer:
    """Rebuild every figure from the timeline (after a merge, or to repair)."""
    events = Event.objects.filter(customer=customer)
    totals = events.aggregate(count=Count("id"), first=Min("occurred_at"), last=Max("occurred_at"))
    customer.events_count = totals["count"]
    if totals["first"]:
        customer.first_seen_at = min(filter(None, [customer.first_seen_at, totals["first"]]))
        customer.last_seen_at = max(filter(None, [customer.last_seen_at, totals["last"]]))
    customer.channels_used = sorted(
        set(
            events.exclude(channel__isnull=True)
            .values_list("channel__kind", flat=True)
            .order_by()
            .distinct()
        )
    )
    spend: dict = {}
    orders = 0
    for name, properties in events.filter(name__in=ORDER_EVENTS).values_list("name", "properties"):
        if name == "order_completed":
            orders += 1
        _add_spend(spend, properties or {}, +1 if name == "order_completed" else -1)
    customer.orders_count = orders
    customer.lifetime_spend = spend
    if save:
        customer.save(update_fields=FIGURE_FIELDS)
    return customer
