"""Bulk ingest of identify and track items (/api/v1/batch), in a handful of queries per batch.

1. Each item is decoded and validated on its own (msgspec, then identity normalisation,
   channel and event rules); a bad item gets an error result and the others go on.
2. Items that share an identity form a group (they are the same person).
3. Groups whose identities name at most one existing customer, and cannot conflict, are
   resolved together: one locking read of all identities, one lock of their customers, one
   insert of new customers and one of new identities. Groups that need a merge (or might
   need a MergeCandidate) go one item at a time through resolve_customer, which holds the
   merge rules.
4. Track items become events in one `INSERT ... ON CONFLICT (message_id) DO NOTHING`; the
   lifetime figures of the customers touched are updated with one bulk update.

Everything happens in one transaction holding the locks it took, so an event can never land
on a profile that a concurrent merge has just folded away.
"""

import logging
from dataclasses import dataclass, field
from functools import cached_property

import msgspec
from django.db import transaction
from django.utils import timezone

from core.api.errors import DomainError
from customers.models import ANONYMOUS_KINDS, Customer, Identity, IdentityKind
from customers.normalise import IdentityKey
from customers.payloads import BatchItem, IdentifyIn, TrackIn, invalid
from customers.services.bulk import bulk_set, insert_event_rows, lock_identity_rows
from customers.services.events import (
    check_event,
    clean_occurred_at,
    new_message_id,
)
from customers.services.figures import FIGURE_FIELDS, apply_event_figures
from customers.services.identities import (
    ChannelLookup,
    apply_traits,
    clean_traits,
    identity_keys,
)
from customers.services.resolution import (
    MAX_ATTEMPTS,
    back_off,
    is_retryable,
    lock_customers,
    resolve_once,
)

logger = logging.getLogger(__name__)


@dataclass
class ItemResult:
    index: int
    status: str = "ok"  # ok | duplicate | error
    error: dict | None = None
    customer: Customer | None = None
    event_id: str | None = None

    def as_dict(self):
        body = {"index": self.index, "status": self.status}
        if self.customer is not None:
            body["customer_id"] = str(self.customer.public_id)
        if self.event_id is not None:
            body["message_id"] = self.event_id
        if self.error is not None:
            body["error"] = self.error
        return body


@dataclass
class _Item:
    index: int
    payload: IdentifyIn | TrackIn
    keys: dict[IdentityKey, bool]
    channel: object
    occurred_at: object
    traits: dict
    customer: Customer | None = None


@dataclass
class _Group:
    items: list[_Item] = field(default_factory=list)

    @cached_property
    def keys(self) -> dict[IdentityKey, bool]:
        merged: dict[IdentityKey, bool] = {}
        for item in self.items:
            for key, verified in item.keys.items():
                merged[key] = merged.get(key, False) or verified
        return merged

    def may_conflict(self) -> bool:
        """Several items naming different emails (or phones): run them in order through
        resolve_customer, whose rules may keep them apart."""
        if len(self.items) < 2:
            return False
        for kind in (IdentityKind.EMAIL, IdentityKind.PHONE):
            if len({key.value for key in self.keys if key.kind == kind}) > 1:
                return True
        return False


def _error(exc: DomainError) -> dict:
    return {"code": exc.code, "message": exc.message, "fields": exc.fields}


def _decode(raw):
    if isinstance(raw, IdentifyIn | TrackIn):
        return raw
    if isinstance(raw, bytes | msgspec.Raw):
        return msgspec.json.decode(raw, type=BatchItem)
    return msgspec.convert(raw, type=BatchItem)


def ingest_batch(raw_items, *, source: str = "", default_channel=None) -> list[ItemResult]:
    """Identify and track many people at once; one result per item, in order.

    `raw_items`: JSON bytes (msgspec.Raw), dicts or IdentifyIn/TrackIn structs. Never raises
    for a bad item: its result carries {"code", "message", "fields"}."""
    now = timezone.now()
    lookup = ChannelLookup(default=default_channel)
    results = [ItemResult(index) for index in range(len(raw_items))]
    items: list[_Item] = []
    for index, raw in enumerate(raw_items):
        try:
            payload = _decode(raw)
            keys = identity_keys(payload.identities)
            channel = lookup(payload.channel)
            occurred_at = clean_occurred_at(payload.occurred_at, now=now)
            if isinstance(payload, TrackIn):
                check_event(payload.event, payload.properties)
                traits = {}
            else:
                traits = clean_traits(payload.traits)
        except (msgspec.ValidationError, msgspec.DecodeError) as error:
            results[index] = ItemResult(index, "error", _error(invalid(error)))
            continue
        except DomainError as error:
            results[index] = ItemResult(index, "error", _error(error))
            continue
        items.append(_Item(index, payload, keys, channel, occurred_at, traits))
    if not items:
        return results

    groups = _group(items)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                live = _resolve(groups, results, source)
                _store_events(items, results, live, source, now)
            return results
        except Exception as error:
            # A lost race (unique violation, deadlock victim): the rollback released every
            # lock this batch took; start the batch again from scratch.
            if not is_retryable(error) or attempt == MAX_ATTEMPTS:
                raise
            logger.info("batch lost a race (%s); attempt %s", error, attempt + 1)
            for item in items:
                item.customer = None
                results[item.index] = ItemResult(item.index)
            back_off(attempt)
    return results


def _group(items: list[_Item]) -> list[_Group]:
    parent = list(range(len(items)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with: dict[IdentityKey, int] = {}
    for position, item in enumerate(items):
        for key in item.keys:
            if key in first_with:
                parent[root(position)] = root(first_with[key])
            else:
                first_with[key] = position
    groups: dict[int, _Group] = {}
    for position, item in enumerate(items):
        groups.setdefault(root(position), _Group()).items.append(item)
    return list(groups.values())


def _resolve(groups: list[_Group], results, source) -> dict[int, Customer]:
    """Give every item its customer; returns the live customers touched, by id."""
    touched, slow = _resolve_together(groups)
    for group in slow:
        for item in group.items:
            try:
                resolution = resolve_once(
                    item.keys, traits=item.traits, channel=item.channel, source=source
                )
            except DomainError as error:
                results[item.index] = ItemResult(item.index, "error", _error(error))
                continue
            item.customer = resolution.customer
    if slow:
        # A later item of a slow group may have merged an earlier item's profile away.
        ids = {item.customer.id for group in groups for item in group.items if item.customer}
        customers = Customer.objects.select_for_update().filter(id__in=ids)
        final = {c.id: c for c in customers}
        pending = {c.merged_into_id for c in final.values() if c.merged_into_id}
        while pending:
            for customer in Customer.objects.select_for_update().filter(id__in=pending):
                final[customer.id] = customer
            pending = {c.merged_into_id for c in final.values() if c.merged_into_id} - set(final)

        def live_of(customer_id):
            customer = final[customer_id]
            while customer.merged_into_id:
                customer = final[customer.merged_into_id]
            return customer

        for group in groups:
            for item in group.items:
                if item.customer is not None:
                    item.customer = live_of(item.customer.id)
        touched = {
            item.customer.id: item.customer for g in groups for item in g.items if item.customer
        }
    for group in groups:
        for item in group.items:
            if item.customer is not None:
                results[item.index].customer = item.customer
    return touched


def _resolve_together(groups: list[_Group]):
    """The fast path: every group that names at most one existing customer."""
    now = timezone.now()
    all_keys = {key for group in groups for key in group.keys}
    # key -> (id, customer_id, is_verified)
    owner = {
        IdentityKey(kind, value, partner): (pk, customer_id, verified)
        for pk, customer_id, kind, value, partner, verified in lock_identity_rows(all_keys)
    }

    fast, slow = [], []
    for group in groups:
        ids = {owner[key][1] for key in group.keys if key in owner}
        if len(ids) > 1 or group.may_conflict():
            slow.append(group)
        else:
            fast.append((group, ids))
    # Track-only batches (the bulk of traffic) need just the columns the figures touch.
    has_traits = any(item.traits for group, _ids in fast for item in group.items)
    customers = lock_customers(
        {i for _group, ids in fast for i in ids},
        only=None if has_traits else ["public_id", "is_anonymous", *FIGURE_FIELDS],
    )

    newcomers = []
    for group, ids in fast:
        if ids:
            customer = customers[next(iter(ids))]
        else:
            customer = Customer(
                is_anonymous=all(key.kind in ANONYMOUS_KINDS for key in group.keys),
                created_at=now,
                first_seen_at=now,
                last_seen_at=now,
            )
            newcomers.append(customer)
        for item in group.items:
            item.customer = customer
    Customer.objects.bulk_create(newcomers)

    new_identities, to_verify = [], []
    for group, _ids in fast:
        customer = group.items[0].customer
        for key, verified in group.keys.items():
            identity = owner.get(key)
            if identity is None:
                new_identities.append(
                    Identity(
                        customer=customer,
                        kind=key.kind,
                        value=key.value,
                        partner=key.partner,
                        is_verified=verified,
                        created_at=now,
                    )
                )
            elif verified and not identity[2]:
                to_verify.append(identity[0])
    # In key order, so concurrent batches creating the same identities queue, not deadlock.
    new_identities.sort(key=lambda i: (i.kind, i.value, i.partner))
    Identity.objects.bulk_create(new_identities)
    if to_verify:
        Identity.objects.filter(pk__in=to_verify).update(is_verified=True)

    changed: dict[int, Customer] = {}
    changed_fields: set[str] = set()
    for group, _ids in fast:
        for item in sorted(group.items, key=lambda i: i.index):
            customer = item.customer
            dirty = apply_traits(customer, item.traits)
            if customer.is_anonymous and any(k.kind not in ANONYMOUS_KINDS for k in item.keys):
                customer.is_anonymous = False
                dirty.add("is_anonymous")
            # A tracked event adds its channel with the figures, once it is stored.
            is_identify = isinstance(item.payload, IdentifyIn)
            if is_identify and item.channel and item.channel.kind not in customer.channels_used:
                customer.channels_used = sorted({*customer.channels_used, item.channel.kind})
                dirty.add("channels_used")
            if dirty:
                changed[customer.id] = customer
                changed_fields |= dirty
    if changed:
        bulk_set(list(changed.values()), sorted(changed_fields))
    touched = {group.items[0].customer.id: group.items[0].customer for group, _ids in fast}
    return touched, slow


@dataclass(slots=True)
class _NewEvent:
    """An event about to be stored: what the lifetime figures need, without a model row."""

    customer_id: int
    name: str
    channel: object
    occurred_at: object
    properties: dict
    message_id: str


def _store_events(items: list[_Item], results, live: dict[int, Customer], source, now):
    events: list[_NewEvent] = []
    seen: set[str] = set()
    for item in items:
        if not isinstance(item.payload, TrackIn) or item.customer is None:
            continue
        message_id = item.payload.message_id or new_message_id()
        results[item.index].event_id = message_id
        if message_id in seen:
            results[item.index].status = "duplicate"
            continue
        seen.add(message_id)
        events.append(
            _NewEvent(
                item.customer.id,
                item.payload.event,
                item.channel,
                item.occurred_at,
                item.payload.properties,
                message_id,
            )
        )
    # In message id order, so two batches carrying the same ids wait for each other instead
    # of deadlocking on the unique index.
    events.sort(key=lambda event: event.message_id)
    source = source[:100]
    inserted = insert_event_rows(
        [
            (
                e.customer_id,
                e.name,
                e.channel.id if e.channel is not None else None,
                e.occurred_at,
                now,
                e.properties,
                source,
                e.message_id,
            )
            for e in events
        ]
    )
    for item in items:
        result = results[item.index]
        if result.status == "ok" and result.event_id and result.event_id not in inserted:
            result.status = "duplicate"
    by_customer: dict[int, list[_NewEvent]] = {}
    for event in events:
        if event.message_id in inserted:
            by_customer.setdefault(event.customer_id, []).append(event)
    for customer_id, customer_events in by_customer.items():
        apply_event_figures(live[customer_id], customer_events)
    bulk_set([live[i] for i in by_customer], FIGURE_FIELDS)
