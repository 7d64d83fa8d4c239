"""Pickups served by a transfer: what an order does when inventory says the transfer carrying
a pickup hold arrived, came short or is late. Connected to inventory's signals in
orders.apps, so inventory never imports orders.

- Arrived (or short, made up by the store's own units): the line's units are at the pickup
  store, the customer hears "ready for pickup" on her channel, in her language (an
  `order_ready_for_pickup` event on her timeline, which the transactional "ready for
  pickup" journey sends once the transaction has committed), and the store may hand them
  over (POST /orders/{n}/fulfilments).
- Short and not made up, or late: staff see an alert on the order page and partners an
  outbox event (`order_pickup_released`, `order_pickup_late`, `order_pickup_replanned`).
"""

from __future__ import annotations

from django.utils import timezone

from orders.models import AlertKind, LineStatus, OrderAlert, OrderLine
from orders.services import common

READY_EVENT = "order_ready_for_pickup"


def _open_lines_of(reservation):
    if reservation is None:
        return []
    return list(
        OrderLine.objects.select_related("order", "order__customer", "order__channel", "variant")
        .select_related("pickup_location")
        .filter(reservation_id=reservation.pk, status=LineStatus.OPEN)
    )


def on_transfer_received(sender, *, transfer, reservation, outcome, **kwargs) -> None:
    """A receipt of a transfer carrying a pickup hold (see inventory's receive_units)."""
    if outcome not in ("held", "replanned", "released"):
        return
    for line in _open_lines_of(reservation):
        if outcome == "released":
            _alert(line, AlertKind.PICKUP_RELEASED, transfer, topic="order_pickup_released")
            continue
        line.location = transfer.to_location
        line.save(update_fields=["location"])
        if outcome == "replanned":
            _alert(line, AlertKind.PICKUP_REPLANNED, transfer, topic="order_pickup_replanned")
        ready_for_pickup(line)


def on_transfer_late(sender, *, transfer, reservation, outcome, **kwargs) -> None:
    """A transfer carrying a pickup hold is past its expected date."""
    for line in _open_lines_of(reservation):
        if outcome == "replanned":
            line.location = transfer.to_location
            line.save(update_fields=["location"])
            _alert(line, AlertKind.PICKUP_REPLANNED, transfer, topic="order_pickup_replanned")
            ready_for_pickup(line)
        else:
            _alert(line, AlertKind.TRANSFER_LATE, transfer, topic="order_pickup_late")


def ready_for_pickup(line) -> None:
    """Tell the customer the line's units wait for her at the pickup store: one timeline
    event per line (a replay records it once), which the transactional journey sends on her
    channel after commit, and an outbox event for partners."""
    order = line.order
    store = line.pickup_location or line.location
    properties = {
        "order_id": order.number,
        "store": store.display_name if store else "",
        "location_id": store.code if store else "",
        "products": common.products_of([line]),
    }
    common.record(
        order.customer,
        READY_EVENT,
        channel=order.channel,
        key=f"{order.number}:line-{line.pk}",
        properties=properties,
    )
    common.publish(READY_EVENT, {**common.order_payload(order), **properties})


def _alert(line, kind, transfer, *, topic) -> OrderAlert:
    details = {
        "sku": line.sku,
        "quantity": line.quantity,
        "transfer": transfer.pk,
        "store": (line.pickup_location.code if line.pickup_location else ""),
        "expected_at": transfer.expected_at.isoformat() if transfer.expected_at else None,
    }
    alert = OrderAlert.objects.create(order=line.order, line=line, kind=kind, details=details)
    common.publish(topic, {**common.order_payload(line.order), **details, "alert": alert.pk})
    return alert


def resolve_alert(alert_id, *, order) -> OrderAlert | None:
    """Staff mark an alert as handled; returns it, or None when the order has no such open
    alert."""
    alert = OrderAlert.objects.filter(pk=alert_id, order=order, resolved_at=None).first()
    if alert is not None:
        alert.resolved_at = timezone.now()
        alert.save(update_fields=["resolved_at"])
    return alert
