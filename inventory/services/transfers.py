"""Transfers between locations: requested, shipped (out at the source), received (in at the
destination). A transfer made for a pickup reservation carries the reservation with it."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from inventory.errors import IllegalTransition, InsufficientStock, InvalidMovement
from inventory.models import (
    MovementReason,
    Reservation,
    ReservationStatus,
    StockLevel,
    Transfer,
    TransferStatus,
)

SOURCE = "transfers"


def request_transfer(*, variant, from_location, to_location, quantity, reference="") -> Transfer:
    """Ask for `quantity` units to move; nothing moves until it is shipped. The source must
    hold that many units nobody has reserved (on hand - reserved) when it is asked, or
    InsufficientStock names the quantity and what is available; shipping checks again,
    since stock can be sold or reserved in between. Raises InvalidMovement for the same
    location twice or a quantity that is not a positive whole number."""
    if from_location.pk == to_location.pk:
        raise InvalidMovement(
            _("A transfer needs two different locations."),
            fields={"to_location": [_("Choose another location.")]},
        )
    if not isinstance(quantity, int) or quantity <= 0:
        raise InvalidMovement(
            _("quantity must be a positive whole number."), fields={"quantity": [_("1 or more.")]}
        )
    on_hand, reserved = (
        StockLevel.objects.filter(variant=variant, location=from_location)
        .values_list("on_hand", "reserved")
        .first()
    ) or (0, 0)
    available = max(on_hand - reserved, 0)
    if available < quantity:
        message = _(
            "Cannot transfer %(quantity)s units: %(location)s has %(available)s available "
            "(%(on_hand)s on hand, %(reserved)s reserved)."
        ) % {
            "quantity": quantity,
            "location": from_location.code,
            "available": available,
            "on_hand": on_hand,
            "reserved": reserved,
        }
        raise InsufficientStock(message, fields={"quantity": [message]}, available=available)
    return Transfer.objects.create(
        variant=variant,
        from_location=from_location,
        to_location=to_location,
        quantity=quantity,
        reference=reference,
    )


def ship(transfer_id: int) -> Transfer:
    """Units leave the source: a transfer-out movement. A plain transfer may only take
    units nobody has reserved (InsufficientStock); a pickup transfer takes the units its
    reservation holds there."""
    from inventory.services.movements import record_movement

    with transaction.atomic():
        transfer = _locked(transfer_id)
        if transfer.status != TransferStatus.REQUESTED:
            raise IllegalTransition(
                _("Only a requested transfer can be shipped; this one is %(status)s.")
                % {"status": transfer.get_status_display()},
                status=transfer.status,
            )
        reservation = _active_reservation(transfer)
        reserved_delta = 0
        if reservation is not None:
            reserved_delta = -transfer.quantity
        else:
            level = (
                StockLevel.objects.select_for_update()
                .filter(variant=transfer.variant, location=transfer.from_location)
                .first()
            )
            free = (level.on_hand - level.reserved) if level else 0
            if free < transfer.quantity:
                raise InsufficientStock(
                    _("%(location)s has only %(free)s free units to send.")
                    % {"location": transfer.from_location.code, "free": max(free, 0)},
                    available=max(free, 0),
                )
        record_movement(
            variant_id=transfer.variant_id,
            location_id=transfer.from_location_id,
            quantity=-transfer.quantity,
            reason=MovementReason.TRANSFER_OUT,
            reference=transfer.reference or f"transfer {transfer.pk}",
            source=SOURCE,
            idempotency_key=f"transfer-{transfer.pk}-out",
            reserved_delta=reserved_delta,
        )
        transfer.status = TransferStatus.IN_TRANSIT
        transfer.shipped_at = timezone.now()
        transfer.save(update_fields=["status", "shipped_at"])
    return transfer


def receive(transfer_id: int) -> Transfer:
    """Units arrive: a transfer-in movement at the destination. If the transfer serves an
    active pickup reservation, the units arrive reserved and the reservation moves with
    them."""
    from inventory.services.movements import record_movement

    with transaction.atomic():
        transfer = _locked(transfer_id)
        if transfer.status != TransferStatus.IN_TRANSIT:
            raise IllegalTransition(
                _("Only a transfer in transit can be received; this one is %(status)s.")
                % {"status": transfer.get_status_display()},
                status=transfer.status,
            )
        reservation = _active_reservation(transfer)
        record_movement(
            variant_id=transfer.variant_id,
            location_id=transfer.to_location_id,
            quantity=transfer.quantity,
            reason=MovementReason.TRANSFER_IN,
            reference=transfer.reference or f"transfer {transfer.pk}",
            source=SOURCE,
            idempotency_key=f"transfer-{transfer.pk}-in",
            reserved_delta=transfer.quantity if reservation else 0,
        )
        if reservation is not None:
            reservation.location_id = transfer.to_location_id
            reservation.save(update_fields=["location"])
        transfer.status = TransferStatus.RECEIVED
        transfer.received_at = timezone.now()
        transfer.save(update_fields=["status", "received_at"])
    return transfer


def cancel(transfer_id: int) -> Transfer:
    """Only a transfer not yet shipped can be cancelled."""
    with transaction.atomic():
        transfer = _locked(transfer_id)
        if transfer.status != TransferStatus.REQUESTED:
            raise IllegalTransition(
                _("Only a requested transfer can be cancelled."), status=transfer.status
            )
        transfer.status = TransferStatus.CANCELLED
        transfer.save(update_fields=["status"])
    return transfer


def _locked(transfer_id) -> Transfer:
    transfer = (
        Transfer.objects.select_for_update()
        .select_related("variant", "from_location", "to_location")
        .filter(pk=transfer_id)
        .first()
    )
    if transfer is None:
        from inventory.errors import ReservationNotFound

        raise ReservationNotFound(_("No transfer %(id)s.") % {"id": transfer_id})
    return transfer


def _active_reservation(transfer):
    if not transfer.reservation_id:
        return None
    return (
        Reservation.objects.select_for_update()
        .filter(pk=transfer.reservation_id, status=ReservationStatus.ACTIVE)
        .first()
    )
