"""Bulk ingest of identify and track items (/api/v1/batch), in a handful of queries per batch.

1. Each item is validated on its own (msgspec, then identity normalisation, channel and
   event rules); a bad item gets an error result and the others go on. (All items are
   decoded in one pass when all are well-formed, item by item otherwise.)
2. Items that share an identity form a group (they are the same person).
3. Groups whose identities name at most one existing customer, and cannot conflict, are
   resolved together: one read of all identities, one lock of their customers (only the
   columns a track needs), one insert of new customers and one of new identities.
   Groups that need a merge (or might need a MergeCandidate) go one item at a time through
   resolve_customer, which holds the merge rules.
4. Track items become events in one `INSERT ... ON CONFLICT DO NOTHING` (a stored message id
   is skipped: customers.services.events) that, in the same statement, adds what it inserted to the customers' lifetime figures.

Everything happens in one transaction holding the locks it took, so an event can never land
on a profile that a concurrent merge has just folded away or an erasure has emptied (see
_resolve_together for why the customer's lock is enough). A lost race rolls the whole batch
back and runs it again.
"""

import logging
from dataclasses import dataclass
from functools import lru_cache

import msgspec
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.api.errors import DomainError
from core.api.parsers import NUL_MESSAGE, nul_path
from customers.errors import InvalidEvent
from customers.models import ANONYMOUS_KINDS, Customer, Identity, IdentityKind, new_public_id
from customers.normalise import IdentityKey, forget_parsed_phones, normalise_identity
from customers.payloads import BatchItem, IdentifyIn, TrackIn, invalid
from customers.services.bulk import (
    IdentityRead,
    bulk_set,
    identity_rows,
    insert_objects,
    insert_rows,
    lock_customer_rows,
    lock_identities,
)
from customers.services.events import check_event, clean_occurred_at, new_message_id
from customers.services.figures import NewEvent, store_new_events
from customers.services.identities import ChannelLookup, apply_traits, clean_traits
from customers.services.resolution import (
    MAX_ATTEMPTS,
    RetryResolution,
    back_off,
    is_retryable,
    resolve_once,
)

logger = logging.getLogger(__name__)

# (kind, value, partner) of a normalised identity: a plain tuple hashes and compares in C,
# which matters when a batch looks up a thousand of them several times.
Key = tuple[str, str, str]
CONFLICTING = (IdentityKind.EMAIL, IdentityKind.PHONE)
_decode_item = msgspec.json.Decoder(BatchItem).decode
_decode_items = msgspec.json.Decoder(list[BatchItem]).decode


@dataclass(slots=True)
class Profile:
    """The columns of a customer a track needs; batches lock these instead of whole rows."""

    id: int | None  # None until inserted
    public_id: str
    is_anonymous: bool


@dataclass(slots=True)
class ItemResult:
    index: int
    status: str = "ok"  # ok | duplicate | error
    error: dict | None = None
    customer: Customer | Profile | None = None
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


@dataclass(slots=True)
class _Item:
    index: int
    payload: IdentifyIn | TrackIn
    keys: dict[Key, bool]  # -> verified, in input order
    channel: object
    occurred_at: object
    traits: dict
    customer: Customer | Profile | None = None

    @property
    def is_track(self) -> bool:
        return type(self.payload) is TrackIn

    def identity_keys(self) -> dict[IdentityKey, bool]:
        """The keys as resolve_customer takes them: sorted, so that concurrent resolutions
        creating the same identities insert them in the same order."""
        return {IdentityKey(*key): verified for key, verified in sorted(self.keys.items())}


class _Group:
    """Items that share an identity: one person."""

    __slots__ = ("items", "keys", "is_track_only")

    def __init__(self, items: list[_Item]):
        self.items = items
        if len(items) == 1:  # most people send one item per batch
            self.keys: dict[Key, bool] = items[0].keys
            self.is_track_only = type(items[0].payload) is TrackIn
            return
        self.is_track_only = all(item.is_track for item in items)
        self.keys = {}
        for item in items:
            for key, verified in item.keys.items():
                self.keys[key] = self.keys.get(key, False) or verified

    def may_conflict(self) -> bool:
        """Several items naming different emails (or phones): run them in order through
        resolve_customer, whose rules may keep them apart."""
        if len(self.items) < 2:
            return False
        for kind in CONFLICTING:
            if len({value for k, value, _partner in self.keys if k == kind}) > 1:
                return True
        return False


def _error(exc: DomainError) -> dict:
    return {"code": exc.code, "message": exc.message, "fields": exc.fields}


def _decode(raw):
    if isinstance(raw, IdentifyIn | TrackIn):
        return raw
    if isinstance(raw, bytes | msgspec.Raw):
        return _decode_item(raw)
    return msgspec.convert(raw, type=BatchItem)


def _decode_all(raw_items) -> tuple[list | None, bool]:
    """(every item decoded, may any hold a NUL?) for raw JSON items. Decoding them in one
    pass takes half the time of one call per item; when any item is bad, (None, ...) sends
    the caller item by item, so that each is judged alone."""
    if not all(isinstance(raw, msgspec.Raw | bytes) for raw in raw_items):
        return None, True
    document = b"[" + b",".join(raw_items) + b"]"
    # JSON can only carry a NUL escaped; without one anywhere, no item needs the deep check.
    may_hold_nul = b"\\u0000" in document
    try:
        return _decode_items(document), may_hold_nul
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None, may_hold_nul


def _refuse_nul(payload) -> None:
    """PostgreSQL cannot store a NUL character in text or jsonb: refuse the item naming the
    field, rather than fail the statement that carries the whole batch."""
    fields = {
        f"identities.{position}": [identity.kind, identity.value, identity.partner]
        for position, identity in enumerate(payload.identities)
    }
    fields["channel"] = payload.channel
    fields["message_id"] = payload.message_id
    if type(payload) is TrackIn:
        fields["event"] = payload.event
        fields["properties"] = payload.properties
    else:
        fields["traits"] = payload.traits
    for name, value in fields.items():
        if nul_path(value) is not None:
            raise InvalidEvent(
                _("Invalid input in: %(field)s.") % {"field": name},
                fields={name: [str(NUL_MESSAGE)]},
            )


@lru_cache(maxsize=65536)
def _normalised(kind: str, value: str, partner: str, region: str) -> Key:
    # Active visitors send event after event: their identities repeat from batch to batch.
    # (The region is part of the key because phone numbers are read in it.)
    key = normalise_identity(kind, value, partner)
    return (key.kind, key.value, key.partner)


def forget_cached_identities() -> None:
    """Erasure: drop this process's memos of identities as partners typed them. (Other
    processes' memos only live in their memory and age out as new identities fill them.)"""
    _normalised.cache_clear()
    forget_parsed_phones()


def _keys_of(identities) -> dict[Key, bool]:
    """Normalised keys of an item's identities (structs decoded from the contract); raises
    InvalidIdentity naming `identities.<i>.<field>`."""
    keys: dict[Key, bool] = {}
    region = settings.PHONE_DEFAULT_REGION
    for identity in identities:
        try:
            key = _normalised(identity.kind, identity.value, identity.partner, region)
        except DomainError:
            # Name the field only for the rare bad identity.
            position = identities.index(identity)
            normalise_identity(
                identity.kind, identity.value, identity.partner, field=f"identities.{position}"
            )
            raise
        keys[key] = keys.get(key, False) or identity.verified
    return keys


def ingest_batch(raw_items, *, source: str = "", default_channel=None) -> list[ItemResult]:
    """Identify and track many people at once; one result per item, in order.

    `raw_items`: JSON bytes (msgspec.Raw), dicts or IdentifyIn/TrackIn structs. Never raises
    for a bad item: its result carries {"code", "message", "fields"}. Every track's
    message_id is stored at most once, within the batch, across retries and across
    concurrent batches; the customers' lifetime figures include exactly the events stored."""
    now = timezone.now()
    lookup = ChannelLookup(default=default_channel)
    errors: dict[int, ItemResult] = {}
    named: list[tuple[int, IdentifyIn | TrackIn, dict[Key, bool]]] = []
    decoded, may_hold_nul = _decode_all(raw_items)
    for index, raw in enumerate(raw_items):
        try:
            payload = decoded[index] if decoded is not None else _decode(raw)
            if may_hold_nul:
                _refuse_nul(payload)
            named.append((index, payload, _keys_of(payload.identities)))
        except (msgspec.ValidationError, msgspec.DecodeError) as error:
            errors[index] = ItemResult(index, "error", _error(invalid(error)))
        except DomainError as error:
            errors[index] = ItemResult(index, "error", _error(error))

    # The identities go to the database now; the rest of each item is checked while it
    # looks them up (nothing below touches the database until read.rows()).
    lookup.load()
    read = IdentityRead({key for _index, _payload, keys in named for key in keys})
    try:
        items = _checked_items(named, errors, lookup, now)
        groups = _group(items)
    finally:
        identities = read.rows()

    for attempt in range(1, MAX_ATTEMPTS + 1):
        results = dict(errors)
        try:
            with transaction.atomic():
                if items:
                    # A retry reads the identities again: a lost race may have moved them.
                    _resolve(groups, results, source, identities if attempt == 1 else None)
                    _store_events(items, results, source, now)
            break
        except Exception as error:
            # A lost race (unique violation, deadlock victim, a profile merged meanwhile):
            # the rollback released every lock this batch took; start again from scratch.
            if not is_retryable(error) or attempt == MAX_ATTEMPTS:
                raise
            logger.info("batch lost a race (%s); attempt %s", error, attempt + 1)
            for item in items:
                item.customer = None
            back_off(attempt)
    return [results[index] for index in range(len(raw_items))]


def _checked_items(named, errors: dict, lookup, now) -> list[_Item]:
    """The items whose channel, time and event (or traits) pass; the others get an error."""
    channels = {}  # as named by the items -> Channel
    items: list[_Item] = []
    for index, payload, keys in named:
        try:
            if payload.channel in channels:
                channel = channels[payload.channel]
            else:
                channel = channels[payload.channel] = lookup(payload.channel)
            occurred_at = clean_occurred_at(payload.occurred_at, now=now)
            if type(payload) is TrackIn:
                check_event(payload.event, payload.properties)
                traits = {}
            else:
                traits = clean_traits(payload.traits)
        except DomainError as error:
            errors[index] = ItemResult(index, "error", _error(error))
            continue
        items.append(_Item(index, payload, keys, channel, occurred_at, traits))
    return items


def _group(items: list[_Item]) -> list[_Group]:
    """Union-find over shared identities; groups keep their items in input order."""
    parent: list[int] = []
    group_of_key: dict[Key, int] = {}
    membership: list[int] = []

    def root(group):
        while parent[group] != group:
            parent[group] = parent[parent[group]]
            group = parent[group]
        return group

    for item in items:
        group = None
        for key in item.keys:
            other = group_of_key.get(key)
            if other is None:
                continue
            other = root(other)
            if group is None:
                group = other
            elif other != group:
                group, other = min(group, other), max(group, other)
                parent[other] = group
        if group is None:
            group = len(parent)
            parent.append(group)
        for key in item.keys:
            group_of_key.setdefault(key, group)
        membership.append(group)
    members: dict[int, list[_Item]] = {}
    for item, group in zip(items, membership, strict=True):
        if parent[group] != group:
            group = root(group)
        if group in members:
            members[group].append(item)
        else:
            members[group] = [item]
    return [_Group(group_items) for group_items in members.values()]


def _resolve(groups: list[_Group], results: dict, source, identities=None) -> None:
    """Give every item its live customer (or an error result). `identities`: the rows of
    identity_rows() for the groups' keys, if already read."""
    slow = _resolve_together(groups, identities)
    for group in slow:
        for item in group.items:
            try:
                resolution = resolve_once(
                    item.identity_keys(), traits=item.traits, channel=item.channel, source=source
                )
            except DomainError as error:
                results[item.index] = ItemResult(item.index, "error", _error(error))
                continue
            item.customer = resolution.customer
    if slow:
        _follow_merges([item for group in groups for item in group.items if item.customer])


def _follow_merges(items: list[_Item]) -> None:
    """A later item of a slow group may have merged an earlier item's profile away: point
    every item at the live profile, locked."""
    final: dict[int, tuple] = {}  # id -> (id, public_id, is_anonymous, merged_into_id, ...)
    pending = {item.customer.id for item in items}
    while pending:
        for row in lock_customer_rows(pending):
            final[row[0]] = row
        pending = {row[3] for row in final.values() if row[3]} - set(final)
    live: dict[int, Profile] = {}

    def live_of(customer_id):
        row = final[customer_id]
        while row[3]:
            row = final[row[3]]
        if row[0] not in live:
            live[row[0]] = Profile(row[0], row[1], row[2])
        return live[row[0]]

    for item in items:
        item.customer = live_of(item.customer.id)


def _resolve_together(groups: list[_Group], identities=None) -> list[_Group]:
    """The fast path: every group that names at most one existing customer. Returns the
    groups left for resolve_customer.

    Identities are read without a lock: an identity only ever changes customer when that
    customer is merged away (merged_into set) or erased (erased_at set, identities deleted),
    both under the customer's row lock. Locking the customers and finding neither proves
    every identity read still points where it did; otherwise the batch starts again. Only
    identities this batch will write (to verify them) are locked, before the customers."""
    now = timezone.now()
    all_keys = {key for group in groups for key in group.keys}
    if identities is None:
        identities = identity_rows(all_keys)
    # (Rows read ahead may also answer for items refused since.)
    owner: dict[Key, tuple] = {
        key: (pk, customer_id, verified)
        for key, pk, customer_id, verified in identities
        if key in all_keys
    }

    fast: list[tuple[_Group, int | None]] = []
    slow: list[_Group] = []
    for group in groups:
        customer_id, several = None, False
        for key in group.keys:
            identity = owner.get(key)
            if identity is None:
                continue
            if customer_id is None:
                customer_id = identity[1]
            elif identity[1] != customer_id:
                several = True
        if several or (len(group.items) > 1 and group.may_conflict()):
            slow.append(group)
        else:
            fast.append((group, customer_id))

    to_verify: dict[int, int] = {}  # identity id -> customer id
    for group, _customer_id in fast:
        if True in group.keys.values():
            for key, verified in group.keys.items():
                identity = owner.get(key)
                if verified and identity is not None and not identity[2]:
                    to_verify[identity[0]] = identity[1]
    if to_verify and lock_identities(to_verify) != to_verify:
        raise RetryResolution("an identity moved meanwhile")

    profiles: dict[int, Customer | Profile] = {}
    known = {customer_id for _group, customer_id in fast if customer_id is not None}
    for customer_id, public_id, is_anonymous, merged_into_id, is_erased in lock_customer_rows(
        known
    ):
        if merged_into_id or is_erased:
            raise RetryResolution("a profile was merged or erased meanwhile")
        profiles[customer_id] = Profile(customer_id, public_id, is_anonymous)
    if len(profiles) != len(known):
        raise RetryResolution("a profile was removed meanwhile")
    # Identify items change profile fields: those customers (already locked) load in full.
    identified = {i for g, i in fast if i is not None and not g.is_track_only}
    if identified:
        profiles.update(Customer.objects.in_bulk(identified))

    newcomers: list[Customer] = []  # identified by an identify item: traits to apply
    new_profiles: list[Profile] = []  # named by tracks only: just the row
    changed: dict[int, Customer] = {}
    changed_fields: set[str] = set()
    now_known: list[int] = []
    for group, customer_id in fast:
        if customer_id is not None:
            customer = profiles[customer_id]
        elif group.is_track_only:
            customer = Profile(
                None,
                str(new_public_id()),
                all(kind in ANONYMOUS_KINDS for kind, _v, _p in group.keys),
            )
            new_profiles.append(customer)
        else:
            customer = Customer(
                is_anonymous=all(kind in ANONYMOUS_KINDS for kind, _v, _p in group.keys),
                created_at=now,
                first_seen_at=now,
                last_seen_at=now,
            )
            newcomers.append(customer)
        for item in group.items:
            item.customer = customer
        if group.is_track_only and not customer.is_anonymous:
            continue  # the common case: nothing on the profile changes but its figures
        for item in group.items:
            is_known = customer.is_anonymous and any(
                kind not in ANONYMOUS_KINDS for kind, _v, _p in item.keys
            )
            if item.is_track:
                if is_known:
                    customer.is_anonymous = False
                    if isinstance(customer, Profile):
                        now_known.append(customer.id)
                    else:
                        changed[id(customer)] = customer
                        changed_fields.add("is_anonymous")
                # A tracked event adds its channel with the figures, once it is stored.
                continue
            dirty = apply_traits(customer, item.traits)
            if is_known:
                customer.is_anonymous = False
                dirty.add("is_anonymous")
            if item.channel and item.channel.kind not in customer.channels_used:
                customer.channels_used = sorted({*customer.channels_used, item.channel.kind})
                dirty.add("channels_used")
            if dirty:
                changed[id(customer)] = customer
                changed_fields |= dirty
    # New profiles are inserted with their traits already applied.
    bulk_set([c for c in changed.values() if c.pk is not None], sorted(changed_fields))
    insert_objects(newcomers)
    new_ids = insert_rows(
        Customer,
        ["public_id", "is_anonymous", "created_at", "first_seen_at", "last_seen_at"],
        [[p.public_id, p.is_anonymous, now, now, now] for p in new_profiles],
    )
    for profile, customer_id in zip(new_profiles, new_ids, strict=True):
        profile.id = customer_id
    if now_known:
        Customer.objects.filter(id__in=now_known).update(is_anonymous=False)

    new_identities = []
    if len(owner) < len(all_keys):
        for group, _customer_id in fast:
            customer_id = group.items[0].customer.id
            for key, verified in group.keys.items():
                if key not in owner:
                    new_identities.append([customer_id, *key, verified, now])
    # In key order, so concurrent batches creating the same identities queue, not deadlock.
    new_identities.sort(key=lambda row: row[1:4])
    insert_rows(
        Identity,
        ["customer_id", "kind", "value", "partner", "is_verified", "created_at"],
        new_identities,
    )
    if to_verify:
        Identity.objects.filter(pk__in=list(to_verify)).update(is_verified=True)
    return slow


def _store_events(items: list[_Item], results: dict, source, now) -> None:
    events: list[NewEvent] = []
    seen: set[str] = set()
    for item in items:
        if item.index in results:  # refused while resolving
            continue
        result = results[item.index] = ItemResult(item.index, customer=item.customer)
        if not item.is_track:
            continue
        payload = item.payload
        message_id = payload.message_id or new_message_id()
        result.event_id = message_id
        if message_id in seen:
            result.status = "duplicate"
            continue
        seen.add(message_id)
        events.append(
            NewEvent(
                item.customer.id,
                payload.event,
                item.channel.id if item.channel is not None else None,
                item.occurred_at,
                payload.properties,
                message_id,
            )
        )
    # In message id order, so two batches carrying the same ids wait for each other instead
    # of deadlocking on the unique index.
    events.sort(key=lambda event: event.message_id)
    inserted = store_new_events(events, received_at=now, source=source)
    for item in items:
        result = results[item.index]
        if result.status == "ok" and result.event_id and result.event_id not in inserted:
            result.status = "duplicate"
