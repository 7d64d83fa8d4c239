"""Store-local marketing's demo stage: home stores worked out from the demo orders, a
segment of the busiest store's regulars, a coupon pool valid only there, and one of its
neighbours (customers living within 5 km), so the staff pages and the admin show them."""

import math
from decimal import Decimal

from django.db.models import Count

from campaigns.models import CouponPool, HomeStore, Segment
from campaigns.segment_words import describe
from campaigns.services.coupons import create_pool
from campaigns.services.store_local import refresh_home_stores
from core.models import Channel, ChannelKind
from customers.selectors import identity_values_of
from customers.services import resolve_customer
from inventory.selectors import active_locations

POOL_PREFIX = "MYSTORE10"


def seed_store_local(ctx):
    ctx.created("home stores", refresh_home_stores())
    stores = {location.pk: location for location in active_locations().filter(kind="store")}
    busiest = (
        HomeStore.objects.filter(store_id__in=stores)
        .values("store_id")
        .annotate(regulars=Count("id"))
        .order_by("-regulars", "store_id")
        .values_list("store_id", flat=True)
        .first()
    )
    store = stores.get(busiest) or next(iter(stores.values()), None)
    if store is None:
        return
    if store.latitude is not None:
        _place_regulars_near(ctx, store)
    segments = [({"home_store": store.code}, f"Regulars of {store.name}")]
    if store.latitude is not None:
        segments.append(
            ({"near_store": store.code, "within_km": 5}, f"Living within 5 km of {store.name}")
        )
    for rules, name in segments:
        Segment.objects.get_or_create(
            name=name,
            defaults={
                "description": "Store-local marketing (demo).",
                "rules": rules,
                "compiled_description": describe(rules),
            },
        )
        ctx.created("segments", 1)
    if not CouponPool.objects.filter(prefix=POOL_PREFIX).exists():
        create_pool(
            name=f"10% in {store.name} only",
            code_kind="shared",
            prefix=POOL_PREFIX,
            discount_kind="percentage",
            discount_value=Decimal("10"),
            max_uses_per_customer=1,
            allowed_channels=list(Channel.objects.filter(kind=ChannelKind.STORE)),
            allowed_stores=[store],
        )


def _place_regulars_near(ctx, store) -> None:
    """Her place is her own (identify traits), never her store's: the demo gives the store's
    regulars one a few km around it, through the same door a shop's identify call uses."""
    regulars = HomeStore.objects.filter(store=store).values("customer_id")
    emails = {}
    for customer_id, _kind, value in identity_values_of(regulars, ["email"]):
        emails.setdefault(customer_id, value)
    for index, value in enumerate(emails.values()):
        # Alternately ~1-4 km and ~8-15 km away, so "within 5 km" picks some of them.
        km = ctx.random.uniform(1, 4) if index % 2 == 0 else ctx.random.uniform(8, 15)
        bearing = ctx.random.uniform(0, 2 * math.pi)
        latitude = float(store.latitude) + km / 111.195 * math.cos(bearing)
        longitude = float(store.longitude) + km / (
            111.195 * math.cos(math.radians(float(store.latitude)))
        ) * math.sin(bearing)
        resolve_customer(
            [{"kind": "email", "value": value}],
            traits={"latitude": round(latitude, 6), "longitude": round(longitude, 6)},
            source="demo",
        )
