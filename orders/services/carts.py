"""Carts: one active cart per customer, whatever the channel (started in the app, seen on
the web once identity resolution names the same customer), lines at the channel's price at
the time, abandoned after a quiet period (settings.CART_ABANDON_AFTER_MINUTES, default 60)
unless the customer ordered in any channel meanwhile, converted when they order."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.errors import CartNotActive, OrderError
from orders.models import Cart, CartLine, CartStatus, Order, OrderKind, OrderStatus
from orders.services import common


def abandon_after() -> dt.timedelta:
    return dt.timedelta(minutes=getattr(settings, "CART_ABANDON_AFTER_MINUTES", 60))


def cart_for(customer, channel, *, create=True) -> Cart | None:
    """The customer's active cart, in any channel. Carts of profiles merged into this one are
    folded into the newest; an abandoned cart comes back to life when the customer returns
    to it. None when there is none and `create` is false."""
    channel = common.channel_of(channel)
    with transaction.atomic():
        carts = list(
            Cart.objects.select_for_update()
            .filter(customer=customer, status=CartStatus.ACTIVE)
            .order_by("-last_activity_at", "-id")
        )
        if carts:
            cart = carts[0]
            for other in carts[1:]:
                _fold(other, into=cart)
            if create:
                _touch(cart, channel)  # the shopper opened it here: activity, last channel
            return cart
        revived = (
            Cart.objects.select_for_update()
            .filter(customer=customer, status=CartStatus.ABANDONED)
            .order_by("-last_activity_at", "-id")
            .first()
        )
        if revived is not None and create:
            revived.status = CartStatus.ACTIVE
            revived.abandoned_at = None
            revived.last_channel = channel
            revived.last_activity_at = timezone.now()
            revived.save(
                update_fields=["status", "abandoned_at", "last_channel", "last_activity_at"]
            )
            return revived
        if not create:
            return None
        return Cart.objects.create(
            customer=customer, channel=channel, last_channel=channel, currency=channel.currency
        )


def _fold(other: Cart, *, into: Cart) -> None:
    mine = {line.variant_id: line for line in into.lines.all()}
    for line in other.lines.all():
        if line.variant_id in mine:
            kept = mine[line.variant_id]
            kept.quantity = max(kept.quantity, line.quantity)
            kept.save(update_fields=["quantity"])
            line.delete()
        else:
            line.cart = into
            line.save(update_fields=["cart"])
    other.status = CartStatus.CONVERTED if other.converted_order_id else CartStatus.ABANDONED
    other.abandoned_at = other.abandoned_at or timezone.now()
    other.save(update_fields=["status", "abandoned_at"])


def _touch(cart: Cart, channel) -> None:
    cart.last_channel = channel
    cart.last_activity_at = timezone.now()
    cart.save(update_fields=["last_channel", "last_activity_at"])


def _active(cart: Cart) -> Cart:
    cart = Cart.objects.select_for_update().get(pk=cart.pk)
    if cart.status != CartStatus.ACTIVE:
        raise CartNotActive(
            _("Cart %(id)s is %(status)s.") % {"id": cart.pk, "status": cart.status},
            fields={"cart": [_("Not active.")]},
        )
    return cart


def set_cart_line(cart: Cart, *, sku, quantity: int, channel) -> CartLine | None:
    """Set the quantity of a variant in the cart (0 removes it), at `channel`'s price now.
    Raises UnknownVariant naming sku, CartNotActive."""
    channel = common.channel_of(channel)
    if not isinstance(quantity, int) or quantity < 0:
        raise OrderError(
            _("Quantities are whole numbers from 0."),
            fields={"quantity": [_("Must be 0 or more.")]},
        )
    variant = common.variant_of(sku)
    with transaction.atomic():
        cart = _active(cart)
        line = CartLine.objects.filter(cart=cart, variant=variant).first()
        if quantity == 0:
            if line is not None:
                line.delete()
            _touch(cart, channel)
            return None
        price = common.price_on(variant, channel)
        if cart.lines.exists() and price.currency.code != cart.currency:
            raise OrderError(
                _("The cart is in %(cart)s; this price is in %(price)s.")
                % {"cart": cart.currency, "price": price.currency.code},
                fields={"sku": [_("Other currency.")]},
            )
        if line is None:
            line = CartLine(cart=cart, variant=variant, channel=channel)
        if not cart.lines.exists():
            cart.currency = price.currency.code
            cart.save(update_fields=["currency"])
        line.quantity = quantity
        line.unit_price = price
        line.channel = channel
        line.save()
        _touch(cart, channel)
    return line


def add_to_cart(cart: Cart, *, sku, quantity: int = 1, channel) -> CartLine:
    """Add units of a variant (on top of what the cart holds), at `channel`'s price now."""
    if not isinstance(quantity, int) or quantity <= 0:
        raise OrderError(
            _("Quantities are whole numbers from 1."),
            fields={"quantity": [_("Must be 1 or more.")]},
        )
    variant = common.variant_of(sku)
    current = (
        CartLine.objects.filter(cart=cart, variant=variant)
        .values_list("quantity", flat=True)
        .first()
        or 0
    )
    return set_cart_line(cart, sku=variant, quantity=current + quantity, channel=channel)


def cart_total(cart: Cart):
    return sum((line.line_total for line in cart.lines.all()), common.zero(cart.currency))


def _products(cart):
    return [
        {
            "sku": line.variant.sku,
            "quantity": line.quantity,
            "price": common.money_str(line.unit_price),
        }
        for line in cart.lines.select_related("variant")
    ]


def convert_carts(customer, order) -> int:
    """The customer ordered (in any channel): their active and abandoned carts from before
    the order are converted, each with cart_converted on the timeline (so an abandoned-cart
    message is not sent). Runs in the order's transaction."""
    carts = list(
        Cart.objects.select_for_update()
        .filter(customer=customer, status__in=[CartStatus.ACTIVE, CartStatus.ABANDONED])
        .filter(created_at__lte=order.placed_at)
    )
    for cart in carts:
        _convert(cart, order)
    return len(carts)


def _convert(cart, order) -> None:
    total = cart_total(cart)
    cart.status = CartStatus.CONVERTED
    cart.converted_at = timezone.now()
    cart.converted_order = order
    cart.save(update_fields=["status", "converted_at", "converted_order"])
    common.record(
        cart.customer,
        "cart_converted",
        channel=order.channel,
        key=f"cart-{cart.pk}",
        properties={
            "cart_id": cart.pk,
            "order_id": order.number,
            "total": common.money_str(total),
            "currency": cart.currency,
            "cart_channel": cart.channel.code,
        },
    )


def detect_abandoned_carts(*, now=None, limit=5000, chunk=200) -> dict:
    """Mark carts with lines and no activity for abandon_after() as abandoned, recording
    cart_abandoned {cart_id, total, currency, products} in the channel where the cart was last
    used, unless the customer placed an order in ANY channel since the cart was started: such
    a cart is converted instead. Carts are taken in chunks with SKIP LOCKED, so two beats
    never record the same cart twice. Returns {"abandoned": n, "converted": m}."""
    now = now or timezone.now()
    cutoff = now - abandon_after()
    ids = list(
        Cart.objects.filter(
            status=CartStatus.ACTIVE, last_activity_at__lte=cutoff, lines__isnull=False
        )
        .values_list("pk", flat=True)
        .distinct()
        .order_by("pk")[:limit]
    )
    counts = {"abandoned": 0, "converted": 0}
    for start in range(0, len(ids), chunk):
        with transaction.atomic():
            carts = list(
                Cart.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("customer", "channel", "last_channel")
                .filter(
                    pk__in=ids[start : start + chunk],
                    status=CartStatus.ACTIVE,
                    last_activity_at__lte=cutoff,
                )
            )
            if not carts:
                continue
            lines = defaultdict(list)
            for line in CartLine.objects.filter(cart__in=carts).select_related("variant"):
                lines[line.cart_id].append(line)
            latest = {}
            for order in (
                Order.objects.filter(
                    customer_id__in={cart.customer_id for cart in carts},
                    kind=OrderKind.SALE,
                    placed_at__gte=min(cart.created_at for cart in carts),
                )
                .exclude(status=OrderStatus.CANCELLED)
                .select_related("channel")
                .order_by("placed_at")
            ):
                latest[order.customer_id] = order
            for cart in carts:
                order = latest.get(cart.customer_id)
                if order is not None and order.placed_at >= cart.created_at:
                    _convert(cart, order)
                    counts["converted"] += 1
                    continue
                cart_lines = lines[cart.pk]
                total = sum((line.line_total for line in cart_lines), common.zero(cart.currency))
                cart.status = CartStatus.ABANDONED
                cart.abandoned_at = now
                common.record(
                    cart.customer,
                    "cart_abandoned",
                    channel=cart.last_channel,
                    key=f"cart-{cart.pk}-{int(cart.last_activity_at.timestamp())}",
                    properties={
                        "cart_id": cart.pk,
                        "total": common.money_str(total),
                        "currency": cart.currency,
                        "products": [
                            {
                                "sku": line.variant.sku,
                                "quantity": line.quantity,
                                "price": common.money_str(line.unit_price),
                            }
                            for line in cart_lines
                        ],
                    },
                )
                counts["abandoned"] += 1
            Cart.objects.bulk_update(
                [cart for cart in carts if cart.status == CartStatus.ABANDONED],
                ["status", "abandoned_at"],
            )
    return counts
