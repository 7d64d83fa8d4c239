"""Goods coming back, in any channel: returns (refund), exchanges (new goods for the returned
ones, in one step) and replacements for a defect (a zero-price order and a courier who
collects the defective goods). Returned stock goes back to the receiving location's sellable
stock, or to the damaged state when the reason says it cannot be sold again."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.errors import OrderError, ReturnRefused
from orders.models import (
    DAMAGED_REASONS,
    CourierPickup,
    Exchange,
    FulfilmentMethod,
    LineStatus,
    Order,
    OrderKind,
    OrderLine,
    OrderStatus,
    PaymentStatus,
    PickupStatus,
    Replacement,
    Return,
    ReturnKind,
    ReturnLine,
    ReturnReason,
    ReturnStatus,
)
from orders.services import common
from orders.services.lifecycle import lock
from orders.services.placing import LineInput, place_order
from orders.services.stock import take_back

RETURNABLE = (OrderStatus.PARTIALLY_FULFILLED, OrderStatus.FULFILLED, OrderStatus.COMPLETED)


@dataclass
class ReturnLineInput:
    line_id: int
    quantity: int = 1
    reason: str = ReturnReason.CHANGED_MIND


def _inputs(items) -> list[ReturnLineInput]:
    result = []
    for item in items or []:
        if isinstance(item, ReturnLineInput):
            result.append(item)
        else:
            result.append(
                ReturnLineInput(
                    line_id=item.get("line_id") or item.get("line"),
                    quantity=item.get("quantity", 1),
                    reason=item.get("reason") or ReturnReason.CHANGED_MIND,
                )
            )
    if not result:
        raise OrderError(_("Name at least one line to return."), fields={"lines": [_("Required.")]})
    return result


def _open_return(order, items, *, kind, channel, location, note, by) -> Return:
    """Lock `order`, check and record the return of `items` (ReturnLineInputs), in the
    caller's transaction. Every kind (return, exchange, replacement) opens here; the locked
    order is the return's `order`."""
    order = lock(order)
    if order.status not in RETURNABLE:
        raise ReturnRefused(
            _("Order %(number)s is %(status)s; only fulfilled goods can come back.")
            % {"number": order.number, "status": order.status},
            fields={"order": [_("Nothing handed over yet.")]},
        )
    lines = {line.pk: line for line in OrderLine.objects.select_for_update().filter(order=order)}
    ret = Return.objects.create(
        order=order,
        customer=order.customer,
        kind=kind,
        channel=channel,
        location=location,
        refund_amount=common.zero(order.currency),
        note=note,
        handled_by=by,
    )
    ret.number = common.return_number(ret)
    ret.save(update_fields=["number"])
    refund = common.zero(order.currency)
    for index, item in enumerate(items):
        name = f"lines.{index}"
        line = lines.get(_int(item.line_id))
        if line is None:
            raise OrderError(
                _("Order %(number)s has no line %(id)s.")
                % {"number": order.number, "id": item.line_id},
                fields={f"{name}.line_id": [_("Unknown line.")]},
            )
        if item.reason not in ReturnReason.values:
            raise OrderError(
                _("Unknown return reason %(reason)s.") % {"reason": item.reason},
                fields={f"{name}.reason": [_("Use defect, size, colour or changed_mind.")]},
            )
        if not isinstance(item.quantity, int) or item.quantity <= 0:
            raise OrderError(
                _("Quantities are whole numbers from 1."),
                fields={f"{name}.quantity": [_("Must be 1 or more.")]},
            )
        if item.quantity > line.returnable_quantity:
            raise ReturnRefused(
                _("Only %(n)s of %(sku)s can come back from order %(number)s.")
                % {"n": line.returnable_quantity, "sku": line.sku, "number": order.number},
                fields={f"{name}.quantity": [_("More than was handed over and not yet returned.")]},
            )
        amount = line.unit_price * item.quantity
        ReturnLine.objects.create(
            return_request=ret,
            order_line=line,
            quantity=item.quantity,
            reason=item.reason,
            restock=item.reason not in DAMAGED_REASONS,
            refund_amount=amount,
        )
        line.quantity_returned = F("quantity_returned") + item.quantity
        line.save(update_fields=["quantity_returned"])
        line.refresh_from_db(fields=["quantity_returned"])
        refund += amount
    # Never refund more than was paid and not yet refunded (a coupon lowered the total).
    left = order.total - order.refunded
    ret.refund_amount = refund if refund <= left else left
    ret.save(update_fields=["refund_amount"])
    common.publish(
        "return_created",
        {
            "return": ret.number,
            "order": order.number,
            "kind": kind,
            "channel": channel.code,
            "location": location.code if location else None,
            "refund": common.money_str(ret.refund_amount),
            "currency": order.currency,
        },
    )
    return ret


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _receive(ret, *, location, channel, by=None) -> Return:
    """Goods arrive (in the caller's transaction): stock movements, the timeline, a refund
    for a plain return."""
    if ret.status != ReturnStatus.REQUESTED:
        raise ReturnRefused(
            _("Return %(number)s is already %(status)s.")
            % {"number": ret.number, "status": ret.status},
            fields={"return": [_("Already %(status)s.") % {"status": ret.status}]},
        )
    if location is None:
        raise OrderError(
            _("Say where the goods arrived."),
            fields={"location": [_("Required to receive goods.")]},
        )
    lines = list(ret.lines.select_related("order_line"))
    for return_line in lines:
        take_back(return_line, location=location, channel=channel, reference=ret.number)
    ret.status = ReturnStatus.RECEIVED
    ret.location = location
    ret.received_at = timezone.now()
    ret.save(update_fields=["status", "location", "received_at"])
    order = ret.order
    common.record(
        order.customer,
        "return_received",
        channel=channel,
        key=ret.number,
        properties={
            "order_id": order.number,
            "return_id": ret.number,
            "kind": ret.kind,
            "location_id": location.code,
            "products": [
                {
                    "sku": rl.order_line.sku,
                    "quantity": rl.quantity,
                    "reason": rl.reason,
                    "restocked": rl.restock,
                }
                for rl in lines
            ],
        },
    )
    common.publish(
        "return_received", {"return": ret.number, "order": order.number, "location": location.code}
    )
    if ret.kind == ReturnKind.RETURN:
        _refund(order, ret.refund_amount, channel=channel, key=ret.number)
    return ret


def _refund(order, amount, *, channel, key) -> None:
    if amount.amount <= 0:
        return
    order.refunded = order.refunded + amount
    if order.payment_status in (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED):
        order.payment_status = (
            PaymentStatus.REFUNDED
            if order.refunded >= order.total
            else PaymentStatus.PARTIALLY_REFUNDED
        )
    order.save(update_fields=["refunded", "payment_status", "updated_at"])
    common.record(
        order.customer,
        "order_refunded",
        channel=channel,
        key=f"{order.number}:{key}",
        properties={
            "order_id": order.number,
            "total": common.money_str(amount),
            "currency": order.currency,
        },
    )


def create_return(
    order, *, lines, channel, location=None, receive=False, note="", by=None
) -> Return:
    """Record goods coming back from `order`, initiated in `channel` (any channel: a web
    order may be returned at a store counter). With `receive`, the goods are taken at
    `location` at once (a counter); else receive_return later. Raises ReturnRefused (not
    fulfilled, more than was handed over), OrderError naming the field."""
    channel = common.channel_of(channel)
    location = common.location_of(location, field="location")
    items = _inputs(lines)
    with transaction.atomic():
        ret = _open_return(
            order,
            items,
            kind=ReturnKind.RETURN,
            channel=channel,
            location=location,
            note=note,
            by=by,
        )
        if receive:
            _receive(ret, location=location, channel=channel, by=by)
    return ret


def receive_return(ret, *, location=None, channel=None, by=None) -> Return:
    """The goods of a requested return arrive at `location` (its planned one by default):
    sellable stock back, defective goods to the damaged state, the refund recorded."""
    with transaction.atomic():
        lock(ret.order)
        ret = (
            Return.objects.select_for_update()
            .select_related("order__customer", "channel")
            .get(pk=ret.pk)
        )
        location = common.location_of(location, field="location") or ret.location
        channel = common.channel_of(channel) if channel else ret.channel
        return _receive(ret, location=location, channel=channel, by=by)


def exchange(
    order,
    *,
    return_lines,
    new_lines,
    channel,
    location=None,
    store=None,
    hand_over=True,
    by=None,
    note="",
) -> Exchange:
    """Give new goods for returned ones in one step: the return (received at `location` at
    once when given, e.g. the store counter) and a new exchange order with the new lines,
    paid by the returned goods' value (the difference is due, or refunded). New lines are
    taken in the store when `location` is a store counter (unless `hand_over` is false), else
    shipped. Records
    order_exchanged on the original order's timeline."""
    channel = common.channel_of(channel)
    location = common.location_of(location, field="location")
    store = common.location_of(store, field="store") or location
    items = _inputs(return_lines)
    if not new_lines:
        raise OrderError(_("Name the new goods."), fields={"new_lines": [_("Required.")]})
    with transaction.atomic():
        ret = _open_return(
            order,
            items,
            kind=ReturnKind.EXCHANGE,
            channel=channel,
            location=location,
            note=note,
            by=by,
        )
        order = ret.order  # locked and fresh
        credit = sum((rl.refund_amount for rl in ret.lines.all()), common.zero(order.currency))
        # At a counter the new goods are handed over there, unless the store has none left
        # (hand_over=False): then they are shipped.
        method = (
            FulfilmentMethod.IN_STORE
            if location is not None and hand_over
            else FulfilmentMethod.SHIP
        )
        placed = place_order(
            customer=order.customer,
            channel=channel,
            kind=OrderKind.EXCHANGE,
            original_order=order,
            lines=[
                LineInput(
                    sku=item["sku"] if isinstance(item, dict) else item.sku,
                    quantity=(item.get("quantity", 1) if isinstance(item, dict) else item.quantity),
                    fulfilment_method=(
                        item.get("fulfilment_method") if isinstance(item, dict) else None
                    )
                    or method,
                    store=store,
                )
                for item in new_lines
            ],
            fulfilment_method=method,
            store=store,
            shipping=_shipping_of(order),
            payment_status=PaymentStatus.PAID,
            notes=_("Exchange for %(number)s") % {"number": ret.number},
            placed_by=by,
        )
        new_order = Order.objects.select_for_update().get(pk=placed.order.pk)
        if new_order.currency != order.currency:
            raise ReturnRefused(
                _("Order %(number)s was paid in %(paid)s; %(channel)s sells in %(sells)s.")
                % {
                    "number": order.number,
                    "paid": order.currency,
                    "channel": channel.name,
                    "sells": new_order.currency,
                },
                fields={"channel": [_("An exchange stays in the order's currency.")]},
            )
        # The returned goods pay for the new ones; what is left over is refunded.
        used = credit if credit <= new_order.subtotal else new_order.subtotal
        new_order.discount = used
        new_order.total = new_order.subtotal - used
        new_order.payment_status = (
            PaymentStatus.NOT_REQUIRED if new_order.total.amount == 0 else PaymentStatus.PENDING
        )
        new_order.save(update_fields=["discount", "total", "payment_status", "updated_at"])
        ret.refund_amount = credit - used
        ret.save(update_fields=["refund_amount"])
        record = Exchange.objects.create(
            return_request=ret,
            order=order,
            new_order=new_order,
            channel=channel,
            price_difference=new_order.subtotal - credit,
        )
        if location is not None:
            _receive(ret, location=location, channel=channel, by=by)
        _refund(order, ret.refund_amount, channel=channel, key=f"{ret.number}:exchange")
        common.record(
            order.customer,
            "order_exchanged",
            channel=channel,
            key=ret.number,
            properties={
                "order_id": order.number,
                "new_order_id": new_order.number,
                "return_id": ret.number,
                "returned": [
                    {"sku": rl.order_line.sku, "quantity": rl.quantity, "reason": rl.reason}
                    for rl in ret.lines.select_related("order_line")
                ],
                "products": common.products_of(new_order.lines.all()),
                "price_difference": str(record.price_difference.amount),
                "currency": order.currency,
                "location_id": location.code if location else None,
            },
        )
        common.publish(
            "order_exchanged",
            {"order": order.number, "new_order": new_order.number, "return": ret.number},
        )
    return record


def _shipping_of(order) -> dict:
    return {
        "name": order.shipping_name,
        "phone": order.shipping_phone,
        "address": order.shipping_address or "-",
        "city": order.shipping_city,
        "postcode": order.shipping_postcode,
        "country": order.shipping_country,
    }


def create_replacement(
    order, *, lines, channel, deliver_to=None, scheduled_for=None, carrier="", note="", by=None
) -> Replacement:
    """Answer a defect with new goods at no charge: a zero-price replacement order shipped to
    the order's address (stock reserved as for any shipment), a return of the defective goods
    (reason defect) and a courier pickup task that collects them at the same visit and brings
    them to `deliver_to` (by default the location the replacement ships from). Records
    replacement_created on the timeline."""
    channel = common.channel_of(channel)
    deliver_to = common.location_of(deliver_to, field="deliver_to")
    items = _inputs(lines)
    for item in items:
        item.reason = ReturnReason.DEFECT
    with transaction.atomic():
        ret = _open_return(
            order,
            items,
            kind=ReturnKind.REPLACEMENT,
            channel=channel,
            location=deliver_to,
            note=note,
            by=by,
        )
        order = ret.order  # locked and fresh
        ret.refund_amount = common.zero(order.currency)
        ret.save(update_fields=["refund_amount"])
        returned = list(ret.lines.select_related("order_line"))
        placed = place_order(
            customer=order.customer,
            channel=channel,
            kind=OrderKind.REPLACEMENT,
            original_order=order,
            free=True,
            lines=[
                LineInput(
                    sku=rl.order_line.sku,
                    quantity=rl.quantity,
                    fulfilment_method=FulfilmentMethod.SHIP,
                )
                for rl in returned
            ],
            fulfilment_method=FulfilmentMethod.SHIP,
            shipping=_shipping_of(order),
            notes=_("Replacement for %(sku)s, defect reported (%(number)s)")
            % {"sku": ", ".join(rl.order_line.sku for rl in returned), "number": ret.number},
            placed_by=by,
        )
        new_order = placed.order
        if deliver_to is None:
            deliver_to = new_order.lines.first().location
            ret.location = deliver_to
            ret.save(update_fields=["location"])
        replacement = Replacement.objects.create(
            order=order, new_order=new_order, return_request=ret, channel=channel
        )
        pickup = CourierPickup.objects.create(
            return_request=ret,
            deliver_order=new_order,
            contact_name=order.shipping_name,
            contact_phone=order.shipping_phone,
            address=order.shipping_address,
            deliver_to=deliver_to,
            scheduled_for=scheduled_for,
            carrier=carrier,
        )
        common.record(
            order.customer,
            "replacement_created",
            channel=channel,
            key=ret.number,
            properties={
                "order_id": order.number,
                "new_order_id": new_order.number,
                "return_id": ret.number,
                "pickup_id": pickup.pk,
                "products": common.products_of(new_order.lines.all()),
            },
        )
        common.publish(
            "replacement_created",
            {
                "order": order.number,
                "new_order": new_order.number,
                "return": ret.number,
                "pickup": pickup.pk,
            },
        )
    return replacement


def collect_pickup(pickup, *, channel=None, location=None, by=None) -> CourierPickup:
    """The courier collected the goods and brought them in: the return is received at
    `location` (the pickup's destination by default), defective goods to the damaged state."""
    with transaction.atomic():
        pickup = (
            CourierPickup.objects.select_for_update()
            .select_related("return_request")
            .get(pk=pickup.pk)
        )
        if pickup.status != PickupStatus.SCHEDULED:
            raise ReturnRefused(
                _("Pickup %(id)s is already %(status)s.")
                % {"id": pickup.pk, "status": pickup.status},
                fields={"pickup": [_("Already %(status)s.") % {"status": pickup.status}]},
            )
        location = common.location_of(location, field="location") or pickup.deliver_to
        receive_return(pickup.return_request, location=location, channel=channel, by=by)
        pickup.status = PickupStatus.COLLECTED
        pickup.collected_at = timezone.now()
        pickup.save(update_fields=["status", "collected_at"])
        common.publish(
            "courier_pickup_collected",
            {"pickup": pickup.pk, "return": pickup.return_request.number},
        )
    return pickup


def line_of(order, sku) -> OrderLine | None:
    """The order line a door given a SKU (not a line id) means: the first fulfilled line of
    `sku` with units left to return; else any line of `sku`, so that the return services
    refuse it with their reason (not handed over yet, all returned); None when the order has
    no line of `sku`. Every door (API, store counter, support inbox) asks this one rule."""
    sku = sku.strip()
    lines = list(order.lines.filter(sku=sku).order_by("id"))
    for line in lines:
        if line.status == LineStatus.FULFILLED and line.returnable_quantity > 0:
            return line
    return lines[0] if lines else None
