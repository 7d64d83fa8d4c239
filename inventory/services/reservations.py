"""Reservations: hold units for an order or a pickup without ever overselling, then release,
confirm (a sale in the ledger) or let them expire.

Holding is one guarded UPDATE (`reserved = reserved + n WHERE on_hand - reserved -
safety_stock >= n`): the database re-checks the condition after any concurrent writer
commits, so under any number of concurrent requests for the last units exactly the
available number succeed.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.selectors import channel_for
from inventory.errors import (
    IllegalTransition,
    InsufficientStock,
    InvalidMovement,
    ReservationNotFound,
    UnknownChannel,
    UnknownLocation,
    UnknownSku,
)
from inventory.models import (
    Location,
    LocationKind,
    MovementReason,
    Reservation,
    ReservationStatus,
    Transfer,
    TransferStatus,
)
from inventory.selectors import (
    allocation_order,
    order_locations,
    reservation_subjects,
    rule_for,
    split_plan,
)
from inventory.services import sync
from inventory.services.holds import hold_units, release_units
from inventory.services.movements import record_movement
from inventory.services.transfers import TransferLineInput, create_transfer, units_held_by

DEFAULT_HOLD = dt.timedelta(minutes=30)
MAX_HOLD = dt.timedelta(days=30)
SOURCE = "reservations"
SPLIT_ATTEMPTS = 5


def reserve(
    *,
    sku: str | None = None,
    variant=None,
    quantity: int,
    location: str | Location | None = None,
    channel=None,
    pickup_location: str | Location | None = None,
    lat=None,
    lng=None,
    expires_in: dt.timedelta | int | None = None,
    reference: str = "",
) -> Reservation:
    """Hold `quantity` units of a variant, at `location` when given, else at the location
    the channel's rule chooses (priority, nearest to lat/lng, or most stock). For a pickup
    at a store: the store's own stock, or, when the channel's rule allows, another
    location's stock with a transfer to the store. Raises UnknownSku, UnknownLocation,
    UnknownChannel, InvalidMovement (quantity, expiry) or InsufficientStock (409)."""
    # The variant, channel and locations, and the channels to push the new figure to, in
    # one statement before the transaction: at READ COMMITTED it reads what it would read
    # inside it (each statement sees what is committed when it starts).
    found = reservation_subjects(
        sku=sku, variant=variant, channel=channel, location=location, pickup=pickup_location
    )
    variant = found.variant
    if variant is None:
        raise _unknown_sku(sku)
    # A code that names no channel: channel_for raises UnknownChannel, worded as every door
    # that takes a channel code words it.
    channel = found.channel if found.channel is not None else _channel(channel)
    if not isinstance(quantity, int) or quantity <= 0:
        raise InvalidMovement(
            _("quantity must be a positive whole number."),
            fields={"quantity": [_("Must be 1 or more.")]},
        )
    hold = _hold_for(expires_in)
    location = _found_location(location, found.location, "location")
    pickup = _found_location(pickup_location, found.pickup, "pickup_location")
    if location is None and channel is None and pickup is None:
        raise InvalidMovement(
            _("Name a location, a pickup location or a channel."),
            fields={"location": [_("Name a location or a channel.")]},
        )
    if pickup is not None and not (pickup.allows_pickup and pickup.is_active):
        raise InvalidMovement(
            _("%(code)s does not take pickups.") % {"code": pickup.code},
            fields={"pickup_location": [_("This location does not take pickups.")]},
        )

    with transaction.atomic():
        held_at = transfer_from = None
        # Everything that can be read or written before the stock row is locked is done
        # first: the guarded UPDATE holds that row's lock until commit, and every other
        # request for this SKU at this location waits for it.
        if location is not None or pickup is not None:
            candidates = [location if location is not None else pickup]
            sync_channels = {candidates[0].pk: set(found.sync_channel_ids)}
        else:
            candidates = [
                loc
                for loc, units in allocation_order(variant, channel, lat=lat, lng=lng)
                if units >= quantity
            ]
            sync_channels = sync.sync_channels_for([c.pk for c in candidates])

        def new_reservation(at):
            return Reservation.objects.create(
                variant=variant,
                location=at,
                pickup_location=pickup,
                quantity=quantity,
                channel=channel,
                reference=reference,
                expires_at=timezone.now() + hold,
            )

        reservation = new_reservation(candidates[0]) if candidates else None
        for candidate in candidates:
            if hold_units(variant.pk, candidate.pk, quantity):
                held_at = candidate
                break
        if held_at is None and pickup is not None and location is None and channel is not None:
            held_at = transfer_from = _hold_for_pickup(variant, quantity, channel, pickup, lat, lng)
            if held_at is not None:
                sync_channels = sync.sync_channels_for([held_at.pk])
        if held_at is None:
            # Raising rolls back the reservation row written above.
            raise _not_enough(variant, quantity)
        if reservation is None:
            reservation = new_reservation(held_at)
        elif reservation.location_id != held_at.pk:
            reservation.location = held_at
            reservation.save(update_fields=["location"])
        if transfer_from is not None:
            create_transfer(
                from_location=transfer_from,
                to_location=pickup,
                lines=[TransferLineInput(variant=variant, quantity=quantity)],
                reservation=reservation,
                reference=reference or f"reservation {reservation.pk}",
            )
        sync.mark_pending([(variant.pk, held_at.pk)], sync_channels)
    return reservation


def _hold_for_pickup(variant, quantity, channel, pickup, lat, lng):
    """When the channel allows it, hold the units at another location that will send them
    to the pickup store: the store's own warehouse first (a store draws on it), then the
    channel's order. Returns the location holding them, or None."""
    rule = rule_for(channel)
    if not rule.pickup_may_transfer:
        return None
    others = [
        loc
        for loc in Location.objects.serving(channel).exclude(pk=pickup.pk)
        if loc.kind != LocationKind.STORE or loc.ships_from_store
    ]
    ordered = order_locations(
        variant,
        others,
        rule.strategy,
        lat=pickup.latitude if lat is None else lat,
        lng=pickup.longitude if lng is None else lng,
    )
    ordered.sort(key=lambda row: row[0].pk != pickup.supplied_by_id)
    for candidate, units in ordered:
        if units >= quantity and hold_units(variant.pk, candidate.pk, quantity):
            return candidate
    return None


def release(reservation_id: int, *, status=ReservationStatus.RELEASED) -> Reservation:
    """Give the units back. Releasing a released reservation changes nothing; a confirmed
    or expired one cannot be released (IllegalTransition)."""
    with transaction.atomic():
        reservation = _locked(reservation_id)
        if reservation.status == status:
            return reservation
        if reservation.status != ReservationStatus.ACTIVE:
            raise IllegalTransition(
                _("The reservation is %(status)s; it cannot be %(new)s.")
                % {"status": reservation.status, "new": status},
                status=reservation.status,
            )
        # While its transfer is on its way, a pickup hold holds only the units already
        # received at the store; the rest arrive there as free stock.
        held = units_held_by(reservation)
        if held:
            release_units(reservation.variant_id, reservation.location_id, held)
        Transfer.objects.filter(reservation=reservation, status=TransferStatus.REQUESTED).update(
            status=TransferStatus.CANCELLED
        )
        reservation.status = status
        reservation.closed_at = timezone.now()
        reservation.save(update_fields=["status", "closed_at"])
    return reservation


def confirm(reservation_id: int) -> Reservation:
    """The held units are sold: a sale movement at the holding location, reserved and on
    hand both reduced in one update. Confirming twice changes nothing; a released or
    expired reservation, or one whose units are still in transit, cannot be confirmed."""
    with transaction.atomic():
        reservation = _locked(reservation_id)
        if reservation.status == ReservationStatus.CONFIRMED:
            return reservation
        if reservation.status != ReservationStatus.ACTIVE:
            raise IllegalTransition(
                _("The reservation is %(status)s; it cannot be confirmed.")
                % {"status": reservation.status},
                status=reservation.status,
            )
        if (
            _in_transit(reservation)
            or Transfer.objects.filter(
                reservation=reservation, status=TransferStatus.REQUESTED
            ).exists()
        ):
            raise IllegalTransition(
                _("The units are still on their way to the pickup store."),
                status="in_transit",
            )
        record_movement(
            variant_id=reservation.variant_id,
            location_id=reservation.location_id,
            quantity=-reservation.quantity,
            reason=MovementReason.SALE,
            channel_id=reservation.channel_id,
            reference=reservation.reference or f"reservation {reservation.pk}",
            source=SOURCE,
            idempotency_key=f"reservation-{reservation.pk}-confirmed",
            reserved_delta=-reservation.quantity,
        )
        reservation.status = ReservationStatus.CONFIRMED
        reservation.closed_at = timezone.now()
        reservation.save(update_fields=["status", "closed_at"])
    return reservation


def expire_due(*, at=None, limit=500) -> int:
    """Release every active reservation past its expiry; returns how many. Rows are taken
    with SKIP LOCKED so a confirm in progress is never raced."""
    at = at or timezone.now()
    expired = 0
    ids = list(
        Reservation.objects.filter(status=ReservationStatus.ACTIVE, expires_at__lte=at)
        .order_by("expires_at")
        .values_list("pk", flat=True)[:limit]
    )
    for reservation_id in ids:
        try:
            with transaction.atomic():
                reservation = (
                    Reservation.objects.select_for_update(skip_locked=True)
                    .filter(pk=reservation_id, status=ReservationStatus.ACTIVE, expires_at__lte=at)
                    .first()
                )
                if reservation is None:
                    continue
                release(reservation.pk, status=ReservationStatus.EXPIRED)
                expired += 1
        except IllegalTransition:
            continue
    return expired


def _locked(reservation_id) -> Reservation:
    reservation = Reservation.objects.select_for_update().filter(pk=reservation_id).first()
    if reservation is None:
        raise ReservationNotFound(
            _("No reservation %(id)s.") % {"id": reservation_id}, reservation=reservation_id
        )
    return reservation


def _in_transit(reservation) -> bool:
    return Transfer.objects.filter(
        reservation=reservation, status=TransferStatus.IN_TRANSIT
    ).exists()


def _unknown_sku(sku) -> UnknownSku:
    return UnknownSku(
        _("No variant has the SKU %(sku)s.") % {"sku": sku},
        fields={"sku": [_("Unknown SKU.")]},
    )


def _channel(channel):
    return channel_for(channel, error=UnknownChannel)


def _found_location(location, found, field_name):
    """The location `found` for what the caller passed as `location` (None when it passed
    None); UnknownLocation when it named none that is active."""
    if location is None:
        return None
    if found is None:
        raise UnknownLocation(
            _("No active location has the code %(code)s.") % {"code": location},
            fields={field_name: [_("Unknown location.")]},
        )
    return found


def _hold_for(expires_in) -> dt.timedelta:
    if expires_in is None:
        return DEFAULT_HOLD
    if isinstance(expires_in, int):
        expires_in = dt.timedelta(seconds=expires_in)
    if expires_in <= dt.timedelta(0) or expires_in > MAX_HOLD:
        raise InvalidMovement(
            _("expires_in must be between 1 second and 30 days."),
            fields={"expires_in": [_("Between 1 second and 30 days.")]},
        )
    return expires_in


def reserve_split(
    *,
    variant,
    quantity: int,
    channel,
    lat=None,
    lng=None,
    expires_in: dt.timedelta | int | None = None,
    reference: str = "",
) -> list[Reservation]:
    """Hold `quantity` units for `channel` across several locations when its stock rule
    allows splitting a line and no single location holds them all: one reservation a
    location (see selectors.split_plan: fewest locations, then the rule's order). The parts
    are held in one stable order (by location id, as every multi-row stock lock is) inside
    the caller's transaction; if any part can no longer be held (another order took the
    units in between), InsufficientStock is raised and nothing is held. Raises
    InvalidMovement when the rule does not allow splitting."""
    channel = _channel(channel)
    if not rule_for(channel).may_split_lines:
        raise InvalidMovement(
            _("The channel's stock rule does not allow splitting a line."),
            fields={"quantity": [_("Not allowed on this channel.")]},
        )
    for attempt in range(SPLIT_ATTEMPTS):
        plan = split_plan(variant, channel, quantity, lat=lat, lng=lng)
        if not plan:
            break
        held = {}
        try:
            # A savepoint: a part that can no longer be held undoes the parts held before.
            with transaction.atomic():
                for location, units in sorted(plan, key=lambda row: row[0].pk):
                    held[location.pk] = reserve(
                        variant=variant,
                        quantity=units,
                        location=location,
                        channel=channel,
                        expires_in=expires_in,
                        reference=reference,
                    )
        except InsufficientStock:
            # Another order took units between the plan and the hold; the hold waited for
            # it to commit, so planning again sees what is left.
            if attempt == SPLIT_ATTEMPTS - 1:
                raise
            continue
        return [held[location.pk] for location, _units in plan]
    raise _not_enough(variant, quantity)


def _not_enough(variant, quantity) -> InsufficientStock:
    return InsufficientStock(
        _("Not enough stock of %(sku)s to reserve %(quantity)s.")
        % {"sku": variant.sku, "quantity": quantity},
        sku=variant.sku,
        requested=quantity,
    )
