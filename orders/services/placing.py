"""Placing an order from any channel: prices from the channel, the coupon through the
registered handler, stock reserved per line, the order on the customer's timeline, the
customer's carts converted. Idempotent by the partner's external id."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import IntegrityError
from django.utils import timezone
from django.utils.translation import gettext as _

from core.services.transactions import atomic_retrying_a_deadlock
from orders import coupons
from orders.errors import OrderError
from orders.models import (
    FulfilmentMethod,
    Order,
    OrderKind,
    OrderLine,
    OrderStatus,
    OrderStatusChange,
    PaymentStatus,
)
from orders.services import common
from orders.services.carts import convert_carts
from orders.services.lifecycle import fulfil
from orders.services.lines import require_store
from orders.services.stock import reserve_line, save_parts


@dataclass
class LineInput:
    sku: str
    quantity: int
    fulfilment_method: str | None = None
    store: object = None  # a Location or its code


@dataclass
class ShippingInput:
    name: str = ""
    phone: str = ""
    address: str = ""
    city: str = ""
    postcode: str = ""
    country: str = ""


@dataclass
class PlacedOrder:
    order: Order
    created: bool = True
    warnings: list = field(default_factory=list)


def _line_input(item) -> LineInput:
    if isinstance(item, LineInput):
        return item
    return LineInput(
        sku=item.get("sku"),
        quantity=item.get("quantity", 1),
        fulfilment_method=item.get("fulfilment_method") or None,
        store=item.get("store") or None,
    )


def _shipping(value) -> ShippingInput:
    if value is None:
        return ShippingInput()
    if isinstance(value, ShippingInput):
        return value
    return ShippingInput(**{k: v or "" for k, v in value.items()})


def existing_order(channel, external_id):
    if not external_id:
        return None
    return (
        Order.objects.select_related("channel", "customer")
        .filter(channel=channel, external_id=external_id)
        .first()
    )


def place_order(
    *,
    customer,
    channel,
    lines,
    external_id: str = "",
    fulfilment_method: str = FulfilmentMethod.SHIP,
    store=None,
    shipping=None,
    coupon_code: str = "",
    payment_status: str = PaymentStatus.PENDING,
    payment_reference: str = "",
    notes: str = "",
    placed_by=None,
    kind: str = OrderKind.SALE,
    original_order=None,
    free: bool = False,
) -> PlacedOrder:
    """Place an order for `customer` in `channel`.

    Each line is priced at the channel's price (the web price where the channel keeps none),
    `free` makes every price zero (a replacement). The coupon is quoted and redeemed through
    the registered handler in this transaction. Every line's units are reserved through
    inventory at the location its method names (in one stable order, so concurrent orders
    never deadlock; a deadlock with another code path runs the order once more); lines taken
    in the store are sold at once.
    The same `external_id` in the same channel returns the first order (created=False).
    Records order_completed (a sale) on the timeline and order_placed in the outbox, and
    converts the customer's carts. Raises OrderError / UnknownVariant / UnknownLocation naming
    the field, CouponRefused, inventory's InsufficientStock."""
    channel = common.channel_of(channel)
    external_id = (external_id or "").strip()
    found = existing_order(channel, external_id)
    if found is not None:
        return PlacedOrder(found, created=False)

    inputs = [_line_input(item) for item in lines or []]
    if not inputs:
        raise OrderError(_("An order needs at least one line."), fields={"lines": [_("Required.")]})
    if fulfilment_method not in FulfilmentMethod.values:
        raise OrderError(
            _("Unknown fulfilment method %(method)s.") % {"method": fulfilment_method},
            fields={"fulfilment_method": [_("Unknown method.")]},
        )
    order_store = common.location_of(store, field="store")
    ship = _shipping(shipping)
    prepared = []
    for index, item in enumerate(inputs):
        name = f"lines.{index}"
        if not isinstance(item.quantity, int) or item.quantity <= 0:
            raise OrderError(
                _("Quantities are whole numbers from 1."),
                fields={f"{name}.quantity": [_("Must be 1 or more.")]},
            )
        method = item.fulfilment_method or fulfilment_method
        if method not in FulfilmentMethod.values:
            raise OrderError(
                _("Unknown fulfilment method %(method)s.") % {"method": method},
                fields={f"{name}.fulfilment_method": [_("Unknown method.")]},
            )
        line_store = common.location_of(item.store, field=f"{name}.store") or order_store
        require_store(method, line_store, field=f"{name}.store")
        if method in (FulfilmentMethod.SHIP, FulfilmentMethod.SHIP_FROM_STORE) and not ship.address:
            raise OrderError(
                _("A shipped order needs a shipping address."),
                fields={"shipping.address": [_("Required when lines are shipped.")]},
            )
        variant = common.variant_of(item.sku, field=f"{name}.sku")
        price = (
            common.zero(channel.currency)
            if free
            else common.price_on(variant, channel, field=f"{name}.sku")
        )
        prepared.append((variant, item.quantity, price, method, line_store))

    currencies = {price.currency.code for _v, _q, price, _m, _s in prepared}
    if len(currencies) > 1:
        raise OrderError(
            _("The lines are priced in several currencies."), fields={"lines": [_("Mixed.")]}
        )
    currency = currencies.pop()
    subtotal = sum(
        (price * quantity for _v, quantity, price, _m, _s in prepared), common.zero(currency)
    )
    quote = None
    if coupon_code:
        quote = coupons.quote_coupon(
            coupon_code,
            customer=customer,
            channel=channel,
            store=order_store,
            subtotal=subtotal,
            lines=[
                coupons.CouponLine(
                    sku=variant.sku,
                    quantity=quantity,
                    unit_price=price,
                    product_id=variant.product_id,
                    category_id=getattr(variant.product, "category_id", None),
                )
                for variant, quantity, price, _m, _s in prepared
            ],
        )
    discount = quote.discount if quote else common.zero(currency)
    if free:
        payment_status = PaymentStatus.NOT_REQUIRED
    elif payment_status not in PaymentStatus.values:
        raise OrderError(
            _("Unknown payment status %(status)s.") % {"status": payment_status},
            fields={"payment_status": [_("Unknown status.")]},
        )

    try:
        order = atomic_retrying_a_deadlock(
            lambda: _create(
                customer=customer,
                channel=channel,
                prepared=prepared,
                external_id=external_id,
                method=fulfilment_method,
                store=order_store,
                ship=ship,
                subtotal=subtotal,
                discount=discount,
                quote=quote,
                payment_status=payment_status,
                payment_reference=payment_reference,
                notes=notes,
                placed_by=placed_by,
                kind=kind,
                original_order=original_order,
            )
        )
    except IntegrityError:
        # Two requests with the same external id raced; the other one committed first.
        found = existing_order(channel, external_id)
        if found is None:
            raise
        return PlacedOrder(found, created=False)
    return PlacedOrder(order, created=True)


def _lock_order(indexed_line):
    index, line = indexed_line
    store = line.pickup_location or line.location
    return (line.variant.pk, store.pk if store is not None else 0, index)


def _create(
    *,
    customer,
    channel,
    prepared,
    external_id,
    method,
    store,
    ship,
    subtotal,
    discount,
    quote,
    payment_status,
    payment_reference,
    notes,
    placed_by,
    kind,
    original_order,
):
    now = timezone.now()
    order = Order.objects.create(
        external_id=external_id,
        kind=kind,
        customer=customer,
        channel=channel,
        status=OrderStatus.PLACED,
        payment_status=payment_status,
        payment_reference=payment_reference,
        currency=subtotal.currency.code,
        subtotal=subtotal,
        discount=discount,
        shipping=common.zero(subtotal.currency.code),
        total=subtotal - discount,
        refunded=common.zero(subtotal.currency.code),
        coupon_code=quote.code if quote else "",
        coupon_description=(quote.description if quote else "")[:200],
        fulfilment_method=method,
        store=store,
        shipping_name=ship.name,
        shipping_phone=ship.phone,
        shipping_address=ship.address,
        shipping_city=ship.city,
        shipping_postcode=ship.postcode,
        shipping_country=ship.country,
        notes=notes,
        placed_by=placed_by,
        original_order=original_order,
        placed_at=now,
    )
    order.number = common.order_number(order)
    order.save(update_fields=["number"])
    OrderStatusChange.objects.create(
        order=order, to_status=OrderStatus.PLACED, channel=channel, changed_by=placed_by
    )
    lines = []
    for variant, quantity, price, line_method, line_store in prepared:
        line = OrderLine.build(
            order, variant, quantity, price, method=line_method, store=line_store, channel=channel
        )
        lines.append(line)
    # Each hold keeps its stock row locked until commit: held in request order, an order
    # for [A, B] and one for [B, A] would each wait for the other. Held in one stable order
    # (by variant, then store, as inventory locks movement batches), the second waits.
    for index, line in sorted(enumerate(lines), key=_lock_order):
        reserve_line(line, order_channel=channel, field=f"lines.{index}")
    for line in lines:
        line.save()
        save_parts(line)
    if quote:
        coupons.redeem_coupon(
            quote.code,
            customer=customer,
            channel=channel,
            order_number=order.number,
            discount=quote.discount,
            store=store,
        )
    if kind == OrderKind.SALE:
        common.record(
            customer,
            "order_completed",
            channel=channel,
            key=order.number,
            properties={
                "order_id": order.number,
                "total": common.money_str(order.total),
                "currency": order.currency,
                "discount": common.money_str(order.discount),
                "coupon": order.coupon_code or None,
                "fulfilment": method,
                "products": common.products_of(lines),
            },
        )
        convert_carts(customer, order)
    common.publish(
        "order_placed", {**common.order_payload(order), "lines": common.products_of(lines)}
    )
    taken = [line for line in lines if line.fulfilment_method == FulfilmentMethod.IN_STORE]
    if taken:
        # Goods taken at the counter are handed over as the order is placed.
        fulfil(order, line_ids=[line.pk for line in taken], channel=channel, by=placed_by)
        order.refresh_from_db()
    return order
