"""Store-local marketing: each customer's home store, "within N km of a store", coupons
limited to channels or stores, and "new stock of your size in your store".

Home store (the method). For every customer and store: her sales orders that name the store
(in store, pickup, ship from store; not cancelled; from orders.selectors.store_purchases)
plus her `store_visited` events whose `store_id` is the store's code or id (from
customers.selectors.store_visits). The store with the most of them is her home store; a tie
goes to the store she was at most recently, then to the lower store id. The ranking is ONE
SQL statement (a window function over the two grouped sub-queries) writing HomeStore rows:
in full by the daily beat (`campaigns.refresh_home_stores`), and for the customers whose
new orders or visits reached the timeline since the last look (an id cursor, every minute),
so a segment or a restock reads an index, not every customer's orders.

Distance. A customer's place is her own latitude/longitude (profile fields set by identify
traits or the admin); her home store's place is not hers. "Within N km of store X" is a
bounding box plus the haversine distance in SQL (customers.selectors.lives_within_km).

Restock. inventory sends `stock_replenished` when a variant's available units at a location
go from none to some; campaigns then records `size_back_in_store` on the timeline of each
customer whose home store it is, who bought or viewed the product, and who bought that size
before (any product), once per customer and variant per STORE_RESTOCK_WINDOW_DAYS. The
journey "size-back-in-store" (campaigns.services.defaults) sends from that event, and
`still_in_stock` stops it if the store sold out again before the send.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import HomeStore, PendingRestock
from campaigns.services.cursors import read_after
from catalog.selectors import translated, variants_by_id
from core.names import name_in_language
from customers.errors import CustomerErased
from customers.selectors import (
    events_after,
    had_event_with,
    known_customers,
    lives_within_km,
    store_visits,
    viewed_any,
)
from customers.services import record_event
from inventory.selectors import active_locations, available_at, location_by_code
from orders.errors import CouponRefused
from orders.selectors import buyers_of, store_purchases

logger = logging.getLogger("omni.campaigns")

SIZE_BACK_IN_STORE = "size_back_in_store"
HOME_STORE_EVENTS = ("order_completed", "store_visited")
HOME_STORE_CURSOR = "store_local.home_stores"
# campaigns/tasks.py's task, enqueued by name after a replenishment commits (campaigns/apps.py)
# and run by beat each minute as the sweep of what a broker that was down left waiting.
TELL_TASK = "campaigns.tell_size_back_in_store"


# --- home store ---------------------------------------------------------------------------


def store_keys() -> dict[str, int]:
    """{code or id as text: location id} of the active locations, the ways a store visit
    may name its store."""
    keys = {}
    for pk, code in active_locations().values_list("pk", "code"):
        keys[str(pk)] = pk
        keys[code] = pk
    return keys


def refresh_home_stores(*, customer_ids=None, now=None) -> int:
    """Work out the home store of every customer (or of `customer_ids`) again, in one SQL
    statement, replacing their HomeStore rows. Returns how many customers have one."""
    now = now or timezone.now()
    if customer_ids is not None:
        customer_ids = sorted(set(customer_ids))
        if not customer_ids:
            return 0
    # The other apps' compiled sub-queries (rows who, place, n, last) and our own table's
    # name are the only text formatted in; every value travels as a parameter.
    purchases, params = store_purchases(customer_ids=customer_ids).query.sql_with_params()
    parts = [
        'SELECT "who", "place", "n" AS purchases, 0 AS visits, "last" AS last_at '  # noqa: S608
        f"FROM ({purchases}) AS p"
    ]
    params = list(params)
    keys = store_keys()
    if keys:
        visits, found = store_visits(keys, customer_ids=customer_ids).query.sql_with_params()
        parts.append(f'SELECT "who", "place", 0, "n", "last" FROM ({visits}) AS v')  # noqa: S608
        params.extend(found)
    counted = " UNION ALL ".join(parts)
    # Only live, known, not erased customers get a home store (an erasure forgets hers).
    known, found = known_customers().order_by().values("pk").query.sql_with_params()
    params.extend(found)
    table = connection.ops.quote_name(HomeStore._meta.db_table)
    insert = (
        f"INSERT INTO {table} (customer_id, store_id, purchases, visits, last_at, refreshed_at) "  # noqa: S608
        "SELECT who, place, purchases, visits, last_at, %s FROM ("
        " SELECT who, place, SUM(purchases) AS purchases, SUM(visits) AS visits,"
        " MAX(last_at) AS last_at, ROW_NUMBER() OVER (PARTITION BY who"
        "  ORDER BY SUM(purchases) + SUM(visits) DESC, MAX(last_at) DESC, place) AS standing"
        f" FROM ({counted}) AS counted GROUP BY who, place"
        f") AS ranked WHERE standing = 1 AND who IN ({known})"
    )
    with transaction.atomic():
        stale = HomeStore.objects.all()
        if customer_ids is not None:
            stale = stale.filter(customer_id__in=customer_ids)
        stale.delete()
        with connection.cursor() as cursor:
            cursor.execute(insert, [connection.ops.adapt_datetimefield_value(now), *params])
            return cursor.rowcount


def refresh_recent_home_stores(*, limit=5000, now=None) -> int:
    """The customers with an order or a store visit on the timeline since the last look
    (an id cursor, so only committed ones): their home stores, worked out again."""
    with transaction.atomic():
        events = read_after(
            HOME_STORE_CURSOR, lambda after: events_after(after, HOME_STORE_EVENTS, limit=limit)
        )
        customer_ids = {event.customer_id for event in events}
        if not customer_ids:
            return 0
        return refresh_home_stores(customer_ids=customer_ids, now=now)


def home_store_of(customer) -> HomeStore | None:
    return HomeStore.objects.select_related("store").filter(customer=customer).first()


def export_home_store(customer) -> dict | None:
    """Her home store as her data export shows it."""
    home = home_store_of(customer)
    if home is None:
        return None
    return {
        "store": home.store.code,
        "orders_there": home.purchases,
        "visits_there": home.visits,
        "last_there": home.last_at.isoformat() if home.last_at else None,
    }


def erase_home_store(customer) -> None:
    """An erasure forgets where she shops (her orders' stores stay with the orders)."""
    HomeStore.objects.filter(customer=customer).delete()


def store_named(value, path: str, fail):
    """The active location a rule names by its code; `fail(path, message)` otherwise."""
    if not isinstance(value, str) or not value:
        fail(path, "Name a store by its code.")
    location = location_by_code(value)
    if location is None or not location.is_active:
        fail(path, f"No active store has the code {value!r}.")
    return location


def home_store_is(location) -> Q:
    """Customers whose home store is this location."""
    return Q(Exists(HomeStore.objects.filter(customer=OuterRef("pk"), store=location)))


def lives_near(location, km: float, path: str, fail) -> Q:
    """Customers who live within `km` of the location; the store must have coordinates."""
    if location.latitude is None or location.longitude is None:
        fail(path, f"The store {location.code} has no latitude and longitude.")
    return lives_within_km(float(location.latitude), float(location.longitude), float(km))


# --- coupons limited to channels or stores ---------------------------------------------------


def check_place(pool, code: str, *, channel=None, store=None) -> None:
    """Raise CouponRefused, naming the code, when the pool is limited to channels or stores
    and this order is placed elsewhere. An order naming no store passes the store limit only
    when the pool has none."""
    channel_ids = {c.pk for c in pool.allowed_channels.all()}
    if channel_ids and (channel is None or channel.pk not in channel_ids):
        names = ", ".join(sorted(str(c.name) for c in pool.allowed_channels.all()))
        raise CouponRefused(
            _("Coupon %(code)s cannot be used in %(channel)s: it is valid only in %(channels)s.")
            % {"code": code, "channel": getattr(channel, "name", "-"), "channels": names}
        )
    stores = list(pool.allowed_stores.all())
    if stores and (store is None or store.pk not in {s.pk for s in stores}):
        names = ", ".join(sorted(s.display_name for s in stores))
        if store is None:
            raise CouponRefused(
                _("Coupon %(code)s is valid only in these stores: %(stores)s.")
                % {"code": code, "stores": names}
            )
        raise CouponRefused(
            _("Coupon %(code)s cannot be used at %(store)s: it is valid only at %(stores)s.")
            % {"code": code, "store": store.display_name, "stores": names}
        )


# --- new stock of your size in your store ----------------------------------------------------


def waiting_customers(variant, location, *, now=None):
    """The customers to tell that `variant` is back at `location`: her home store is there,
    she bought or (in the last STORE_RESTOCK_VIEW_DAYS) viewed the product, she bought this
    size before (any variant without a size: anyone), and she was not told about this
    variant in the last STORE_RESTOCK_WINDOW_DAYS. One query."""
    now = now or timezone.now()
    product_id = variant.product_id
    skus = list(variant.product.variants.values_list("sku", flat=True))
    viewed_since = now - timedelta(days=settings.STORE_RESTOCK_VIEW_DAYS)
    told_since = now - timedelta(days=settings.STORE_RESTOCK_WINDOW_DAYS)
    customers = known_customers().filter(
        home_store_is(location),
        Q(pk__in=buyers_of(product_id=product_id))
        | Q(viewed_any(skus=skus, product_ids=[product_id], since=viewed_since)),
    )
    if variant.size:
        customers = customers.filter(pk__in=buyers_of(size=variant.size))
    return customers.exclude(
        had_event_with(SIZE_BACK_IN_STORE, since=told_since, variant_id=variant.pk)
    )


# Restocks told per run of the task or the sweep (each may tell a few customers).
RESTOCKS_PER_RUN = 200


def note_replenished(pairs) -> None:
    """Inside the stock movement's transaction (inventory's stock_replenished): remember each
    (variant id, location id) to tell about, so the telling survives a broker that is down.
    A pair remembered already stays one row."""
    PendingRestock.objects.bulk_create(
        [PendingRestock(variant_id=variant, store_id=location) for variant, location in pairs],
        ignore_conflicts=True,
    )


def tell_pending_restocks(*, now=None) -> int:
    """Tell the customers waiting for the remembered restocks (tell_size_back_in_store), then
    forget those restocks, in one transaction; rows another worker holds are left to it.
    The task after each movement's commit and the minute's sweep both call this. Returns how
    many customers were told."""
    with transaction.atomic():
        rows = list(
            PendingRestock.objects.select_for_update(skip_locked=True).order_by("id")[
                :RESTOCKS_PER_RUN
            ]
        )
        if not rows:
            return 0
        told = tell_size_back_in_store([(row.variant_id, row.store_id) for row in rows], now=now)
        PendingRestock.objects.filter(pk__in=[row.pk for row in rows]).delete()
    return told


def tell_size_back_in_store(pairs, *, now=None) -> int:
    """For each (variant id, location id) replenished: record `size_back_in_store` on each
    waiting customer's timeline (the journey sends from it). Idempotent: the event's
    message id names the customer, variant, store and day, and the window excludes anyone
    told already. Returns how many were told."""
    now = now or timezone.now()
    variants = variants_by_id({variant_id for variant_id, _location in pairs})
    locations = {loc.pk: loc for loc in active_locations()}
    told = 0
    for variant_id, location_id in sorted({tuple(pair) for pair in pairs}):
        variant, location = variants.get(variant_id), locations.get(location_id)
        if variant is None or location is None or available_at(variant_id, location_id) <= 0:
            continue
        for customer in waiting_customers(variant, location, now=now).order_by("pk"):
            language = customer.locale or None
            properties = {
                "product": translated(variant.product, language)[0],
                "product_id": variant.product_id,
                "variant_id": variant.pk,
                "sku": variant.sku,
                "size": variant.size,
                "colour": variant.colour,
                "store": name_in_language(location.names, location.name, language),
                "store_id": location.code,
                "location_id": location.pk,
            }
            try:
                _event, created = record_event(
                    customer,
                    SIZE_BACK_IN_STORE,
                    properties=properties,
                    occurred_at=now,
                    message_id=(
                        f"campaigns:restock:{customer.pk}:{variant.pk}:{location.pk}:{now:%Y%m%d}"
                    ),
                    source="campaigns",
                )
            except CustomerErased:
                continue
            told += int(created)
    return told


def still_in_stock(run) -> bool:
    """A journey's send check: a run started by `size_back_in_store` sends only while the
    store still has the variant; a run of any other trigger is not concerned."""
    if run.journey.trigger != SIZE_BACK_IN_STORE:
        return True
    context = run.context or {}
    variant_id, location_id = context.get("variant_id"), context.get("location_id")
    if not isinstance(variant_id, int) or not isinstance(location_id, int):
        return False
    return available_at(variant_id, location_id) > 0
