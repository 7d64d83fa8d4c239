"""Reads of orders shared by the API, the staff pages and other apps."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Exists, F, Max, OuterRef, Prefetch, Q, Sum
from django.utils import timezone

from core.l10n import normalise_digits
from core.names import name_in_language
from inventory.selectors import transfers_with_places as transfers_for_lines
from orders.models import (
    Cart,
    CartLine,
    LineStatus,
    Order,
    OrderAlert,
    OrderKind,
    OrderLine,
    OrderLinePart,
    OrderStatus,
    Return,
    ReturnLine,
    ReturnStatus,
)


def orders_list(
    *, channel=None, status=None, method=None, store=None, customer=None, kind=None, query=None
):
    """Orders, newest first, filtered by channel code, status, fulfilment method (of the order
    or of any line), store (location code, of the order or of any line), customer and `query`,
    an order number or the channel's own id, in any digits."""
    orders = Order.objects.select_related("channel", "customer", "store")
    if channel:
        orders = orders.filter(channel__code=channel)
    if status:
        orders = orders.filter(status=status)
    if kind:
        orders = orders.filter(kind=kind)
    if customer is not None:
        orders = orders.filter(customer=customer)
    if method:
        orders = orders.filter(
            Q(fulfilment_method=method)
            | Exists(OrderLine.objects.filter(order=OuterRef("pk"), fulfilment_method=method))
        )
    if store:
        orders = orders.filter(
            Q(store__code=store)
            | Exists(
                OrderLine.objects.filter(order=OuterRef("pk")).filter(
                    Q(location__code=store) | Q(pickup_location__code=store)
                )
            )
        )
    if query:
        # A number typed in Persian or Arabic-Indic digits (W-۱۰۰۰۰۱) is the same number.
        query = normalise_digits(query).strip()
        orders = orders.filter(Q(number__iexact=query) | Q(external_id=query))
    return orders.order_by("-placed_at", "-id")


def with_lines(orders):
    return orders.prefetch_related(
        Prefetch(
            "lines",
            queryset=OrderLine.objects.select_related(
                "variant", "location", "pickup_location", "reservation", "channel"
            ),
        ),
        # A pickup served by a transfer shows where its units are.
        Prefetch(
            "lines__reservation__transfers",
            queryset=transfers_for_lines(),
        ),
        Prefetch("alerts", queryset=OrderAlert.objects.filter(resolved_at=None)),
        Prefetch("lines__parts", queryset=OrderLinePart.objects.select_related("location")),
    )


def order_by_number(number) -> Order | None:
    return (
        with_lines(Order.objects.select_related("channel", "customer", "store", "original_order"))
        .filter(number=number)
        .first()
    )


def order_detail(order: Order) -> dict:
    """Everything the order page shows, in a fixed number of queries."""
    returns = list(
        Return.objects.filter(order=order)
        .select_related("channel", "location")
        .prefetch_related(
            Prefetch("lines", queryset=ReturnLine.objects.select_related("order_line"))
        )
    )
    return {
        "order": order,
        "lines": list(order.lines.all()),
        "history": list(order.status_changes.select_related("channel", "changed_by")),
        "fulfilments": list(
            order.fulfilments.select_related("location", "channel").prefetch_related(
                "lines__order_line"
            )
        ),
        "returns": returns,
        "follow_ups": list(order.follow_up_orders.select_related("channel")),
        "alerts": list(order.alerts.filter(resolved_at=None).select_related("line")),
        "pickups": list(order.courier_pickups.select_related("return_request", "deliver_to"))
        + [ret.courier_pickup for ret in returns if hasattr(ret, "courier_pickup")],
    }


def orders_of_customer(customer):
    return (
        Order.objects.filter(customer=customer)
        .select_related("channel", "store")
        .annotate(line_count=Count("lines"))
        .order_by("-placed_at", "-id")
    )


def orders_today_by_channel() -> list[dict]:
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    rows = (
        Order.objects.filter(placed_at__gte=start, kind="sale")
        .values("channel__code", "channel__name", "channel__names", "currency")
        .annotate(count=Count("id"))
        .order_by("-count", "channel__code")
    )
    return [
        {
            "code": row["channel__code"],
            "name": name_in_language(row["channel__names"], row["channel__name"]),
            "count": row["count"],
            "currency": row["currency"],
        }
        for row in rows
    ]


def returns_list(*, channel=None, status=None, kind=None, location=None):
    returns = Return.objects.select_related("order", "channel", "location", "customer")
    if channel:
        returns = returns.filter(channel__code=channel)
    if status:
        returns = returns.filter(status=status)
    if kind:
        returns = returns.filter(kind=kind)
    if location:
        returns = returns.filter(location__code=location)
    return returns.prefetch_related(
        Prefetch("lines", queryset=ReturnLine.objects.select_related("order_line"))
    ).order_by("-created_at", "-id")


def active_cart_of(customer) -> Cart | None:
    return (
        Cart.objects.filter(customer=customer, status="active")
        .select_related("channel", "last_channel", "customer")
        .prefetch_related(
            Prefetch("lines", queryset=CartLine.objects.select_related("variant", "channel"))
        )
        .order_by("-last_activity_at")
        .first()
    )


def carts_list(*, customer=None, status=None):
    carts = Cart.objects.select_related("channel", "last_channel", "customer").prefetch_related(
        Prefetch("lines", queryset=CartLine.objects.select_related("variant", "channel"))
    )
    if customer is not None:
        carts = carts.filter(customer=customer)
    if status:
        carts = carts.filter(status=status)
    return carts.order_by("-last_activity_at", "-id")


def reservations_of(order):
    """The inventory reservations holding the order's lines (read through the FK)."""
    return [line.reservation for line in order.lines.all() if line.reservation_id]


# The periods the returned-products report is offered over, in days.
RETURN_WINDOWS = (30, 90, 365)


def most_returned_products(*, days: int = 90, now=None, limit: int = 50) -> list[dict]:
    """Which products come back most (story 5: make fewer of them), per variant (a colour
    and size): the units sold on sale orders placed in the last `days` days, in every
    channel, how many of those units came back (returns not cancelled, exchanges and
    replacements included), the return rate and the reasons given; most returned first.
    Two grouped queries, whatever the number of orders."""
    since = (now or timezone.now()) - timedelta(days=days)
    sold_lines = OrderLine.objects.filter(
        order__kind=OrderKind.SALE, order__placed_at__gte=since
    ).exclude(status__in=[LineStatus.CANCELLED, LineStatus.REMOVED])
    sold = {
        row["variant_id"]: row
        for row in sold_lines.values("variant_id")
        .annotate(units=Sum("quantity"), sku=Max("sku"), name=Max("product_name"))
        .order_by()
    }
    returned = (
        ReturnLine.objects.filter(order_line__in=sold_lines)
        .exclude(return_request__status=ReturnStatus.CANCELLED)
        .values("order_line__variant_id", "reason")
        .annotate(units=Sum("quantity"))
        .order_by()
    )
    rows: dict[int, dict] = {}
    for row in returned:
        variant = sold[row["order_line__variant_id"]]
        entry = rows.setdefault(
            row["order_line__variant_id"],
            {
                "sku": variant["sku"],
                "name": variant["name"],
                "sold": variant["units"],
                "returned": 0,
                "reasons": {},
            },
        )
        entry["returned"] += row["units"]
        entry["reasons"][row["reason"]] = row["units"]
    for entry in rows.values():
        entry["rate"] = entry["returned"] / entry["sold"] if entry["sold"] else 0
        entry["reasons"] = sorted(entry["reasons"].items(), key=lambda item: -item[1])
    ranked = sorted(rows.values(), key=lambda e: (-e["returned"], -e["rate"], e["sku"]))
    return ranked[:limit]


def shipping_addresses_of(customer_ids) -> set[str]:
    """The shipping addresses of these customers' orders, compared loosely (case, spaces and
    punctuation left out): what a referral's same-address rule checks."""
    return {
        normalised_address(text)
        for text in Order.objects.filter(customer_id__in=customer_ids)
        .exclude(shipping_address="")
        .values_list("shipping_address", flat=True)
        .distinct()
    } - {""}


def normalised_address(text: str) -> str:
    return "".join(character for character in (text or "").casefold() if character.isalnum())


def store_purchases_between(since, until) -> list[dict]:
    """Sales that happened at a store (an order with a store, fulfilled or completed),
    placed in [since, until), oldest first: what ad platforms take as offline conversions."""
    return list(
        Order.objects.filter(
            kind=OrderKind.SALE,
            store__isnull=False,
            status__in=(OrderStatus.FULFILLED, OrderStatus.COMPLETED),
            placed_at__gte=since,
            placed_at__lt=until,
        )
        .exclude(number__isnull=True)
        .order_by("placed_at", "id")
        .values("number", "customer_id", "total", "currency", "placed_at")
    )


# --- Store-local marketing (campaigns' home store and "your size back in store") ---------
def store_purchases(*, customer_ids=None):
    """Per (customer, store): her sales orders naming a store (in store, pickup or ship from
    store; cancelled ones left out), as rows `who` (customer id), `place` (store id), `n`
    (orders) and `last` (when the latest was placed). A query set another app may use as
    a sub-query."""
    orders = Order.objects.filter(
        kind=OrderKind.SALE, store__isnull=False, customer__isnull=False
    ).exclude(status=OrderStatus.CANCELLED)
    if customer_ids is not None:
        orders = orders.filter(customer_id__in=list(customer_ids))
    return (
        orders.order_by()
        .values(who=F("customer_id"), place=F("store_id"))
        .annotate(n=Count("id"), last=Max("placed_at"))
    )


def buyers_of(*, product_id=None, size=None):
    """Ids of customers who bought (a sale, not cancelled) a variant of this product and/or
    of this size, as a sub-query (`pk__in=`)."""
    lines = OrderLine.objects.filter(
        order__kind=OrderKind.SALE, order__customer__isnull=False
    ).exclude(order__status=OrderStatus.CANCELLED)
    if product_id is not None:
        lines = lines.filter(variant__product_id=product_id)
    if size:
        lines = lines.filter(variant__size=size)
    return lines.order_by().values("order__customer_id")
