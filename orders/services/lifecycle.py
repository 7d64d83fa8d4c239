"""An order's life after it is placed: the state machine (placed -> confirmed ->
partially fulfilled / fulfilled -> completed; cancelled), fulfilment (reservations become
sales), cancellation (reservations and the coupon released) and payment status."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from orders import coupons
from orders.errors import FulfilmentRefused, IllegalTransition, OrderError
from orders.models import (
    ORDER_TRANSITIONS,
    Fulfilment,
    FulfilmentLine,
    FulfilmentMethod,
    LineStatus,
    Order,
    OrderKind,
    OrderLinePart,
    OrderStatus,
    OrderStatusChange,
    PartStatus,
    PaymentStatus,
)
from orders.services import common
from orders.services.stock import release_line, sell_line, sell_part

TIMESTAMPS = {
    OrderStatus.CONFIRMED: "confirmed_at",
    OrderStatus.FULFILLED: "fulfilled_at",
    OrderStatus.COMPLETED: "completed_at",
    OrderStatus.CANCELLED: "cancelled_at",
}


def lock(order) -> Order:
    return Order.objects.select_for_update().select_related("channel", "customer").get(pk=order.pk)


def check_transition(order, to_status) -> None:
    """Raise IllegalTransition (409) unless the state machine allows from -> to."""
    if to_status not in OrderStatus.values:
        raise OrderError(
            _("Unknown order status %(status)s.") % {"status": to_status},
            fields={"status": [_("Unknown status.")]},
        )
    if to_status not in ORDER_TRANSITIONS[order.status]:
        allowed = _(", ").join(
            status_words(status) for status in sorted(ORDER_TRANSITIONS[order.status])
        ) or _("none")
        raise IllegalTransition(
            _("Order %(number)s cannot go from %(from)s to %(to)s (allowed: %(allowed)s).")
            % {
                "number": order.number,
                "from": status_words(order.status),
                "to": status_words(to_status),
                "allowed": allowed,
            },
            fields={
                "status": [_("Not allowed from %(from)s.") % {"from": status_words(order.status)}]
            },
            from_status=order.status,
            to_status=to_status,
        )


def status_words(status) -> str:
    """A status as a sentence says it, in the reader's language ("partially fulfilled"); the
    error's `from_status` and `to_status` keep the codes."""
    return str(OrderStatus(status).label).lower() if status in OrderStatus.values else status


def _move(order, to_status, *, channel=None, by=None, note="") -> Order:
    """Apply one allowed step to a locked order, with its history row and outbox message."""
    check_transition(order, to_status)
    from_status = order.status
    order.status = to_status
    fields = ["status", "updated_at"]
    if to_status in TIMESTAMPS:
        setattr(order, TIMESTAMPS[to_status], timezone.now())
        fields.append(TIMESTAMPS[to_status])
    order.save(update_fields=fields)
    OrderStatusChange.objects.create(
        order=order,
        from_status=from_status,
        to_status=to_status,
        channel=channel,
        changed_by=by,
        note=note[:255],
    )
    common.publish(
        "order_status_changed",
        {**common.order_payload(order), "from_status": from_status, "to_status": to_status},
    )
    return order


def transition(order, to_status, *, channel=None, by=None, note="") -> Order:
    """Move the order along the state machine. Fulfilment and cancellation have their own
    services (they move stock); use set_status to reach them by status name. Raises
    IllegalTransition naming from and to."""
    with transaction.atomic():
        order = lock(order)
        return _move(
            order,
            to_status,
            channel=common.channel_of(channel) if channel else None,
            by=by,
            note=note,
        )


def confirm_order(order, *, channel=None, by=None) -> Order:
    return transition(order, OrderStatus.CONFIRMED, channel=channel, by=by)


def complete_order(order, *, channel=None, by=None) -> Order:
    return transition(order, OrderStatus.COMPLETED, channel=channel, by=by)


def set_status(order, status, *, channel=None, by=None, note="") -> Order:
    """The API's status update: cancelled cancels (stock and coupon released), fulfilled
    fulfils every open line (stock sold), other statuses follow the state machine."""
    if status == OrderStatus.CANCELLED:
        return cancel_order(order, channel=channel, by=by, reason=note)
    if status == OrderStatus.FULFILLED:
        fulfil(order, channel=channel, by=by)
        order.refresh_from_db()
        return order
    if status == OrderStatus.PARTIALLY_FULFILLED:
        raise OrderError(
            _("Record a fulfilment of some lines to make an order partially fulfilled."),
            fields={"status": [_("Use the fulfilments endpoint.")]},
        )
    return transition(order, status, channel=channel, by=by, note=note)


def fulfil(
    order, *, line_ids=None, part_ids=None, channel=None, by=None, carrier="", tracking_number=""
):
    """Hand over open lines (all of them, or `line_ids`): each line's reservation becomes a
    sale movement at its location, one Fulfilment per location. A placed order is confirmed
    first; afterwards the order is fulfilled or partially fulfilled. Records order_fulfilled
    on the timeline. Raises IllegalTransition (cancelled or completed order),
    FulfilmentRefused (a line that is not open), inventory's IllegalTransition (units still in
    transit to the pickup store)."""
    with transaction.atomic():
        order = lock(order)
        channel = common.channel_of(channel) if channel else order.channel
        if order.status == OrderStatus.PLACED:
            _move(order, OrderStatus.CONFIRMED, channel=channel, by=by)
        if order.status not in (OrderStatus.CONFIRMED, OrderStatus.PARTIALLY_FULFILLED):
            raise IllegalTransition(
                _("Order %(number)s cannot be fulfilled: it is %(status)s.")
                % {"number": order.number, "status": status_words(order.status)},
                fields={
                    "status": [
                        _("Not allowed from %(from)s.") % {"from": status_words(order.status)}
                    ]
                },
                from_status=order.status,
                to_status=OrderStatus.FULFILLED,
            )
        lines = list(
            order.lines.select_related("variant", "location", "reservation").prefetch_related(
                Prefetch(
                    "parts",
                    queryset=OrderLinePart.objects.select_related("location", "reservation"),
                )
            )
        )
        open_lines = [line for line in lines if line.status == LineStatus.OPEN]
        wanted_parts = None
        if part_ids is not None:
            wanted_parts = {int(i) for i in part_ids}
            parts = {part.pk: (line, part) for line in lines for part in line.parts.all()}
            unknown = wanted_parts - set(parts)
            if unknown:
                raise FulfilmentRefused(
                    _("Order %(number)s has no line part %(ids)s.")
                    % {"number": order.number, "ids": ", ".join(map(str, sorted(unknown)))},
                    fields={"parts": [_("Unknown part.")]},
                )
            closed = [pk for pk in wanted_parts if parts[pk][1].status != PartStatus.OPEN]
            if closed:
                raise FulfilmentRefused(
                    _("Line part %(id)s is not open.") % {"id": closed[0]},
                    fields={"parts": [_("Only open parts can be fulfilled.")]},
                )
            part_lines = {parts[pk][0].pk for pk in wanted_parts}
            line_ids = sorted(part_lines | set(line_ids or []))
        if line_ids is not None:
            wanted = {int(i) for i in line_ids}
            unknown = wanted - {line.pk for line in lines}
            if unknown:
                raise FulfilmentRefused(
                    _("Order %(number)s has no line %(ids)s.")
                    % {"number": order.number, "ids": ", ".join(map(str, sorted(unknown)))},
                    fields={"lines": [_("Unknown line.")]},
                )
            not_open = [
                line for line in lines if line.pk in wanted and line.status != LineStatus.OPEN
            ]
            if not_open:
                raise FulfilmentRefused(
                    _("Line %(id)s is %(status)s, not open.")
                    % {"id": not_open[0].pk, "status": not_open[0].status},
                    fields={"lines": [_("Only open lines can be fulfilled.")]},
                )
            open_lines = [line for line in open_lines if line.pk in wanted]
        if not open_lines:
            raise FulfilmentRefused(
                _("Order %(number)s has no open lines to fulfil.") % {"number": order.number},
                fields={"lines": [_("Nothing to fulfil.")]},
            )
        fulfilments = {}

        def fulfilment_at(location):
            if location.pk not in fulfilments:
                fulfilments[location.pk] = Fulfilment.objects.create(
                    order=order,
                    location=location,
                    method=FulfilmentMethod.SHIP,
                    channel=channel,
                    carrier=carrier,
                    tracking_number=tracking_number,
                )
            return fulfilments[location.pk]

        for line in open_lines:
            parts = list(line.parts.all())
            if parts:
                # A split line: each part from its own location, fulfilled on its own.
                for part in parts:
                    if part.status != PartStatus.OPEN:
                        continue
                    if wanted_parts is not None and part.pk not in wanted_parts:
                        continue
                    sell_part(part, order_channel=order.channel)
                    FulfilmentLine.objects.create(
                        fulfilment=fulfilment_at(part.location),
                        order_line=line,
                        part=part,
                        quantity=part.quantity,
                    )
                    part.status = PartStatus.FULFILLED
                    part.save(update_fields=["status"])
                if all(part.status != PartStatus.OPEN for part in parts):
                    line.status = LineStatus.FULFILLED
                    line.save(update_fields=["status"])
                continue
            sell_line(line, order_channel=order.channel)
            fulfilment = fulfilments.get(line.location_id)
            if fulfilment is None:
                fulfilment = fulfilments[line.location_id] = Fulfilment.objects.create(
                    order=order,
                    location=line.location,
                    method=line.fulfilment_method,
                    channel=channel,
                    carrier=carrier,
                    tracking_number=tracking_number,
                )
            FulfilmentLine.objects.create(
                fulfilment=fulfilment, order_line=line, quantity=line.quantity
            )
            line.status = LineStatus.FULFILLED
            line.save(update_fields=["status"])
        remaining = [line for line in lines if line.status == LineStatus.OPEN]
        target = OrderStatus.PARTIALLY_FULFILLED if remaining else OrderStatus.FULFILLED
        if order.status != target:
            _move(order, target, channel=channel, by=by)
        common.record(
            order.customer,
            "order_fulfilled",
            channel=channel,
            key=f"{order.number}:fulfilment-{min(f.pk for f in fulfilments.values())}",
            properties={
                "order_id": order.number,
                "fulfilment": sorted({line.fulfilment_method for line in open_lines}),
                "location_id": ",".join(
                    sorted({f.location.code for f in fulfilments.values() if f.location})
                ),
                "products": common.products_of(open_lines),
                "status": order.status,
            },
        )
        for fulfilment in fulfilments.values():
            common.publish(
                "fulfilment_created",
                {
                    "order": order.number,
                    "fulfilment_id": fulfilment.pk,
                    "location": fulfilment.location.code if fulfilment.location else None,
                    "method": fulfilment.method,
                    "carrier": carrier,
                    "tracking_number": tracking_number,
                },
            )
    return list(fulfilments.values())


def cancel_order(order, *, channel=None, by=None, reason="") -> Order:
    """Cancel an open order: every open line's reservation released, the coupon released
    through its handler, the amount counted at placement taken back off the customer's
    lifetime spend (order_refunded), order_cancelled on the timeline. Raises IllegalTransition
    once anything was fulfilled."""
    with transaction.atomic():
        order = lock(order)
        channel = common.channel_of(channel) if channel else order.channel
        check_transition(order, OrderStatus.CANCELLED)
        lines = list(order.lines.select_related("reservation"))
        for line in lines:
            if line.status == LineStatus.OPEN:
                release_line(line)
                line.status = LineStatus.CANCELLED
                line.save(update_fields=["status"])
        if order.coupon_code:
            coupons.release_coupon(order.coupon_code, order_number=order.number)
        if order.payment_status == PaymentStatus.PAID:
            order.payment_status = PaymentStatus.REFUNDED
            order.refunded = order.total
            order.save(update_fields=["payment_status", "refunded", "updated_at"])
        _move(order, OrderStatus.CANCELLED, channel=channel, by=by, note=reason)
        common.record(
            order.customer,
            "order_cancelled",
            channel=channel,
            key=order.number,
            properties={
                "order_id": order.number,
                "total": common.money_str(order.total),
                "currency": order.currency,
                "reason": reason,
            },
        )
        if order.kind == OrderKind.SALE and order.total.amount > 0:
            common.record(
                order.customer,
                "order_refunded",
                channel=channel,
                key=f"{order.number}:cancelled",
                properties={
                    "order_id": order.number,
                    "total": common.money_str(order.total),
                    "currency": order.currency,
                    "reason": "cancelled",
                },
            )
    return order


def record_payment(order, *, status, reference="") -> Order:
    """Record what the payment partner reports (no gateway here)."""
    if status not in PaymentStatus.values:
        raise OrderError(
            _("Unknown payment status %(status)s.") % {"status": status},
            fields={"payment_status": [_("Unknown status.")]},
        )
    with transaction.atomic():
        order = lock(order)
        order.payment_status = status
        if reference:
            order.payment_reference = reference
        order.save(update_fields=["payment_status", "payment_reference", "updated_at"])
        common.publish("order_payment_changed", common.order_payload(order))
    return order
