"""Store-local marketing's demo stage: home stores worked out from the demo orders, a
segment of the busiest store's regulars, a coupon pool valid only there, and one of its
neighbours (customers living within 5 km), so the staff pages and the admin show them."""

from decimal import Decimal

from django.db.models import Count

from campaigns.models import CouponPool, HomeStore, Segment
from campaigns.segment_words import describe
from campaigns.services.coupons import create_pool
from campaigns.services.store_local import refresh_home_stores
from core.demo import register_stage
from core.models import Channel, ChannelKind
from inventory.selectors import active_locations

POOL_PREFIX = "MYSTORE10"


@register_stage("campaigns.store_local", order=72, label="Home stores and store coupons")
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
        ctx.created("coupon pools", 1)
