"""Stock for order lines, always through inventory's services: the right location per
fulfilment method, reservations held for the order, sales on fulfilment, returns back to
sellable stock or to the damaged state."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from inventory.choices import MovementReason, ReservationStatus
from inventory.errors import InsufficientStock
from inventory.selectors import rule_for
from inventory.services import confirm, record_movement, release, reserve, reserve_split
from orders.errors import OrderError
from orders.models import FulfilmentMethod, OrderLinePart, PartStatus
from orders.services.common import reference_channel, stock_channel

# An order holds its units until it is fulfilled or cancelled; inventory caps holds at 30
# days, so a line whose hold lapsed is reserved again when it is fulfilled.
ORDER_HOLD = dt.timedelta(days=30)
SOURCE = "orders"
STORE_METHODS = (
    FulfilmentMethod.PICKUP_IN_STORE,
    FulfilmentMethod.SHIP_FROM_STORE,
    FulfilmentMethod.IN_STORE,
)


def reserve_line(line, *, order_channel, field="lines") -> None:
    """Hold the line's units where its method says: ship -> the channel's allocation rule;
    pickup -> the pickup store (or, when the rule allows, a transfer to it); ship from store
    and in store -> that store. Sets line.location, pickup_location and reservation.
    Raises inventory's InsufficientStock (409) naming the SKU."""
    method = line.fulfilment_method
    store = line.pickup_location if method == FulfilmentMethod.PICKUP_IN_STORE else line.location
    options = {
        "variant": line.variant,
        "quantity": line.quantity,
        "reference": line.order.number or "",
        "expires_in": ORDER_HOLD,
    }
    if method == FulfilmentMethod.SHIP:
        # A store that ships to the customer's home (endless aisle, an exchange without stock
        # at the counter) sells from online stock, as the web shop would.
        allocating = reference_channel() if order_channel.kind == "store" else None
        allocating = allocating or stock_channel(order_channel)
        try:
            reservation = reserve(channel=allocating, **options)
        except InsufficientStock:
            if not rule_for(allocating).may_split_lines:
                raise
            # No single location holds the line: its parts come from several.
            line.split_reservations = reserve_split(channel=allocating, **options)
            line.reservation = None
            line.location = None
            return
    elif method == FulfilmentMethod.PICKUP_IN_STORE:
        reservation = reserve(
            pickup_location=store, channel=stock_channel(order_channel), **options
        )
    else:
        if store is None:
            raise OrderError(
                _("A %(method)s line needs a store.") % {"method": method},
                fields={f"{field}.store": [_("Required for this fulfilment method.")]},
            )
        if method == FulfilmentMethod.SHIP_FROM_STORE and not store.ships_from_store:
            raise OrderError(
                _("%(store)s does not ship orders.") % {"store": store.code},
                fields={f"{field}.store": [_("This store does not ship from store.")]},
            )
        reservation = reserve(location=store, channel=order_channel, **options)
    line.reservation = reservation
    line.location = reservation.location
    if method == FulfilmentMethod.PICKUP_IN_STORE:
        line.pickup_location = store


def save_parts(line) -> list:
    """After a split line is saved: one part a location, each with its reservation."""
    reservations = getattr(line, "split_reservations", None)
    if not reservations:
        return []
    parts = OrderLinePart.objects.bulk_create(
        [
            OrderLinePart(
                line=line,
                location_id=reservation.location_id,
                reservation=reservation,
                quantity=reservation.quantity,
            )
            for reservation in reservations
        ]
    )
    line.split_reservations = None
    return parts


def release_line(line) -> None:
    """Give the line's held units back (nothing to do once they are sold or released): its
    own reservation, or each open part's, and only those."""
    for part in line.parts.filter(status=PartStatus.OPEN).select_related("reservation"):
        if part.reservation and part.reservation.status == ReservationStatus.ACTIVE:
            release(part.reservation_id)
        part.status = PartStatus.RELEASED
        part.save(update_fields=["status"])
    if line.reservation_id is None:
        return
    reservation = line.reservation
    if reservation.status == ReservationStatus.ACTIVE:
        release(reservation.pk)


def sell_line(line, *, order_channel) -> None:
    """Turn the line's reservation into a sale movement at its location. A hold that lapsed
    (inventory expired it) is taken again at the same location first."""
    _sell(line, order_channel=order_channel)


def sell_part(part, *, order_channel) -> None:
    """A part's reservation becomes a sale at its location (taken again there first if the
    hold lapsed)."""
    _sell(part, order_channel=order_channel)


def _sell(holder, *, order_channel) -> None:
    """The reservation of `holder` (an order line, or a part of a split line) becomes a
    sale; one that lapsed or was released is first taken again at the holder's location."""
    reservation = holder.reservation
    if reservation is not None:
        reservation.refresh_from_db(fields=["status"])
    if reservation is None or reservation.status in (
        ReservationStatus.EXPIRED,
        ReservationStatus.RELEASED,
    ):
        line = holder.line if isinstance(holder, OrderLinePart) else holder
        reservation = reserve(
            variant=line.variant,
            quantity=holder.quantity,
            location=holder.location,
            channel=order_channel,
            reference=line.order.number,
            expires_in=ORDER_HOLD,
        )
        holder.reservation = reservation
        holder.save(update_fields=["reservation"])
    confirm(reservation.pk)


def take_back(return_line, *, location, channel, reference) -> None:
    """Returned goods arrive at `location`: a return movement, and for goods that cannot be
    sold again (a defect) a damage movement right after, so they leave sellable stock while
    the ledger still shows they came back."""
    variant_id = return_line.order_line.variant_id
    key = f"return-line-{return_line.pk}"
    record_movement(
        variant_id=variant_id,
        location_id=location.pk,
        quantity=return_line.quantity,
        reason=MovementReason.RETURN,
        channel_id=channel.pk,
        reference=reference,
        source=SOURCE,
        idempotency_key=key,
        note=return_line.get_reason_display(),
    )
    if not return_line.restock:
        record_movement(
            variant_id=variant_id,
            location_id=location.pk,
            quantity=-return_line.quantity,
            reason=MovementReason.DAMAGE,
            channel_id=channel.pk,
            reference=reference,
            source=SOURCE,
            idempotency_key=f"{key}-damaged",
            note=_("Returned as %(reason)s: not for sale") % {"reason": return_line.reason},
        )
