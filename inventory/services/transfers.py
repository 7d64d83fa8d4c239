"""Transfers between locations, one or many SKUs each: requested, shipped (out at the
source), received in one or several receipts at the destination (units that arrive damaged
are written off there), late when past their expected date. A transfer made for a pickup
reservation carries the reservation with it: the units it receives arrive held."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.selectors import variants_by_sku
from inventory.errors import (
    IllegalTransition,
    InsufficientStock,
    InvalidMovement,
    ReservationNotFound,
    UnknownLocation,
    UnknownSku,
)
from inventory.models import (
    Location,
    MovementReason,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockMovement,
    Transfer,
    TransferLine,
    TransferStatus,
)
from inventory.selectors import active_location
from inventory.services import sync
from inventory.services.holds import hold_units, release_units
from inventory.services.movements import MovementResult, _Pending, apply_movements
from inventory.signals import transfer_late, transfer_received

SOURCE = "transfers"
MAX_LINES = 500
MAX_UNITS = 1_000_000
# Without a date from the sender, units are expected this long after they leave.
DEFAULT_TRANSIT = dt.timedelta(days=3)


@dataclass
class TransferLineInput:
    sku: str = ""
    quantity: int = 0
    variant: object = None


@dataclass
class ReceiptLineInput:
    sku: str = ""
    received: int = 0
    damaged: int = 0


@dataclass
class ReceiptOutcome:
    """What a receipt meant for the pickup reservation the transfer carries, if any:
    "" (none, or still on its way), "held" (every unit it needs arrived), "replanned" (short,
    but the destination's own free units make up the difference) or "released" (short, and
    the hold is given up)."""

    transfer: Transfer
    reservation_outcome: str = ""


def _location(value, field) -> Location:
    found = active_location(value)
    if found is None:
        raise UnknownLocation(
            _("No active location has the code %(code)s.") % {"code": value},
            fields={field: [_("Unknown location.")]},
        )
    return found


def _whole(value, field, *, minimum) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_UNITS:
        raise InvalidMovement(
            _("%(field)s must be a whole number from %(minimum)s to %(maximum)s.")
            % {"field": field, "minimum": minimum, "maximum": MAX_UNITS},
            fields={field: [_("A whole number from %(minimum)s.") % {"minimum": minimum}]},
        )
    return value


def _as_line(item) -> TransferLineInput:
    if isinstance(item, TransferLineInput):
        return item
    return TransferLineInput(sku=item.get("sku") or "", quantity=item.get("quantity"))


def create_transfer(
    *,
    from_location,
    to_location,
    lines,
    reference: str = "",
    expected_at=None,
    reservation=None,
) -> Transfer:
    """Ask for units of one or more SKUs to move; nothing moves until it is shipped. Each
    line's units must be free at the source (on hand - reserved) when asked (shipping checks
    again), unless the transfer carries a pickup `reservation` that already holds them.
    Raises UnknownLocation (`from`, `to`), InvalidMovement (same location twice, no lines, a
    SKU twice, a quantity not a whole number from 1: `lines.N.quantity`), UnknownSku
    (`lines.N.sku`), InsufficientStock (409, naming the line)."""
    source = _location(from_location, "from")
    destination = _location(to_location, "to")
    if source.pk == destination.pk:
        raise InvalidMovement(
            _("A transfer needs two different locations."),
            fields={"to": [_("Choose another location.")]},
        )
    items = [_as_line(item) for item in lines or []]
    if not items or len(items) > MAX_LINES:
        raise InvalidMovement(
            _("A transfer has from 1 to %(max)s lines.") % {"max": MAX_LINES},
            fields={"lines": [_("From 1 to %(max)s lines.") % {"max": MAX_LINES}]},
        )
    skus = [item.sku for item in items if item.variant is None]
    variants = variants_by_sku(skus)
    wanted = []
    seen = set()
    for index, item in enumerate(items):
        variant = item.variant or variants.get(item.sku)
        if variant is None:
            raise UnknownSku(
                _("No variant has the SKU %(sku)s.") % {"sku": item.sku},
                fields={f"lines.{index}.sku": [_("Unknown SKU.")]},
            )
        if variant.pk in seen:
            raise InvalidMovement(
                _("%(sku)s is listed twice; put its units on one line.") % {"sku": variant.sku},
                fields={f"lines.{index}.sku": [_("Listed twice.")]},
            )
        seen.add(variant.pk)
        quantity = _whole(item.quantity, f"lines.{index}.quantity", minimum=1)
        wanted.append((index, variant, quantity))
    if reservation is None:
        free = {
            variant_id: (on_hand, reserved)
            for variant_id, on_hand, reserved in StockLevel.objects.filter(
                location=source, variant_id__in=[v.pk for _i, v, _q in wanted]
            ).values_list("variant_id", "on_hand", "reserved")
        }
        for index, variant, quantity in wanted:
            on_hand, reserved = free.get(variant.pk, (0, 0))
            available = max(on_hand - reserved, 0)
            if available < quantity:
                message = _(
                    "Cannot transfer %(quantity)s units: %(location)s has %(available)s available "
                    "(%(on_hand)s on hand, %(reserved)s reserved)."
                ) % {
                    "quantity": quantity,
                    "location": source.code,
                    "available": available,
                    "on_hand": on_hand,
                    "reserved": reserved,
                }
                raise InsufficientStock(
                    message,
                    fields={f"lines.{index}.quantity": [message]},
                    available=available,
                    sku=variant.sku,
                )
    with transaction.atomic():
        transfer = Transfer.objects.create(
            from_location=source,
            to_location=destination,
            reference=(reference or "")[:120],
            expected_at=expected_at,
            reservation=reservation,
        )
        TransferLine.objects.bulk_create(
            [
                TransferLine(transfer=transfer, variant=variant, quantity=quantity)
                for _i, variant, quantity in wanted
            ]
        )
    return transfer


def request_transfer(*, variant, from_location, to_location, quantity, reference="") -> Transfer:
    """One SKU's transfer (the shape older callers use): create_transfer with one line."""
    return create_transfer(
        from_location=from_location,
        to_location=to_location,
        lines=[TransferLineInput(variant=variant, quantity=quantity)],
        reference=reference,
    )


def ship(transfer_id: int) -> Transfer:
    """Every line's units leave the source: a transfer-out movement each, and the transfer
    is in transit, expected on its date (or DEFAULT_TRANSIT from now). A plain transfer may
    only take units nobody has reserved (InsufficientStock); a pickup transfer takes the
    units its reservation holds there. Shipping twice: IllegalTransition (409)."""
    with transaction.atomic():
        transfer = _locked(
            transfer_id,
            TransferStatus.REQUESTED,
            _("Only a requested transfer can be shipped; this one is %(status)s."),
        )
        lines = list(transfer.lines.select_related("variant").order_by("variant_id"))
        reservation = _active_reservation(transfer)
        reserved_delta = {}
        if reservation is not None:
            for line in lines:
                if line.variant_id == reservation.variant_id:
                    reserved_delta[(line.variant_id, transfer.from_location_id)] = -line.quantity
        # Locked by (location, variant), the order every multi-row stock lock follows.
        levels = {
            level.variant_id: level
            for level in StockLevel.objects.select_for_update()
            .filter(location=transfer.from_location, variant_id__in=[ln.variant_id for ln in lines])
            .order_by("location_id", "variant_id")
        }
        for index, line in enumerate(lines):
            if (line.variant_id, transfer.from_location_id) in reserved_delta:
                continue
            level = levels.get(line.variant_id)
            free = (level.on_hand - level.reserved) if level else 0
            if free < line.quantity:
                raise InsufficientStock(
                    _("%(location)s has only %(free)s free units of %(sku)s to send.")
                    % {
                        "location": transfer.from_location.code,
                        "free": max(free, 0),
                        "sku": line.variant.sku,
                    },
                    fields={f"lines.{index}.quantity": [_("Not enough free units.")]},
                    available=max(free, 0),
                    sku=line.variant.sku,
                )
        now = timezone.now()
        reference = transfer.reference or f"transfer {transfer.pk}"
        apply_movements(
            [
                _Pending(
                    StockMovement(
                        variant_id=line.variant_id,
                        location_id=transfer.from_location_id,
                        quantity=-line.quantity,
                        reason=MovementReason.TRANSFER_OUT,
                        reference=reference,
                        occurred_at=now,
                        recorded_at=now,
                        source=SOURCE,
                        idempotency_key=f"transfer-{transfer.pk}-line-{line.pk}-out",
                    ),
                    MovementResult(index=0, status="refused"),
                )
                for line in lines
            ],
            reserved_delta=reserved_delta,
        )
        TransferLine.objects.filter(transfer=transfer).update(shipped=F("quantity"))
        transfer.status = TransferStatus.IN_TRANSIT
        transfer.shipped_at = now
        if transfer.expected_at is None:
            transfer.expected_at = now + DEFAULT_TRANSIT
        transfer.save(update_fields=["status", "shipped_at", "expected_at"])
    return transfer


def _as_receipt(item) -> ReceiptLineInput:
    if isinstance(item, ReceiptLineInput):
        return item
    return ReceiptLineInput(
        sku=item.get("sku") or "", received=item.get("received", 0), damaged=item.get("damaged", 0)
    )


def receive(transfer_id: int, lines=None) -> Transfer:
    """Record a receipt; see receive_units (this returns only the transfer)."""
    return receive_units(transfer_id, lines).transfer


def receive_units(transfer_id: int, lines=None) -> ReceiptOutcome:
    """Units arrive at the destination. `lines` ([{sku, received, damaged}]) says what came
    in this receipt; None receives everything still on its way in good condition. Good units
    are a transfer-in movement; damaged ones a transfer-in and a damage movement (written
    off, the ledger still shows they arrived). The transfer is received once every shipped
    unit is accounted for; until then it stays in transit (partial receipts).

    A pickup transfer's good units arrive held for its reservation. Once all its units are
    accounted for and fewer than the hold needs arrived, the destination's own free units
    make up the difference ("replanned") or the hold is released ("released"); listeners of
    `transfer_received` (orders) tell the customer or the staff.

    Raises IllegalTransition (409: not in transit), InvalidMovement (400: more than is on
    its way, `lines.N.received`; nothing received), UnknownSku (`lines.N.sku`)."""
    with transaction.atomic():
        transfer = _locked(
            transfer_id,
            TransferStatus.IN_TRANSIT,
            _("Only a transfer in transit can be received; this one is %(status)s."),
        )
        lines_by_sku = {
            line.variant.sku: line
            for line in transfer.lines.select_for_update().select_related("variant").order_by("id")
        }
        if lines is None:
            receipt = {
                sku: (line.outstanding, 0) for sku, line in lines_by_sku.items() if line.outstanding
            }
        else:
            receipt = {}
            for index, item in enumerate(_as_receipt(item) for item in lines):
                line = lines_by_sku.get(item.sku)
                if line is None:
                    raise UnknownSku(
                        _("Transfer %(id)s has no line for %(sku)s.")
                        % {"id": transfer.pk, "sku": item.sku},
                        fields={f"lines.{index}.sku": [_("Not on this transfer.")]},
                    )
                if item.sku in receipt:
                    raise InvalidMovement(
                        _("%(sku)s is listed twice.") % {"sku": item.sku},
                        fields={f"lines.{index}.sku": [_("Listed twice.")]},
                    )
                good = _whole(item.received, f"lines.{index}.received", minimum=0)
                damaged = _whole(item.damaged, f"lines.{index}.damaged", minimum=0)
                if good + damaged > line.outstanding:
                    raise InvalidMovement(
                        _(
                            "%(sku)s: %(count)s units received, but only %(outstanding)s are "
                            "on their way."
                        )
                        % {
                            "sku": item.sku,
                            "count": good + damaged,
                            "outstanding": line.outstanding,
                        },
                        fields={
                            f"lines.{index}.received": [
                                _("At most %(n)s.") % {"n": line.outstanding}
                            ]
                        },
                    )
                if good or damaged:
                    receipt[item.sku] = (good, damaged)
        if not receipt:
            raise InvalidMovement(
                _("The receipt names no unit received."),
                fields={"lines": [_("Receive at least one unit.")]},
            )
        reservation = _active_reservation(transfer)
        transfer.receipts += 1
        now = timezone.now()
        reference = transfer.reference or f"transfer {transfer.pk}"
        destination = transfer.to_location_id
        movements = []
        reserved_delta = {}
        for sku, (good, damaged) in receipt.items():
            line = lines_by_sku[sku]
            key = f"transfer-{transfer.pk}-line-{line.pk}-in-{transfer.receipts}"
            movements.append(
                StockMovement(
                    variant_id=line.variant_id,
                    location_id=destination,
                    quantity=good + damaged,
                    reason=MovementReason.TRANSFER_IN,
                    reference=reference,
                    occurred_at=now,
                    recorded_at=now,
                    source=SOURCE,
                    idempotency_key=key,
                )
            )
            if damaged:
                movements.append(
                    StockMovement(
                        variant_id=line.variant_id,
                        location_id=destination,
                        quantity=-damaged,
                        reason=MovementReason.DAMAGE,
                        reference=reference,
                        note=_("Arrived damaged"),
                        occurred_at=now,
                        recorded_at=now,
                        source=SOURCE,
                        idempotency_key=f"{key}-damaged",
                    )
                )
            if reservation is not None and line.variant_id == reservation.variant_id and good:
                reserved_delta[(line.variant_id, destination)] = good
            line.received += good
            line.damaged += damaged
        apply_movements(
            [_Pending(m, MovementResult(index=0, status="refused")) for m in movements],
            reserved_delta=reserved_delta,
        )
        TransferLine.objects.bulk_update(list(lines_by_sku.values()), ["received", "damaged"])
        complete = all(line.outstanding == 0 for line in lines_by_sku.values())
        fields = ["receipts"]
        if complete:
            transfer.status = TransferStatus.RECEIVED
            transfer.received_at = now
            fields += ["status", "received_at"]
        transfer.save(update_fields=fields)
        outcome = ""
        if reservation is not None:
            if reservation.location_id != destination and reserved_delta:
                reservation.location_id = destination
                reservation.save(update_fields=["location"])
            if complete:
                outcome = _settle_pickup_hold(transfer, reservation, lines_by_sku)
        transfer_received.send(
            sender=Transfer, transfer=transfer, reservation=reservation, outcome=outcome
        )
    return ReceiptOutcome(transfer, outcome)


def _settle_pickup_hold(transfer, reservation, lines_by_sku) -> str:
    """All units of a pickup transfer are in: held, replanned or released (see receive)."""
    arrived = sum(
        line.received for line in lines_by_sku.values() if line.variant_id == reservation.variant_id
    )
    destination = transfer.to_location_id
    if arrived >= reservation.quantity:
        return "held"
    missing = reservation.quantity - arrived
    if hold_units(reservation.variant_id, destination, missing):
        reservation.location_id = destination
        reservation.save(update_fields=["location"])
        sync.note_stock_changed([(reservation.variant_id, destination)])
        return "replanned"
    if arrived:
        release_units(reservation.variant_id, destination, arrived)
    reservation.status = ReservationStatus.RELEASED
    reservation.closed_at = timezone.now()
    reservation.save(update_fields=["status", "closed_at"])
    return "released"


def units_held_by(reservation) -> int:
    """Units a pickup reservation holds right now where it says: all of them, or, while its
    transfer is on its way, only those already received at the pickup store."""
    line = (
        TransferLine.objects.filter(
            transfer__reservation=reservation,
            transfer__status=TransferStatus.IN_TRANSIT,
            variant_id=reservation.variant_id,
        )
        .order_by("-id")
        .first()
    )
    if line is None:
        return reservation.quantity
    return line.received


def cancel(transfer_id: int) -> Transfer:
    """Only a transfer not yet shipped can be cancelled."""
    with transaction.atomic():
        transfer = _locked(
            transfer_id, TransferStatus.REQUESTED, _("Only a requested transfer can be cancelled.")
        )
        transfer.status = TransferStatus.CANCELLED
        transfer.save(update_fields=["status"])
    return transfer


def notice_late_transfers(*, at=None, limit=500) -> int:
    """Transfers still in transit past their expected date, each noticed once: a pickup
    hold they carry is re-planned on the pickup store's own free units when it has them
    (the transfer's units then arrive as free stock); listeners of `transfer_late` (orders)
    tell the staff. Returns how many were noticed."""
    at = at or timezone.now()
    ids = list(
        Transfer.objects.filter(
            status=TransferStatus.IN_TRANSIT, expected_at__lt=at, late_noticed_at__isnull=True
        )
        .order_by("expected_at")
        .values_list("pk", flat=True)[:limit]
    )
    noticed = 0
    for transfer_id in ids:
        with transaction.atomic():
            transfer = (
                Transfer.objects.select_for_update(skip_locked=True)
                .filter(pk=transfer_id, status=TransferStatus.IN_TRANSIT, late_noticed_at=None)
                .select_related("to_location", "from_location")
                .first()
            )
            if transfer is None:
                continue
            outcome = ""
            reservation = _active_reservation(transfer)
            if reservation is not None:
                held = units_held_by(reservation)
                destination = transfer.to_location_id
                if hold_units(reservation.variant_id, destination, reservation.quantity - held):
                    # The store's own units (with those already received) now serve the
                    # pickup; what is still on its way arrives as free stock.
                    reservation.location_id = destination
                    reservation.save(update_fields=["location"])
                    transfer.reservation = None
                    sync.note_stock_changed([(reservation.variant_id, destination)])
                    outcome = "replanned"
                else:
                    outcome = "waiting"
            transfer.late_noticed_at = at
            transfer.save(update_fields=["late_noticed_at", "reservation"])
            transfer_late.send(
                sender=Transfer, transfer=transfer, reservation=reservation, outcome=outcome
            )
            noticed += 1
    return noticed


def _locked(transfer_id, status, refusal) -> Transfer:
    """The transfer, locked, when it is in `status`; else IllegalTransition (409) saying
    `refusal` (which may name the transfer's %(status)s)."""
    transfer = (
        Transfer.objects.select_for_update(of=("self",))
        .select_related("from_location", "to_location")
        .filter(pk=transfer_id)
        .first()
    )
    if transfer is None:
        raise ReservationNotFound(_("No transfer %(id)s.") % {"id": transfer_id})
    if transfer.status != status:
        raise IllegalTransition(
            refusal % {"status": transfer.get_status_display()}, status=transfer.status
        )
    return transfer


def _active_reservation(transfer):
    if not transfer.reservation_id:
        return None
    return (
        Reservation.objects.select_for_update()
        .filter(pk=transfer.reservation_id, status=ReservationStatus.ACTIVE)
        .first()
    )
