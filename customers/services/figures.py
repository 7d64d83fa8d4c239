"""Lifetime figures on the profile (orders, spend per currency, channels used, events, first
and last seen), kept current from the timeline.

Other apps feed them by recording `order_completed` / `order_refunded` events with `total`
(and `order_edited` with the signed `total_change` an edit made)
and `currency` properties; nothing else writes these columns.
"""

import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace
from typing import NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Min

from core.models import Channel
from customers.event_names import amount
from customers.models import ArchivedFigures, Customer, Event
from customers.services.bulk import bulk_set, insert_event_rows, insert_event_rows_counting

FIGURE_FIELDS = [
    "orders_count",
    "lifetime_spend",
    "channels_used",
    "events_count",
    "first_seen_at",
    "last_seen_at",
]
# The events that move lifetime spend: a sale adds its total, a refund takes its total back,
# and an edit of an open order (a line added or removed on the phone, in a store) adds the
# signed change it made to the order's total (`total_change`).
ORDER_EVENTS = ("order_completed", "order_refunded", "order_edited")


def _spend_change(name: str, properties: dict) -> Decimal | None:
    if name == "order_edited":
        try:
            change = Decimal(str(properties.get("total_change")))
        except (InvalidOperation, ValueError):
            return None
        return change if change.is_finite() else None
    total = amount(properties.get("total", properties.get("revenue")))
    if total is None:
        return None
    return total if name == "order_completed" else -total


def _add_spend(spend: dict, name: str, properties: dict) -> None:
    change = _spend_change(name, properties)
    if change is None:
        return
    currency = properties.get("currency") or settings.DEFAULT_CURRENCY
    spend[currency] = str(Decimal(spend.get(currency, "0")) + change)


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
        if event.name in ORDER_EVENTS:
            _add_spend(spend, event.name, event.properties or {})
    customer.channels_used = sorted(channels)
    customer.lifetime_spend = spend


class NewEvent(NamedTuple):
    """An event about to be stored, as the row it becomes (fields in COUNTED_EVENT_COLUMNS
    order, so a batch of them goes to the database as it is)."""

    customer_id: int
    name: str
    channel_id: int | None
    occurred_at: datetime
    properties: dict
    message_id: str


def store_new_events(events: list[NewEvent], *, received_at, source: str) -> set[str]:
    """Insert the events, skipping message ids already stored, and add the ones inserted to
    their customers' lifetime figures; returns the message ids inserted.

    The caller holds the customers' row locks in its transaction (a merge must not move a
    profile under us). Events are written in the given order; callers that may race on the
    same message ids pass them sorted, so they queue instead of deadlocking."""
    source = source[:100]
    if connection.vendor == "postgresql":
        # Counts, dates and channels in the INSERT's own statement; spend below.
        inserted = insert_event_rows_counting(
            events, received_at=received_at, source=source, order_event="order_completed"
        )
        _add_spend_of([e for e in events if e.name in ORDER_EVENTS and e.message_id in inserted])
        return inserted
    inserted = insert_event_rows(
        [
            (
                e.customer_id,
                e.name,
                e.channel_id,
                e.occurred_at,
                received_at,
                e.properties,
                source,
                e.message_id,
            )
            for e in events
        ]
    )
    channels = Channel.objects.in_bulk({e.channel_id for e in events if e.channel_id})
    by_customer: dict[int, list] = {}
    for event in events:
        if event.message_id in inserted:
            by_customer.setdefault(event.customer_id, []).append(
                SimpleNamespace(**event._asdict(), channel=channels.get(event.channel_id))
            )
    customers = list(Customer.objects.filter(id__in=by_customer).only("id", *FIGURE_FIELDS))
    for customer in customers:
        apply_event_figures(customer, by_customer[customer.id])
    bulk_set(customers, FIGURE_FIELDS)
    return inserted


def _add_spend_of(order_events: list[NewEvent]) -> None:
    """Add order totals to lifetime spend in Python, where the sums keep the exact decimal
    text the rest of the figures use (JSON numbers would round-trip differently in SQL)."""
    if not order_events:
        return
    customers = {
        c.id: c
        for c in Customer.objects.filter(id__in={e.customer_id for e in order_events}).only(
            "id", "lifetime_spend"
        )
    }
    changed = {}
    for event in order_events:
        customer = customers[event.customer_id]
        spend = dict(customer.lifetime_spend or {})
        _add_spend(spend, event.name, event.properties or {})
        if spend != customer.lifetime_spend:
            customer.lifetime_spend = spend
            changed[customer.id] = customer
    bulk_set(list(changed.values()), ["lifetime_spend"])


def recompute_lifetime_figures(customer: Customer, *, save: bool = True) -> Customer:
    """Rebuild every figure from the timeline (after a merge, or to repair), counting what
    the months already archived added (ArchivedFigures)."""
    events = Event.objects.filter(customer=customer)
    totals = events.aggregate(count=Count("id"), first=Min("occurred_at"), last=Max("occurred_at"))
    archived = list(ArchivedFigures.objects.filter(customer=customer))
    firsts = [totals["first"], *(a.first_seen_at for a in archived)]
    lasts = [totals["last"], *(a.last_seen_at for a in archived)]
    customer.events_count = totals["count"] + sum(a.events for a in archived)
    if any(firsts):
        customer.first_seen_at = min(filter(None, [customer.first_seen_at, *firsts]))
        customer.last_seen_at = max(filter(None, [customer.last_seen_at, *lasts]))
    kinds = set(
        events.exclude(channel__isnull=True)
        .values_list("channel__kind", flat=True)
        .order_by()
        .distinct()
    )
    customer.channels_used = sorted(kinds.union(*(a.channel_kinds for a in archived)))
    spend: dict = {}
    orders = sum(a.orders for a in archived)
    for month in archived:
        for currency, total in month.spend.items():
            spend[currency] = str(Decimal(spend.get(currency, "0")) + Decimal(total))
    for name, properties in events.filter(name__in=ORDER_EVENTS).values_list("name", "properties"):
        if name == "order_completed":
            orders += 1
        _add_spend(spend, name, properties or {})
    customer.orders_count = orders
    customer.lifetime_spend = spend
    if save:
        customer.save(update_fields=FIGURE_FIELDS)
    return customer


def fold_archived_events(*, table: str, partition: str, since, until, **_kwargs) -> int:
    """Before a month of events is archived (core.partitioning's `partition_archiving`): keep
    what it added to each customer's lifetime figures as ArchivedFigures rows. Returns how
    many customers it folded."""
    if table != Event._meta.db_table:
        return 0
    quote = connection.ops.quote_name
    rows, channels = quote(partition), quote(Channel._meta.db_table)
    with connection.cursor() as cursor:
        # Only quoted table names are formatted in.
        cursor.execute(
            f"""
            SELECT e.customer_id, count(*),
                   count(*) FILTER (WHERE e.name = 'order_completed'),
                   min(e.occurred_at), max(e.occurred_at),
                   coalesce(array_agg(DISTINCT ch.kind) FILTER (WHERE ch.kind IS NOT NULL), '{{}}')
            FROM {rows} AS e LEFT JOIN {channels} AS ch ON ch.id = e.channel_id
            GROUP BY e.customer_id
            """  # noqa: S608
        )
        totals = cursor.fetchall()
        cursor.execute(
            f"SELECT customer_id, name, properties FROM {rows} WHERE name = ANY(%s)",  # noqa: S608
            [list(ORDER_EVENTS)],
        )
        spend: dict[int, dict] = {}
        for customer_id, name, properties in cursor.fetchall():
            # Django reads jsonb as text and leaves decoding to the field.
            properties = json.loads(properties) if isinstance(properties, str) else properties
            _add_spend(spend.setdefault(customer_id, {}), name, properties or {})
    month = since.date()
    ArchivedFigures.objects.bulk_create(
        [
            ArchivedFigures(
                customer_id=customer_id,
                month=month,
                events=events,
                orders=orders,
                spend=spend.get(customer_id, {}),
                channel_kinds=sorted(kinds),
                first_seen_at=first,
                last_seen_at=last,
            )
            for customer_id, events, orders, first, last, kinds in totals
        ],
        batch_size=2000,
    )
    return len(totals)
