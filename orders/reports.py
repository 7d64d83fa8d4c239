"""Reports on purchases (reads only): sales and orders per day by channel and currency, today
against the same weekday last week, research online buy offline (ROPO) and the channel
journeys before a purchase.

Money is never added across currencies: every amount is per currency. Purchases are sale
orders that were not cancelled. A touch is a customer timeline event with a channel
(read through customers.selectors.events_of_customers).
"""

from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from catalog.selectors import products_and_categories_by_sku
from core.names import name_in_language
from customers.selectors import events_of_customers
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


def customer_sales():
    """Every sale order of a known customer that was not cancelled (any day)."""
    return Order.objects.filter(kind=OrderKind.SALE, customer__isnull=False).exclude(
        status=OrderStatus.CANCELLED
    )


def units_of_orders(order_ids):
    """(order id, product name, units) of every line of these orders."""
    return OrderLine.objects.filter(order_id__in=list(order_ids)).values_list(
        "order_id", "product_name", "quantity"
    )


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


def _product_keys(events) -> dict:
    """(sku, product_id) of product events -> (product id, category name) of the product."""
    skus = {str(e["properties"].get("sku")) for e in events if e["properties"].get("sku")}
    return products_and_categories_by_sku(skus)


def ropo_facts(since: date, until: date, *, lookback: int = 30) -> list[dict]:
    """Per store or phone purchase placed since..until: its local day, its store (a phone
    purchase without a store: its channel) and, per category it bought in, how many whole
    days before it the customer last viewed (on the web or in the app, within `lookback`
    days) a product of that category or its very product: {category: (category_gap,
    product_gap)}, None where there was no such view. Whole days are rounded up, so a view
    is within N days of the purchase exactly when its gap is at most N."""
    orders = list(
        purchases(since, until)
        .filter(channel__kind__in=OFFLINE_KINDS)
        .values_list("pk", "customer_id", "placed_at", "store__name", "channel__name", named=True)
        .order_by("placed_at", "id")
    )
    bought: dict = defaultdict(lambda: defaultdict(set))
    for order_id, product_id, category in (
        OrderLine.objects.filter(order__in=[o.pk for o in orders])
        .values_list("order_id", "variant__product_id", "variant__product__category__name")
        .order_by()
    ):
        bought[order_id][category or ""].add(product_id)
    views = list(
        events_of_customers(
            {o.customer_id for o in orders},
            start_of(since) - timedelta(days=lookback),
            start_of(until + timedelta(days=1)),
            names=PRODUCT_EVENTS,
            channel_kinds=RESEARCH_KINDS,
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
    facts = []
    for order in orders:
        window = [
            (_whole_days(order.placed_at - when), product_id, category)
            for when, product_id, category in looked[order.customer_id]
            if order.placed_at - timedelta(days=lookback) <= when < order.placed_at
        ]
        categories = {}
        for category, products in bought.get(order.pk, {}).items():
            product_gap = min((g for g, p, _c in window if p in products), default=None)
            category_gap = min(
                (g for g, p, c in window if (category and c == category) or p in products),
                default=None,
            )
            categories[category] = (category_gap, product_gap)
        facts.append(
            {
                "day": timezone.localtime(order.placed_at).date(),
                "store": order.store__name or order.channel__name,
                "categories": categories,
            }
        )
    return facts


def _whole_days(gap: timedelta) -> int:
    return max(-(-int(gap.total_seconds()) // 86400), 0)


def _min_gap(gaps):
    return min((gap for gap in gaps if gap is not None), default=None)


def ropo_counts(facts) -> tuple[Counter, Counter]:
    """The facts counted as (day, category, gap, product gap) and (day, store, gap, product
    gap), the form the daily rollup keeps them in."""
    by_category: Counter = Counter()
    by_store: Counter = Counter()
    for fact in facts:
        for category, (gap, product_gap) in fact["categories"].items():
            by_category[(fact["day"], category, gap, product_gap)] += 1
        gaps = fact["categories"].values()
        store_gap = _min_gap(g for g, _p in gaps)
        store_product_gap = _min_gap(p for _g, p in gaps)
        by_store[(fact["day"], fact["store"], store_gap, store_product_gap)] += 1
    return by_category, by_store


def ropo_from_counts(by_category: Counter, by_store: Counter, *, days: int) -> dict:
    """The ROPO report for a window of `days` from counted facts."""

    def tally(counts):
        groups: dict = defaultdict(lambda: {"purchases": 0, "researched": 0, "same_product": 0})
        for (_day, name, gap, product_gap), n in counts.items():
            entry = groups[name]
            entry["purchases"] += n
            entry["researched"] += n if gap is not None and gap <= days else 0
            entry["same_product"] += n if product_gap is not None and product_gap <= days else 0
        return groups

    categories, stores = tally(by_category), tally(by_store)
    total = {"purchases": 0, "researched": 0, "same_product": 0}
    for entry in stores.values():
        for key in total:
            total[key] += entry[key]
    return {
        "days": days,
        "total": _with_share(total),
        "by_category": [
            {"category": name, **_with_share(entry)}
            for name, entry in sorted(categories.items(), key=lambda i: (-i[1]["purchases"], i[0]))
        ],
        "by_store": [
            {"store": name, **_with_share(entry)}
            for name, entry in sorted(stores.items(), key=lambda i: (-i[1]["purchases"], i[0]))
        ],
    }


def ropo(since: date, until: date, *, days: int = 30) -> dict:
    """Research online, buy offline, from the raw rows: of the store and phone purchases
    placed since..until, the share preceded by a web or app view (or another product event)
    of the same product or of a product of the same category, by the same customer, within
    `days` days before the purchase. By category and by store.

    A purchase counts once overall and once in each category it bought in; "same product"
    counts purchases whose very product was looked at."""
    by_category, by_store = ropo_counts(ropo_facts(since, until, lookback=days))
    return ropo_from_counts(by_category, by_store, days=days)


def _with_share(entry):
    purchases_ = entry["purchases"]
    return {**entry, "share": round(entry["researched"] / purchases_, 4) if purchases_ else 0.0}


def _days_before(gap: timedelta) -> int:
    """Whole days, rounded up: a touch is within a window of N days iff this is <= N."""
    return gap.days + (1 if gap.seconds or gap.microseconds else 0)


def journey_runs(since: date, until: date, *, lookback: int = ROPO_MAX_DAYS) -> Counter:
    """(local day of the purchase, the purchase's channel kind, the kinds of the last four
    runs of touches before it, oldest first, and for each run the whole days between its
    last touch and the purchase) -> purchases, for the purchases placed since..until, over
    the customer's touches in the `lookback` days before each.

    A run is touches of one kind in a row. The touches of a shorter window are a suffix in
    time of these, so its runs are the runs whose last touch is inside it (the first one
    perhaps cut, still one step): any window up to `lookback` is `journey_steps` of this."""
    orders = list(
        purchases(since, until)
        .values_list("customer_id", "placed_at", "channel__kind")
        .order_by("placed_at", "id")
    )
    touches: dict = defaultdict(list)
    for customer_id, when, kind in (
        events_of_customers(
            {o[0] for o in orders},
            start_of(since) - timedelta(days=lookback),
            start_of(until + timedelta(days=1)),
            on_a_channel=True,
            excluding=NOT_TOUCHES,
        )
        .values_list("customer_id", "occurred_at", "channel__kind")
        .order_by("occurred_at", "id")
    ):
        touches[customer_id].append((when, kind))
    counter: Counter = Counter()
    for customer_id, placed_at, kind in orders:
        runs: list = []  # [kind, its last touch]
        for when, touch_kind in touches[customer_id]:
            if placed_at - timedelta(days=lookback) <= when < placed_at:
                if runs and runs[-1][0] == touch_kind:
                    runs[-1][1] = when
                else:
                    runs.append([touch_kind, when])
        runs = runs[-JOURNEY_STEPS:]
        counter[
            (
                timezone.localtime(placed_at).date(),
                kind,
                tuple(run_kind for run_kind, _last in runs),
                tuple(_days_before(placed_at - last) for _kind, last in runs),
            )
        ] += 1
    return counter


def journey_steps(purchase_kind: str, kinds, days_before, *, days: int) -> tuple:
    """The journey of one purchase in a window of `days` days, from its runs (journey_runs):
    the kinds of the runs with a touch inside the window, ending with the purchase's own
    kind (once, if the last run was of it too), the last four kept."""
    return steps_of(
        purchase_kind, [k for k, d in zip(kinds, days_before, strict=True) if d <= days]
    )


def steps_of(purchase_kind: str, kinds_in_window) -> tuple:
    steps = list(kinds_in_window)
    if not steps or steps[-1] != purchase_kind:
        steps.append(purchase_kind)
    return tuple(steps[-JOURNEY_STEPS:])


def journey_counts(since: date, until: date, *, days: int = 30) -> Counter:
    """(local day of the purchase, channel kinds in order) -> purchases, for the purchases
    placed since..until: the kinds of the customer's touches in the `days` days before,
    repeats in a row once, ending with the purchase's own channel, the last four kept."""
    counter: Counter = Counter()
    for (day, kind, kinds, days_before), n in journey_runs(since, until, lookback=days).items():
        counter[(day, journey_steps(kind, kinds, days_before, days=days))] += n
    return counter


def journeys_from_counts(counts: Counter, *, days: int, limit: int = 15) -> dict:
    by_steps: Counter = Counter()
    for (_day, steps), n in counts.items():
        by_steps[tuple(steps)] += n
    ranked = sorted(by_steps.items(), key=lambda item: (-item[1], len(item[0]), item[0]))
    return {
        "days": days,
        "purchases": sum(by_steps.values()),
        "multichannel": sum(n for steps, n in by_steps.items() if len(steps) > 1),
        "journeys": [{"steps": list(steps), "purchases": n} for steps, n in ranked[:limit]],
    }


def channel_journeys(since: date, until: date, *, days: int = 30, limit: int = 15) -> dict:
    """The most common sequences of channel kinds a customer went through in the `days` days
    before each purchase placed since..until, ending with the purchase's own channel:
    "instagram → web → store", from the raw rows."""
    return journeys_from_counts(journey_counts(since, until, days=days), days=days, limit=limit)
