"""Reports on purchases (reads only): sales and orders per day by channel and currency, today
against the same weekday last week, research online buy offline (ROPO) and the channel
journeys before a purchase.

Money is never added across currencies: every amount is per currency. Purchases are sale
orders that were not cancelled. A touch is a customer timeline event with a channel
(customers.Event, read through its public model as campaigns' attribution does).
"""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from catalog.models import ProductVariant
from core.names import name_in_language
from customers.models import Event
from orders.models import Order, OrderKind, OrderLine, OrderStatus

# Where a customer researches: the web shop and the app.
RESEARCH_KINDS = ("web", "mobile_app")
# Purchases made offline (story 5): in a store or by phone.
OFFLINE_KINDS = ("store", "phone")
# Timeline events that show interest in a product.
PRODUCT_EVENTS = (
    "product_viewed",
    "product_added_to_cart",
    "wishlist_added",
    "review_read",
    "price_compared",
)
# Events that are the purchase itself, never a touch before it.
NOT_TOUCHES = ("order_completed", "order_refunded", "cart_converted")
JOURNEY_STEPS = 4
ROPO_MAX_DAYS = 365


def start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def purchases(since: date, until: date, *, channel=None):
    """Sale orders placed on the days since..until (local days, both included), not cancelled."""
    orders = Order.objects.filter(
        kind=OrderKind.SALE,
        placed_at__gte=start_of(since),
        placed_at__lt=start_of(until + timedelta(days=1)),
    ).exclude(status=OrderStatus.CANCELLED)
    if channel:
        orders = orders.filter(channel__code=channel)
    return orders


def sales_by_day(since: date, until: date, *, channel=None) -> list[dict]:
    """[{day, channel, channel_name, currency, orders, revenue}] per local day, channel and
    currency. One grouped query."""
    rows = (
        purchases(since, until, channel=channel)
        .annotate(day=TruncDate("placed_at", tzinfo=timezone.get_current_timezone()))
        .values("day", "channel__code", "channel__name", "channel__names", "currency")
        .annotate(orders=Count("id"), revenue=Sum("total"))
        .order_by("day", "channel__code", "currency")
    )
    return [
        {
            "day": row["day"],
            "channel": row["channel__code"],
            "channel_name": name_in_language(row["channel__names"], row["channel__name"]),
            "currency": row["currency"],
            "orders": row["orders"],
            "revenue": (row["revenue"] or Decimal(0)).quantize(Decimal("0.01")),
        }
        for row in rows
    ]


def today_against_last_week(*, channel=None, now=None) -> list[dict]:
    """Orders and revenue today so far against the same weekday a week ago up to the same
    time, per channel and currency: [{channel, channel_name, currency, today_orders,
    today_revenue, last_week_orders, last_week_revenue}]."""
    now = timezone.localtime(now)
    today_start = start_of(now.date())
    periods = {
        "today": (today_start, now),
        "last_week": (today_start - timedelta(days=7), now - timedelta(days=7)),
    }
    figures: dict = {}
    for name, (start, end) in periods.items():
        orders = Order.objects.filter(
            kind=OrderKind.SALE, placed_at__gte=start, placed_at__lte=end
        ).exclude(status=OrderStatus.CANCELLED)
        if channel:
            orders = orders.filter(channel__code=channel)
        for row in (
            orders.values("channel__code", "channel__name", "channel__names", "currency")
            .annotate(orders=Count("id"), revenue=Sum("total"))
            .order_by()
        ):
            key = (row["channel__code"], row["currency"])
            entry = figures.setdefault(
                key,
                {
                    "channel": row["channel__code"],
                    "channel_name": name_in_language(row["channel__names"], row["channel__name"]),
                    "currency": row["currency"],
                    "today_orders": 0,
                    "today_revenue": Decimal(0),
                    "last_week_orders": 0,
                    "last_week_revenue": Decimal(0),
                },
            )
            entry[f"{name}_orders"] = row["orders"]
            entry[f"{name}_revenue"] = row["revenue"] or Decimal(0)
    return [figures[key] for key in sorted(figures)]


@dataclass
class _Purchase:
    order_id: int
    customer_id: int
    placed_at: datetime
    store: str
    categories: dict  # category name -> set of product ids bought in it


def _product_keys(events) -> dict:
    """(sku, product_id) of product events -> (product id, category name) of the product."""
    skus = {str(e["properties"].get("sku")) for e in events if e["properties"].get("sku")}
    by_sku = {
        sku: (product_id, category)
        for sku, product_id, category in ProductVariant.objects.filter(sku__in=skus).values_list(
            "sku", "product_id", "product__category__name"
        )
    }
    return by_sku


def ropo(since: date, until: date, *, days: int = 30) -> dict:
    """Research online, buy offline: of the store and phone purchases placed since..until, the
    share preceded by a web or app view (or another product event) of the same product or
    of a product of the same category, by the same customer, within `days` days before the
    purchase. By category and by store (a phone purchase without a store: its channel).

    A purchase counts once overall and once in each category it bought in; "same product"
    counts purchases whose very product was looked at."""
    orders = list(
        purchases(since, until)
        .filter(channel__kind__in=OFFLINE_KINDS)
        .select_related("store", "channel")
        .order_by("placed_at", "id")
    )
    lines = (
        OrderLine.objects.filter(order__in=[o.pk for o in orders])
        .values_list("order_id", "variant__product_id", "variant__product__category__name")
        .order_by()
    )
    bought: dict = defaultdict(lambda: defaultdict(set))
    for order_id, product_id, category in lines:
        bought[order_id][category or ""].add(product_id)
    items = [
        _Purchase(
            o.pk,
            o.customer_id,
            o.placed_at,
            o.store.name if o.store_id else o.channel.name,
            bought.get(o.pk, {}),
        )
        for o in orders
    ]
    earliest = start_of(since) - timedelta(days=days)
    views = list(
        Event.objects.filter(
            customer_id__in={p.customer_id for p in items},
            name__in=PRODUCT_EVENTS,
            channel__kind__in=RESEARCH_KINDS,
            occurred_at__gte=earliest,
            occurred_at__lt=start_of(until + timedelta(days=1)),
        ).values("customer_id", "occurred_at", "properties")
    )
    by_sku = _product_keys(views)
    looked: dict = defaultdict(list)  # customer -> [(when, product id, category)]
    for view in views:
        props = view["properties"] if isinstance(view["properties"], dict) else {}
        product_id, category = by_sku.get(str(props.get("sku")), (None, None))
        if product_id is None and str(props.get("product_id", "")).isdigit():
            product_id = int(props["product_id"])
        if category is None and props.get("category"):
            category = str(props["category"])
        looked[view["customer_id"]].append((view["occurred_at"], product_id, category))

    total = {"purchases": 0, "researched": 0, "same_product": 0}
    by_category: dict = defaultdict(lambda: {"purchases": 0, "researched": 0, "same_product": 0})
    by_store: dict = defaultdict(lambda: {"purchases": 0, "researched": 0, "same_product": 0})
    for purchase in items:
        window = [
            (product_id, category)
            for when, product_id, category in looked[purchase.customer_id]
            if purchase.placed_at - timedelta(days=days) <= when < purchase.placed_at
        ]
        seen_products = {product_id for product_id, _category in window if product_id}
        seen_categories = {category for _product, category in window if category}
        any_research = any_product = False
        for category, products in purchase.categories.items():
            same_product = bool(products & seen_products)
            researched = same_product or bool(category and category in seen_categories)
            entry = by_category[category]
            entry["purchases"] += 1
            entry["researched"] += researched
            entry["same_product"] += same_product
            any_research |= researched
            any_product |= same_product
        for entry in (total, by_store[purchase.store]):
            entry["purchases"] += 1
            entry["researched"] += any_research
            entry["same_product"] += any_product
    return {
        "days": days,
        "total": _with_share(total),
        "by_category": [
            {"category": name, **_with_share(entry)}
            for name, entry in sorted(by_category.items(), key=lambda i: (-i[1]["purchases"], i[0]))
        ],
        "by_store": [
            {"store": name, **_with_share(entry)}
            for name, entry in sorted(by_store.items(), key=lambda i: (-i[1]["purchases"], i[0]))
        ],
    }


def _with_share(entry):
    purchases_ = entry["purchases"]
    return {**entry, "share": round(entry["researched"] / purchases_, 4) if purchases_ else 0.0}


def channel_journeys(since: date, until: date, *, days: int = 30, limit: int = 15) -> dict:
    """The most common sequences of channel kinds a customer went through in the `days` days
    before each purchase placed since..until, ending with the purchase's own channel:
    "instagram → web → store". Repeats in a row count once; the last four steps are kept."""
    orders = list(
        purchases(since, until)
        .values_list("customer_id", "placed_at", "channel__kind")
        .order_by("placed_at", "id")
    )
    touches: dict = defaultdict(list)
    for customer_id, when, kind in (
        Event.objects.filter(
            customer_id__in={o[0] for o in orders},
            channel__isnull=False,
            occurred_at__gte=start_of(since) - timedelta(days=days),
            occurred_at__lt=start_of(until + timedelta(days=1)),
        )
        .exclude(name__in=NOT_TOUCHES)
        .values_list("customer_id", "occurred_at", "channel__kind")
        .order_by("occurred_at", "id")
    ):
        touches[customer_id].append((when, kind))
    counter: Counter = Counter()
    for customer_id, placed_at, kind in orders:
        steps = []
        for when, touch_kind in touches[customer_id]:
            if placed_at - timedelta(days=days) <= when < placed_at:
                if not steps or steps[-1] != touch_kind:
                    steps.append(touch_kind)
        if not steps or steps[-1] != kind:
            steps.append(kind)
        counter[tuple(steps[-JOURNEY_STEPS:])] += 1
    ranked = sorted(counter.items(), key=lambda item: (-item[1], len(item[0]), item[0]))
    return {
        "days": days,
        "purchases": len(orders),
        "multichannel": sum(n for steps, n in counter.items() if len(steps) > 1),
        "journeys": [{"steps": list(steps), "purchases": n} for steps, n in ranked[:limit]],
    }
