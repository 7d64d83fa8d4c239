"""Staff (on the phone, in a store) change an open order: add a line, change a line's
variant, remove a line. Stock follows every change through inventory."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from orders.errors import OrderError, OrderNotEditable
from orders.models import FulfilmentMethod, LineStatus, OrderLine
from orders.services import common
from orders.services.lifecycle import lock
from orders.services.lines import require_store
from orders.services.stock import STORE_METHODS, release_line, reserve_line, save_parts


def _editable(order):
    if not order.is_open:
        raise OrderNotEditable(
            _("Order %(number)s is %(status)s; only placed or confirmed orders can be edited.")
            % {"number": order.number, "status": order.status},
            fields={"order": [_("Not editable any more.")]},
        )


def _recompute(order) -> None:
    active = [line for line in order.lines.all() if line.is_active]
    subtotal = sum((line.line_total for line in active), common.zero(order.currency))
    discount = order.discount if order.discount <= subtotal else subtotal
    order.subtotal = subtotal
    order.discount = discount
    order.total = subtotal - discount + order.shipping
    order.save(update_fields=["subtotal", "discount", "total", "updated_at"])


def _edited(order, *, channel, change, line, by, total_before):
    common.record(
        order.customer,
        "order_edited",
        channel=channel,
        key=f"{order.number}:line-{line.pk}:{change}",
        properties={
            "order_id": order.number,
            "change": change,
            "sku": line.sku,
            "quantity": line.quantity,
            "total": common.money_str(order.total),
            # What the edit adds to (or takes from) the customer's lifetime spend.
            "total_change": common.money_str(order.total - total_before),
            "currency": order.currency,
        },
    )
    common.publish(
        "order_edited", {**common.order_payload(order), "change": change, "sku": line.sku}
    )


def _new_line(order, variant, quantity, *, channel, method, store, replaces=None) -> OrderLine:
    price = common.price_on(variant, channel)
    if price.currency.code != order.currency:
        raise OrderError(
            _("%(sku)s is priced in %(currency)s on this channel; the order is in %(order)s.")
            % {"sku": variant.sku, "currency": price.currency.code, "order": order.currency},
            fields={"sku": [_("Other currency.")]},
        )
    require_store(method, store, field="store")
    line = OrderLine.build(
        order,
        variant,
        quantity,
        price,
        method=method,
        store=store,
        channel=channel,
        replaces=replaces,
    )
    reserve_line(line, order_channel=order.channel, field="line")
    line.save()
    save_parts(line)
    return line


def add_line(order, *, sku, quantity=1, channel, method=None, store=None, by=None) -> OrderLine:
    """Add a line to an open order at `channel`'s price (the web price where the channel
    keeps none), reserving its units. Raises OrderNotEditable, UnknownVariant, inventory's
    InsufficientStock (nothing changes then)."""
    channel = common.channel_of(channel)
    if not isinstance(quantity, int) or quantity <= 0:
        raise OrderError(
            _("Quantities are whole numbers from 1."),
            fields={"quantity": [_("Must be 1 or more.")]},
        )
    variant = common.variant_of(sku)
    with transaction.atomic():
        order = lock(order)
        _editable(order)
        method = method or order.fulfilment_method
        store = common.location_of(store) or order.store
        line = _new_line(order, variant, quantity, channel=channel, method=method, store=store)
        total_before = order.total
        _recompute(order)
        _edited(
            order, channel=channel, change="line_added", line=line, by=by, total_before=total_before
        )
    return line


def change_variant(order, *, line_id, sku, channel, by=None) -> OrderLine:
    """Swap an open line's variant (another colour or size): the new variant is reserved
    first, then the old units are released, so a failed reservation changes nothing. The
    old line stays, marked removed, for the record."""
    channel = common.channel_of(channel)
    variant = common.variant_of(sku)
    with transaction.atomic():
        order = lock(order)
        _editable(order)
        old = _open_line(order, line_id)
        store = (
            old.pickup_location
            if old.fulfilment_method == FulfilmentMethod.PICKUP_IN_STORE
            else (old.location if old.fulfilment_method in STORE_METHODS else None)
        )
        line = _new_line(
            order,
            variant,
            old.quantity,
            channel=channel,
            method=old.fulfilment_method,
            store=store,
            replaces=old,
        )
        release_line(old)
        old.status = LineStatus.REMOVED
        old.save(update_fields=["status"])
        total_before = order.total
        _recompute(order)
        _edited(
            order,
            channel=channel,
            change="variant_changed",
            line=line,
            by=by,
            total_before=total_before,
        )
    return line


def remove_line(order, *, line_id, channel, by=None) -> OrderLine:
    """Take an open line off an open order, releasing its units. The last line cannot be
    removed: cancel the order instead."""
    channel = common.channel_of(channel)
    with transaction.atomic():
        order = lock(order)
        _editable(order)
        line = _open_line(order, line_id)
        if not order.lines.filter(status=LineStatus.OPEN).exclude(pk=line.pk).exists():
            raise OrderError(
                _("This is the order's last line; cancel the order instead."),
                fields={"line": [_("Last line.")]},
            )
        release_line(line)
        line.status = LineStatus.REMOVED
        line.save(update_fields=["status"])
        total_before = order.total
        _recompute(order)
        _edited(
            order,
            channel=channel,
            change="line_removed",
            line=line,
            by=by,
            total_before=total_before,
        )
    return line


def _open_line(order, line_id) -> OrderLine:
    line = (
        order.lines.select_related("reservation", "location", "pickup_location")
        .filter(pk=line_id)
        .first()
    )
    if line is None:
        raise OrderError(
            _("Order %(number)s has no line %(id)s.") % {"number": order.number, "id": line_id},
            fields={"line": [_("Unknown line.")]},
        )
    if line.status != LineStatus.OPEN:
        raise OrderNotEditable(
            _("Line %(id)s is %(status)s; only open lines can be changed.")
            % {"id": line.pk, "status": line.status},
            fields={"line": [_("Not open.")]},
        )
    return line
