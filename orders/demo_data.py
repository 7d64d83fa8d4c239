"""Demo data of orders: Sara Rahimi's shoe-buyer journey (DESIGN story 1) from the cart in
the app to the collected defective pair, and orders in every channel and fulfilment method
with returns, exchanges, cancellations and carts, all made through the services so stock,
timelines and the outbox are real."""

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from catalog.selectors import listed_variants, variants_of_product
from core.api.errors import DomainError
from core.demo import register_stage, story_clock
from core.models import Channel
from customers.normalise import IdentityKey
from customers.selectors import customer_for_identity, phones_of
from customers.services import record_event, track_event
from inventory.selectors import allocation_order, location_by_code, rule_for, stock_by_location
from orders import services
from orders.factories import DEFAULT_ADDRESS
from orders.models import Order

logger = logging.getLogger(__name__)

SARA_ORDER = "demo-sara-web-1"
ADDRESS = {
    "name": "Sara Rahimi",
    "phone": "+989121234567",
    "address": "12 Vali-Asr Ave, Unit 4",
    "city": "Tehran",
    "postcode": "1415893",
    "country": "IR",
}
# channel code -> (share of the random orders, fulfilment methods it uses)
MIX = {
    "web": (30, ["ship", "ship", "pickup_in_store", "ship_from_store"]),
    "app": (20, ["ship", "pickup_in_store"]),
    "store": (20, ["in_store", "in_store", "ship_from_store"]),
    "phone": (10, ["ship"]),
    "instagram": (8, ["ship"]),
    "catalogue": (6, ["ship"]),
    "marketplace": (6, ["ship"]),
}


def _store_with(variant, exclude=()):
    """An Iranian store holding an available unit of `variant` (Tajrish first)."""
    levels = stock_by_location([variant]).get(variant.pk, [])
    stores = [
        lv.location
        for lv in levels
        if lv.location.kind == "store"
        and lv.location.country == "IR"
        and lv.available > 0
        and lv.location.code not in exclude
    ]
    stores.sort(key=lambda loc: loc.code != "teh-tajrish")
    return stores[0] if stores else None


def _store(code):
    return location_by_code(code)


@register_stage("orders.journeys", order=50, label="Orders, returns, carts")
def seed_orders(ctx):
    channels = {c.code: c for c in Channel.objects.all()}
    if "web" not in channels or Order.objects.filter(external_id=SARA_ORDER).exists():
        return
    sara = ctx.shared.get("sara")
    if sara is None:
        sara = customer_for_identity(IdentityKey("email", "sara@example.com"))
    if sara is not None:
        _sara(ctx, sara, channels)
    _many(ctx, channels)
    _split(ctx, channels)


def _split(ctx, channels):
    """A web order whose line no single location holds, split across two (the web shop's
    rule allows it), one part already shipped: its parts show on the order page."""
    customers = [c for c in ctx.shared.get("customers", []) if not c.is_anonymous]
    web = channels["web"]
    if not customers or not rule_for(web).may_split_lines:
        return
    for variant in listed_variants(web).order_by("id")[:200]:
        units = sorted((u for _loc, u in allocation_order(variant, web) if u > 0), reverse=True)
        if len(units) < 2:
            continue
        quantity = units[0] + 1
        try:
            with transaction.atomic():
                order = services.place_order(
                    customer=customers[0],
                    channel=web,
                    external_id="demo-split-1",
                    lines=[{"sku": variant.sku, "quantity": quantity}],
                    shipping=ADDRESS,
                    payment_status="paid",
                    notes="Split across two locations: no single one held the pair.",
                ).order
                part = order.lines.get().parts.order_by("id").first()
                if part is None:
                    raise DomainError("not split")
                services.fulfil(order, part_ids=[part.pk], carrier="Post", tracking_number="DEMO-1")
        except DomainError:
            continue
        ctx.created("split orders", 1)
        return


def _sara(ctx, sara, channels):
    """Cart in the app, order on the web, a second colour by phone, an exchange in a store, a
    defect on Instagram, a replacement from the printed catalogue, the pair collected."""
    variants = {v.colour: v for v in variants_of_product("aria-runner").filter(size="38")}
    if not {"black", "white", "red"} <= set(variants):
        logger.warning("Aria Runner in black/white/red 38 is missing: Sara's journey skipped")
        return
    black, red, white = variants["black"], variants["red"], variants["white"]
    # The story over two weeks, after her research on the phone (customers' stage, 12 days
    # ago): each step at its own date, so her timeline reads in the order she lived it.
    start = timezone.now() - dt.timedelta(days=11)
    day = {
        "cart": start,
        "order": start + dt.timedelta(hours=26),
        "phone": start + dt.timedelta(days=2, hours=3),
        "shipped": start + dt.timedelta(days=3),
        "store": start + dt.timedelta(days=5, hours=6),
        "defect": start + dt.timedelta(days=8, hours=2),
        "replacement": start + dt.timedelta(days=8, hours=6),
        "delivered": start + dt.timedelta(days=9, hours=4),
        "collected": start + dt.timedelta(days=9, hours=5),
    }
    ctx.shared["sara_defect_at"] = day["defect"]
    try:
        with transaction.atomic():
            with story_clock(day["cart"]):
                cart = services.cart_for(sara, "app")
                services.add_to_cart(cart, sku=black.sku, channel="app")
            with story_clock(day["order"]):
                order = services.place_order(
                    customer=sara,
                    channel="web",
                    external_id=SARA_ORDER,
                    lines=[{"sku": black.sku, "quantity": 1}],
                    shipping=ADDRESS,
                    payment_status="paid",
                    payment_reference="demo-psp-9921",
                    notes="Ordered from her laptop after comparing prices.",
                ).order
            with story_clock(day["phone"]):
                services.add_line(order, sku=red.sku, quantity=1, channel="phone")
            with story_clock(day["shipped"]):
                services.fulfil(
                    order, channel="web", carrier="Iran Post", tracking_number="IRP-556677"
                )
            # At the Tajrish counter when it has a white pair (else the store that has one);
            # with none in any store, the white pair is shipped to her.
            store = _store_with(white)
            counter = store or _store("teh-tajrish")
            red_line = order.lines.get(sku=red.sku)
            if counter is not None:
                with story_clock(day["store"]):
                    services.exchange(
                        order,
                        return_lines=[{"line_id": red_line.pk, "quantity": 1, "reason": "colour"}],
                        new_lines=[{"sku": white.sku, "quantity": 1}],
                        channel="store",
                        location=counter,
                        hand_over=store is not None,
                        note="Prefers white after seeing it in the store.",
                    )
            with story_clock(day["defect"]):
                track_event(
                    [{"kind": "email", "value": "sara@example.com"}],
                    "defect_reported",
                    channel="instagram",
                    properties={
                        "order_id": order.number,
                        "sku": black.sku,
                        "issue": "sole coming off",
                    },
                    message_id=f"demo-sara-defect-{order.number}",
                    source="demo",
                )
            black_line = order.lines.get(sku=black.sku)
            # She picks the new pair from the printed catalogue; the request itself came
            # through her Instagram conversation, so the replacement is filed there.
            with story_clock(day["replacement"]):
                replacement = services.create_replacement(
                    order,
                    lines=[{"line_id": black_line.pk, "quantity": 1}],
                    channel="instagram",
                    carrier="Tipax courier",
                    note="Sole coming off after a week; new pair chosen from the printed "
                    "catalogue; reported on Instagram.",
                )
            with story_clock(day["delivered"]):
                services.fulfil(
                    replacement.new_order, carrier="Tipax courier", tracking_number="TPX-1001"
                )
            with story_clock(day["collected"]):
                services.collect_pickup(replacement.return_request.courier_pickup)
                services.complete_order(order)
    except DomainError as error:
        logger.warning("Sara's journey stopped: %s", error.message)
        return
    ctx.created("Sara's journey orders", 3)


def _researched_online(order, variant, channels, rnd, *, index):
    """Most store buyers looked at the pair on the web shop or in the app a few days before
    (story 5: research online, buy offline), so the ready-made segment and the attribution
    report have real members in the demo."""
    online = [channels[code] for code in ("web", "app") if code in channels]
    if not online:
        return
    days_before = dt.timedelta(days=rnd.randint(1, 12), hours=rnd.randint(0, 20))
    record_event(
        order.customer,
        "product_viewed",
        channel=rnd.choice(online),
        occurred_at=order.placed_at - days_before,
        properties={"sku": variant.sku, "product_id": str(variant.product_id)},
        message_id=f"demo-research-{index}",
        source="demo",
    )


def _many(ctx, channels):
    """Random orders in every channel and method; some fulfilled, completed, cancelled,
    returned or exchanged; a few carts left active and abandoned."""
    customers = [c for c in ctx.shared.get("customers", []) if not c.is_anonymous][:200]
    if not customers:
        return
    # Each order ships to its own customer's phone (none if she gave none), never Sara's.
    phones = phones_of([customer.pk for customer in customers])
    rnd = ctx.random
    web_variants = list(listed_variants(channels["web"]).order_by("id")[:120])
    if not web_variants:
        return
    market = (
        list(listed_variants(channels["marketplace"]).order_by("id")[:60])
        if "marketplace" in channels
        else []
    )
    codes = [code for code in MIX if code in channels]
    weights = [MIX[code][0] for code in codes]
    made = returned = exchanged = cancelled = 0
    # Every channel and every method at least once, then a weighted mix.
    plan = [(code, method) for code in codes for method in dict.fromkeys(MIX[code][1])]
    while len(plan) < ctx.scale(40):
        code = rnd.choices(codes, weights)[0]
        plan.append((code, rnd.choice(MIX[code][1])))
    for _index, (code, method) in enumerate(ctx.progress(plan, "Orders")):
        pool = market if code == "marketplace" else web_variants
        if not pool:
            continue
        picked = rnd.sample(pool, k=min(len(pool), rnd.randint(1, 3)))
        customer = rnd.choice(customers)
        store = None
        if method != "ship":
            store = _store_with(picked[0])
            if store is None or (method == "ship_from_store" and not store.ships_from_store):
                method = "ship" if code != "store" else "in_store"
                store = store or _store_with(picked[0])
                if store is None and method == "in_store":
                    continue
            picked = picked[:1]
        address = {
            **DEFAULT_ADDRESS,
            "name": str(customer),
            "phone": phones.get(customer.pk, ""),
            "address": ctx.faker("en_US").street_address(),
        }
        try:
            with transaction.atomic():
                order = services.place_order(
                    customer=customer,
                    channel=code,
                    lines=[{"sku": v.sku, "quantity": 1} for v in picked],
                    fulfilment_method=method,
                    store=store,
                    shipping=address,
                    payment_status="paid" if rnd.random() < 0.8 else "pending",
                    external_id=f"demo-{code}-{_index}",
                ).order
                order.refresh_from_db()
                if code == "store" and rnd.random() < 0.7:
                    _researched_online(order, picked[0], channels, rnd, index=_index)
                roll = rnd.random()
                if order.status == "placed" and (roll < 0.1 or _index == 1):
                    services.cancel_order(order, reason="customer changed mind")
                    cancelled += 1
                elif order.status == "placed" and roll < 0.8:
                    services.fulfil(order, carrier="Iran Post")
                order.refresh_from_db()
                if order.status == "fulfilled":
                    line = order.lines.first()
                    after = rnd.random()
                    if after < 0.12:
                        back_to = _store_with(line.variant) or line.location
                        services.create_return(
                            order,
                            lines=[
                                {
                                    "line_id": line.pk,
                                    "quantity": 1,
                                    "reason": rnd.choice(["size", "changed_mind", "defect"]),
                                }
                            ],
                            channel=rnd.choice(["store", code]),
                            location=back_to,
                            receive=True,
                        )
                        returned += 1
                    elif after < 0.2:
                        other = rnd.choice(web_variants)
                        at = _store_with(other)
                        same_money = order.currency == channels["store"].currency
                        if at is not None and other.pk != line.variant_id and same_money:
                            services.exchange(
                                order,
                                return_lines=[
                                    {"line_id": line.pk, "quantity": 1, "reason": "size"}
                                ],
                                new_lines=[{"sku": other.sku, "quantity": 1}],
                                channel="store",
                                location=at,
                            )
                            exchanged += 1
                    elif after < 0.6:
                        services.complete_order(order)
                made += 1
        except DomainError:
            continue  # e.g. the random pick was out of stock: skip it, as a shop would
    # Carts: the first half left long enough to be abandoned (detected as the beat would,
    # an hour and a half from now), the rest still active.
    shoppers = rnd.sample(customers, k=min(len(customers), ctx.scale(8)))
    half = len(shoppers) // 2
    for position, customer in enumerate(shoppers):
        if position == half:
            services.detect_abandoned_carts(now=timezone.now() + dt.timedelta(minutes=90))
        try:
            cart = services.cart_for(customer, rnd.choice(["web", "app"]))
            services.add_to_cart(cart, sku=rnd.choice(web_variants).sku, channel=cart.last_channel)
        except DomainError:
            continue
    ctx.created("orders", made)
    ctx.created("returns", returned)
    ctx.created("exchanges", exchanged)
    ctx.created("cancelled orders", cancelled)
