"""Writing the timeline: one event (other apps, /track) or many at once (/batch).

Every event has a unique message id. Inserts use `INSERT ... ON CONFLICT DO NOTHING
RETURNING message_id`, so a retried delivery stores nothing twice and we still know, per item,
whether it was new or a duplicate. (On PostgreSQL the table is partitioned by month and the
message id is kept unique by a key table and trigger: core.partitioning.)
"""

import uuid
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone

from core.partitioning import is_partitioned
from customers.errors import CustomerErased, InvalidEvent
from customers.event_names import property_errors
from customers.models import Customer, Event
from customers.services.figures import FIGURE_FIELDS, apply_event_figures
from customers.services.identities import ChannelLookup
from customers.services.resolution import resolve_customer_detailed

# Events dated further ahead than this are refused: a clock or unit error on the partner side.
MAX_FUTURE = timedelta(days=1)


def new_message_id() -> str:
    return f"srv-{uuid.uuid4().hex}"


def clean_occurred_at(value, *, now=None, field="occurred_at"):
    now = now or timezone.now()
    if value is None:
        return now
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidEvent(
                "occurred_at is not ISO 8601.", fields={field: ["Use ISO 8601."]}
            ) from None
    if timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    if value > now + MAX_FUTURE:
        raise InvalidEvent("occurred_at is in the future.", fields={field: ["Lies in the future."]})
    return value


def check_event(name: str, properties) -> None:
    """Raise InvalidEvent naming the field if the name or its properties break the spec."""
    errors = property_errors(name, properties)
    if errors:
        raise InvalidEvent("Invalid input in: " + ", ".join(errors) + ".", fields=errors)


def record_event(
    customer: Customer,
    name: str,
    *,
    channel=None,
    occurred_at=None,
    properties=None,
    message_id=None,
    source="",
) -> tuple[Event, bool]:
    """Put one event on the customer's timeline; `(event, created)`.

    The same `message_id` twice stores one event (created=False the second time). Keeps the
    lifetime figures current. Raises InvalidEvent naming the field, CustomerErased."""
    properties = properties if properties is not None else {}
    check_event(name, properties)
    channel = ChannelLookup()(channel)
    occurred_at = clean_occurred_at(occurred_at)
    message_id = message_id or new_message_id()
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        while customer.merged_into_id:
            customer = Customer.objects.select_for_update().get(pk=customer.merged_into_id)
        if customer.erased_at:
            raise CustomerErased("This customer was erased; nothing more is recorded about them.")
        event = Event(
            customer=customer,
            name=name,
            channel=channel,
            occurred_at=occurred_at,
            received_at=timezone.now(),
            properties=properties,
            source=(source or "")[:100],
            message_id=message_id,
        )
        created = insert_event(event)
        if not created:
            return event_with_message_id(message_id).select_related("channel").get(), False
        apply_event_figures(customer, [event])
        customer.save(update_fields=FIGURE_FIELDS)
        return event, True


def event_with_message_id(message_id: str):
    """The event stored under `message_id`, as a queryset. On a partitioned event table its
    key row gives the month, so one partition is read rather than an index probe in each."""
    found = Event.objects.filter(message_id=message_id)
    if is_partitioned(Event._meta.db_table):
        found = found.filter(
            occurred_at=RawSQL(
                "SELECT at FROM customers_event_key WHERE message_id = %s", [message_id]
            )
        )
    return found


def insert_event(event: Event) -> bool:
    """Insert one event unless its message id is stored already; sets its pk when it is new.
    One statement either way (the single-event path of other apps' requests)."""
    fields = [f for f in Event._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    table = quote(Event._meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    params = [f.get_db_prep_save(getattr(event, f.attname), connection) for f in fields]
    # Only quoted names and placeholders are formatted in; values are parameters.
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) "  # noqa: S608
        f"ON CONFLICT DO NOTHING RETURNING {quote('id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    event.pk = row[0]
    event._state.adding = False
    return True


def track_event(
    identities,
    name: str,
    *,
    properties=None,
    channel=None,
    occurred_at=None,
    message_id=None,
    source="",
) -> tuple[Event, bool]:
    """Resolve the person and record one event on their timeline, in one transaction."""
    properties = properties if properties is not None else {}
    check_event(name, properties)
    channel = ChannelLookup()(channel)
    with transaction.atomic():
        customer = resolve_customer_detailed(identities, channel=channel, source=source).customer
        return record_event(
            customer,
            name,
            channel=channel,
            occurred_at=occurred_at,
            properties=properties,
            message_id=message_id,
            source=source,
        )


def backdate_event(message_id: str, by: timedelta) -> Event | None:
    """Move the event recorded under `message_id` `by` earlier (the demo spreads the history
    it seeds over weeks); None when there is no such event. Figures are not recomputed: the
    demo rebuilds its rollups afterwards."""
    event = event_with_message_id(message_id).first()
    if event is None:
        return None
    event.occurred_at -= by
    Event.objects.filter(pk=event.pk).update(occurred_at=event.occurred_at)
    return event
