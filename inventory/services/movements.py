"""Writing the stock ledger: movements (and counts) applied to the levels in the same
transaction, replayable by idempotency key, correct when they arrive late or out of order.

The rule that makes late arrivals right: a count is the absolute figure at its own moment
T. Its movement records the difference to the ledger's sum up to T. A movement that
arrives later but happened at or before a recorded count was already seen by that count, so
it is recorded together with a correcting count movement at the count's moment (it "is
absorbed" by the count); the level ends up as the count's figure plus what happened after.
The level is always exactly the sum of the ledger.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.selectors import variant_ids_by_sku
from core.models import Channel
from inventory.models import Location, MovementReason, StockLevel, StockMovement
from inventory.services import sync
from inventory.signals import stock_replenished

# Reasons whose quantity has a fixed sign; adjustments go either way, counts are absolute.
POSITIVE = {MovementReason.RECEIPT, MovementReason.RETURN, MovementReason.TRANSFER_IN}
NEGATIVE = {MovementReason.SALE, MovementReason.TRANSFER_OUT, MovementReason.DAMAGE}
FUTURE_TOLERANCE = dt.timedelta(minutes=5)


@dataclass
class MovementInput:
    """One movement as a partner sends it (SKU and location code, not ids)."""

    sku: str
    location: str
    reason: str
    idempotency_key: str
    occurred_at: dt.datetime
    quantity: int | None = None
    counted_quantity: int | None = None
    channel: str | None = None
    reference: str = ""
    note: str = ""
    source: str | None = None


@dataclass
class MovementResult:
    index: int
    status: str  # applied | duplicate | refused
    movement_id: int | None = None
    code: str = ""
    message: str = ""
    field: str = ""
    quantity: int | None = None
    on_hand: int | None = None

    def as_dict(self):
        data = {"index": self.index, "status": self.status}
        if self.movement_id is not None:
            data["movement_id"] = self.movement_id
        if self.quantity is not None:
            data["quantity"] = self.quantity
        if self.code:
            data["error"] = {"code": self.code, "message": self.message, "field": self.field}
        return data


@dataclass
class _Pending:
    """A movement about to be written, with where its result goes."""

    movement: StockMovement
    result: MovementResult | None = None
    corrections: list = field(default_factory=list)


def record_movements(items: list[MovementInput], *, default_source: str = "") -> list:
    """Apply a batch from a store or warehouse system. Each item is applied, refused (unknown
    SKU, location or channel, or a rule broken; named in its result) or recognised as a
    replay of an item already recorded from the same source (nothing changes). The applied
    items and their levels are written in one transaction. Returns one MovementResult per
    item, in order."""
    results = [MovementResult(index=i, status="refused") for i in range(len(items))]
    skus = {item.sku for item in items}
    codes = {item.location for item in items}
    channel_codes = {item.channel for item in items if item.channel}
    variants = variant_ids_by_sku(skus)
    locations = dict(Location.objects.filter(code__in=codes).values_list("code", "id"))
    channels = dict(Channel.objects.filter(code__in=channel_codes).values_list("code", "id"))
    now = timezone.now()

    movements = []
    for index, item in enumerate(items):
        result = results[index]
        problem = _refusal(item, variants, locations, channels, now)
        if problem:
            result.code, result.field, result.message = problem
            continue
        movement = StockMovement(
            variant_id=variants[item.sku],
            location_id=locations[item.location],
            reason=item.reason,
            quantity=item.quantity if item.reason != MovementReason.COUNT else 0,
            counted_quantity=item.counted_quantity,
            channel_id=channels.get(item.channel) if item.channel else None,
            reference=item.reference,
            note=item.note,
            occurred_at=item.occurred_at,
            recorded_at=now,
            source=item.source or default_source or item.location,
            idempotency_key=item.idempotency_key,
        )
        movements.append(_Pending(movement, result))
    if movements:
        for attempt in range(2):
            try:
                apply_movements(movements)
                break
            except IntegrityError:
                # Another request recorded one of these keys between our check and insert
                # (keys unique across different stock rows); the second pass sees it.
                if attempt:
                    raise
    return results


def _refusal(item, variants, locations, channels, now):
    if item.sku not in variants:
        return "unknown_sku", "sku", _("No variant has the SKU %(sku)s.") % {"sku": item.sku}
    if item.location not in locations:
        return (
            "unknown_location",
            "location",
            _("No location has the code %(code)s.") % {"code": item.location},
        )
    if item.channel and item.channel not in channels:
        return (
            "unknown_channel",
            "channel",
            _("No channel has the code %(code)s.") % {"code": item.channel},
        )
    if item.reason not in MovementReason.values:
        return "invalid", "reason", _("Unknown reason %(reason)s.") % {"reason": item.reason}
    if not item.idempotency_key:
        return "invalid", "idempotency_key", _("Every movement needs an idempotency key.")
    if timezone.is_naive(item.occurred_at):
        return "invalid", "occurred_at", _("occurred_at needs a time zone offset.")
    if item.occurred_at > now + FUTURE_TOLERANCE:
        return "invalid", "occurred_at", _("occurred_at is in the future.")
    if item.reason == MovementReason.COUNT:
        if item.counted_quantity is None or item.counted_quantity < 0:
            return (
                "invalid",
                "counted_quantity",
                _("A count needs counted_quantity, zero or more."),
            )
        if item.quantity is not None:
            return "invalid", "quantity", _("A count sends counted_quantity, not quantity.")
        return None
    if item.counted_quantity is not None:
        return "invalid", "counted_quantity", _("Only a count has a counted_quantity.")
    if not item.quantity:
        return "invalid", "quantity", _("quantity must be a non-zero whole number.")
    if item.reason in POSITIVE and item.quantity < 0:
        return "invalid", "quantity", _("This reason adds stock; its quantity is positive.")
    if item.reason in NEGATIVE and item.quantity > 0:
        return "invalid", "quantity", _("This reason removes stock; its quantity is negative.")
    return None


def record_movement(
    *,
    variant_id,
    location_id,
    quantity,
    reason,
    source,
    idempotency_key,
    occurred_at=None,
    channel_id=None,
    reference="",
    note="",
    reserved_delta=0,
    counted_quantity=None,
) -> StockMovement:
    """One movement written by another service (a sale on confirming a reservation, a
    transfer). `reserved_delta` changes the reserved units in the same UPDATE."""
    movement = StockMovement(
        variant_id=variant_id,
        location_id=location_id,
        quantity=quantity,
        counted_quantity=counted_quantity,
        reason=reason,
        channel_id=channel_id,
        reference=reference,
        note=note,
        occurred_at=occurred_at or timezone.now(),
        recorded_at=timezone.now(),
        source=source,
        idempotency_key=idempotency_key,
    )
    pending = _Pending(movement, MovementResult(index=0, status="refused"))
    apply_movements([pending], reserved_delta={(variant_id, location_id): reserved_delta})
    return pending.movement


def apply_movements(pending: list[_Pending], *, reserved_delta=None) -> None:
    """Write movements and their levels atomically. Locks the stock rows concerned (in id
    order, so concurrent batches never deadlock), skips replays, turns counts into their
    difference to the ledger at their moment, and absorbs late movements into the counts
    that already saw them."""
    reserved_delta = reserved_delta or {}
    with transaction.atomic():
        # Replays are recognised before any lock is taken, so replaying a batch is cheap.
        fresh = _skip_replays(pending)
        if not fresh:
            return
        pairs = sorted({(p.movement.variant_id, p.movement.location_id) for p in fresh})
        variant_ids = {v for v, _loc in pairs}
        location_ids = {loc for _v, loc in pairs}
        StockLevel.objects.bulk_create(
            [StockLevel(variant_id=v, location_id=loc) for v, loc in pairs],
            ignore_conflicts=True,
        )
        levels = _lock_levels(pairs)
        # A concurrent request with the same keys touched the same rows and held their
        # locks; now that we hold them, what it wrote is visible: check again.
        fresh = _skip_replays(fresh)
        if not fresh:
            return

        earliest = min(p.movement.occurred_at for p in fresh)
        counts_at = defaultdict(list)  # pair -> moments of recorded counts (not corrections)
        for variant_id, location_id, moment in (
            StockMovement.objects.filter(
                reason=MovementReason.COUNT,
                counted_quantity__isnull=False,
                variant_id__in=variant_ids,
                location_id__in=location_ids,
                occurred_at__gte=earliest,
            )
            .values_list("variant_id", "location_id", "occurred_at")
            .order_by()
        ):
            counts_at[(variant_id, location_id)].append(moment)

        written = defaultdict(list)  # pair -> [(occurred_at, quantity)] written in this batch
        on_hand_delta = defaultdict(int)
        to_insert = []
        for p in fresh:
            m = p.movement
            pair = (m.variant_id, m.location_id)
            is_count = m.reason == MovementReason.COUNT and m.counted_quantity is not None
            if is_count:
                before = _ledger_sum_until(pair, m.occurred_at) + sum(
                    q for moment, q in written[pair] if moment <= m.occurred_at
                )
                m.quantity = m.counted_quantity - before
            to_insert.append(m)
            written[pair].append((m.occurred_at, m.quantity))
            on_hand_delta[pair] += m.quantity
            later = [t for t in counts_at[pair] if t >= m.occurred_at]
            if m.quantity and later:
                absorbing = min(later)
                correction = StockMovement(
                    variant_id=m.variant_id,
                    location_id=m.location_id,
                    quantity=-m.quantity,
                    reason=MovementReason.COUNT,
                    channel_id=m.channel_id,
                    reference=m.reference,
                    note=_("Already seen by the count of %(moment)s")
                    % {"moment": absorbing.isoformat()},
                    occurred_at=absorbing,
                    recorded_at=m.recorded_at,
                    source=m.source,
                    idempotency_key=f"{m.idempotency_key}:seen-by-count"[:160],
                )
                to_insert.append(correction)
                written[pair].append((absorbing, correction.quantity))
                on_hand_delta[pair] += correction.quantity
            if is_count:
                counts_at[pair].append(m.occurred_at)

        StockMovement.objects.bulk_create(to_insert)
        changes = {
            levels[pair]: (on_hand_delta.get(pair, 0), reserved_delta.get(pair, 0))
            for pair in set(on_hand_delta) | set(reserved_delta)
            if on_hand_delta.get(pair, 0) or reserved_delta.get(pair, 0)
        }
        _apply_deltas(changes)
        _tell_replenished(levels, on_hand_delta, reserved_delta)
        for p in fresh:
            if p.result:
                p.result.status = "applied"
                p.result.movement_id = p.movement.pk
                p.result.quantity = p.movement.quantity
        sync.note_stock_changed(pairs)


def _tell_replenished(levels, on_hand_delta, reserved_delta) -> None:
    """Send stock_replenished for the pairs whose available units (on hand - reserved) went
    from none to some in this batch. Read only when units arrived and someone listens: one
    query over the rows this transaction already locked."""
    if not stock_replenished.has_listeners():
        return
    grown = {pair: delta for pair, delta in on_hand_delta.items() if delta > 0}
    if not grown:
        return
    replenished = []
    for variant_id, location_id, on_hand, reserved in StockLevel.objects.filter(
        pk__in=[levels[pair] for pair in grown]
    ).values_list("variant_id", "location_id", "on_hand", "reserved"):
        pair = (variant_id, location_id)
        after = on_hand - reserved
        before = after - grown[pair] + reserved_delta.get(pair, 0)
        if before <= 0 < after:
            replenished.append(pair)
    if replenished:
        stock_replenished.send(sender=StockLevel, pairs=sorted(replenished))


def _skip_replays(pending: list[_Pending]) -> list[_Pending]:
    """Drop (and mark "duplicate") movements whose (source, key) is already recorded or
    repeated earlier in the same batch."""
    sources = {p.movement.source for p in pending}
    keys = {p.movement.idempotency_key for p in pending}
    seen = set(
        StockMovement.objects.filter(source__in=sources, idempotency_key__in=keys)
        .values_list("source", "idempotency_key")
        .order_by()
    )
    fresh = []
    for p in pending:
        key = (p.movement.source, p.movement.idempotency_key)
        if key in seen:
            if p.result:
                p.result.status = "duplicate"
            continue
        seen.add(key)
        fresh.append(p)
    return fresh


def _lock_levels(pairs) -> dict[tuple[int, int], int]:
    """{(variant_id, location_id): level id} for exactly these pairs, locked in id order (so
    concurrent batches never deadlock). SQLite locks the whole database for a write
    transaction instead (IMMEDIATE mode), so it needs no row locks."""
    rows = ", ".join(["(%s, %s)"] * len(pairs))
    # Only placeholders are interpolated; the values travel as parameters.
    sql = (
        "SELECT id, variant_id, location_id FROM inventory_stocklevel "  # noqa: S608
        f"WHERE (variant_id, location_id) IN (VALUES {rows}) ORDER BY id"
    )
    if connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for pair in pairs for value in pair])
        return {(variant_id, location_id): pk for pk, variant_id, location_id in cursor.fetchall()}


def _apply_deltas(changes: dict[int, tuple[int, int]]) -> None:
    """Add (on_hand, reserved) deltas to levels by id: one statement on PostgreSQL, one
    UPDATE per row elsewhere."""
    if not changes:
        return
    now = timezone.now()
    if connection.vendor == "postgresql":
        rows = ", ".join(["(%s::bigint, %s::integer, %s::integer)"] * len(changes))
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH change(id, on_hand, reserved) AS (VALUES {rows}) "  # noqa: S608
                "UPDATE inventory_stocklevel AS level "
                "SET on_hand = level.on_hand + change.on_hand, "
                "reserved = level.reserved + change.reserved, updated_at = %s "
                "FROM change WHERE level.id = change.id",
                [value for pk, deltas in changes.items() for value in (pk, *deltas)] + [now],
            )
        return
    for pk, (on_hand, reserved) in changes.items():
        StockLevel.objects.filter(pk=pk).update(
            on_hand=F("on_hand") + on_hand, reserved=F("reserved") + reserved, updated_at=now
        )


def _ledger_sum_until(pair, moment) -> int:
    variant_id, location_id = pair
    total = StockMovement.objects.filter(
        variant_id=variant_id, location_id=location_id, occurred_at__lte=moment
    ).aggregate(total=Sum("quantity"))["total"]
    return total or 0


def ledger_drift(*, location_ids=None, variant_ids=None):
    """[(variant_id, location_id, level_on_hand, ledger_sum)] where the level differs from
    the ledger (rows missing on either side count as 0)."""
    movements = StockMovement.objects.all()
    levels = StockLevel.objects.all()
    if location_ids is not None:
        movements = movements.filter(location_id__in=location_ids)
        levels = levels.filter(location_id__in=location_ids)
    if variant_ids is not None:
        movements = movements.filter(variant_id__in=variant_ids)
        levels = levels.filter(variant_id__in=variant_ids)
    ledger = {
        (v, loc): total
        for v, loc, total in movements.values("variant_id", "location_id")
        .annotate(total=Sum("quantity"))
        .values_list("variant_id", "location_id", "total")
        .order_by()
    }
    stored = {
        (v, loc): on_hand
        for v, loc, on_hand in levels.values_list("variant_id", "location_id", "on_hand")
    }
    drift = []
    for pair in sorted(set(ledger) | set(stored)):
        expected, actual = ledger.get(pair, 0) or 0, stored.get(pair, 0)
        if expected != actual:
            drift.append((pair[0], pair[1], actual, expected))
    return drift


def rebuild_levels(*, fix=False, location_ids=None) -> list:
    """Compare every level with its ledger sum; with `fix`, set the level to the ledger's
    figure (locking the rows). Returns the drift found."""
    with transaction.atomic():
        if fix:
            list(StockLevel.objects.select_for_update().order_by("pk").values_list("pk"))
        drift = ledger_drift(location_ids=location_ids)
        if fix and drift:
            StockLevel.objects.bulk_create(
                [StockLevel(variant_id=v, location_id=loc) for v, loc, _a, _e in drift],
                ignore_conflicts=True,
            )
            for variant_id, location_id, _actual, expected in drift:
                StockLevel.objects.filter(variant_id=variant_id, location_id=location_id).update(
                    on_hand=expected, updated_at=timezone.now()
                )
            sync.note_stock_changed([(v, loc) for v, loc, _a, _e in drift])
    return drift
