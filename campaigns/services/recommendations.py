"""Recommendations and the next-best offer: which products to show a customer in a channel,
in sizes she can get, and the best offer she may use. One answer for every door: the partner
API (the shop, the app, the POS screen) and the email/SMS templates (`recommendations`).

The method, in full (no model is trained; every figure can be checked by hand):

1. Signals. From the timeline, over the last WINDOW_DAYS days: `order_completed` (each line's
   SKU: a purchase), `product_added_to_cart` and `product_viewed` (their `sku`). A SKU is
   turned into its product through the catalog; an event naming only a `product_id` is
   skipped (a partner's product id is not ours). Every signal is weighted by its recency:

       decay(t) = 0.5 ** (age_in_days(t) / HALF_LIFE_DAYS)

   For a customer c and a product x:
       P_c(x) = sum of decay(t) over her purchases of x                (bought)
       V_c(x) = sum of VIEW_WEIGHT * decay(t) over her views of x
              + sum of CART_WEIGHT * decay(t) over her adds to cart of x  (looked at)

2. Pairs (precomputed, table ProductPairScore, rewritten by `refresh_product_pairs`). Over
   every customer, for two different products a and b among her MAX_PRODUCTS_PER_CUSTOMER
   strongest (by BOUGHT_WEIGHT * P + V):
       bought_together(a, b) = sum over c of min(P_c(a), P_c(b))
       viewed_together(a, b) = sum over c of min(V_c(a), V_c(b))
       score(a, b)           = BOUGHT_WEIGHT * bought_together(a, b) + viewed_together(a, b)
   Only the TOP_PAIRS highest-scoring partners b of each a are kept.

3. Her answer (per request, from the table and her own timeline, in a few queries). Her
   seeds are her products with weight h(a) = BOUGHT_WEIGHT * P_her(a) + V_her(a) (the
   SEEDS strongest); the context adds CONTEXT_WEIGHT to the product of `product:<sku>` or
   to each product in her open cart (`cart`); `home` adds nothing. A candidate b scores
       r(b) = sum over her seeds a of h(a) * score(a, b)
   highest first (ties: lower product id). Its `reason` is `bought_together` when the seed
   that gave it most was bought with it by someone, else `viewed_together`; `because` names
   that seed's SKU.

4. Rules, applied to the candidates:
   - never a product she bought and kept (bought and not returned, by SKU);
   - never the product of the context, nor one already in her cart;
   - never a variant she returned (`return_received` / `order_exchanged` record each line's
     reason): a product she sent back for `size` or `colour` comes back only in the other
     variants; one sent back for `defect` or `changed_mind` counts as bought;
   - only products listed on the channel that sells (the channel itself, or the web shop for
     a channel without stock of its own: orders' `stock_channel`), and only their variants
     with units available to promise there (inventory's `available_to_promise`); a product
     with no such variant is left out. `sizes` lists those variants, her usual size first
     (the size she bought most and kept), and `sku` is the first of them.

The offer: every registered offer source (OFFER_SOURCES) proposes offers she may use now;
the one saving her most on her usual basket (her average order total, at least the offer's
minimum spend) wins. Coupons are the one source today: codes issued to her and shared codes,
of active pools in their validity window, that `check_code` accepts for her; and her loyalty
points (`POINTS-<n>` spends what covers her usual basket, or all she has if less). Other
sources join by `register_offer_source`.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_CEILING, Decimal, InvalidOperation

from django.conf import settings
from django.db import connection, transaction
from django.db.models.fields.json import KT
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.errors import InvalidRecommendationRequest
from campaigns.models import CodeKind, CouponCode, EventCursor, ProductPairScore
from campaigns.services import loyalty
from campaigns.services.coupons import check_code, describe_discount, discount_for
from campaigns.services.cursors import read_after
from catalog.selectors import on_sale_rows, product_cards, variant_rows_by_sku
from core.selectors import channel_for
from core.sql import one_of
from customers.selectors import events_after, events_named, newest_events_of
from inventory.selectors import available_to_promise
from orders.errors import CouponRefused
from orders.selectors import active_cart_of
from orders.services.common import stock_channel

WINDOW_DAYS = 365
HALF_LIFE_DAYS = 90
BOUGHT_WEIGHT = 3.0
CART_WEIGHT = 2.0
VIEW_WEIGHT = 1.0
CONTEXT_WEIGHT = 10.0
MAX_PRODUCTS_PER_CUSTOMER = 30
TOP_PAIRS = 50
SEEDS = 20
DEFAULT_LIMIT = 8
MAX_LIMIT = 24
# Her newest events read per request: enough for a year of an ordinary customer.
HER_EVENTS = 1000
SIGNALS = {"order_completed", "product_added_to_cart", "product_viewed"}
RETURNS = {"return_received", "order_exchanged"}
# A return for these reasons says "not this variant"; for the others, "not this product".
OTHER_VARIANT_REASONS = {"size", "colour"}
CONTEXTS = ("home", "cart", "product:<sku>")
PURCHASES_CURSOR = "recommendations.purchases"


def decay(occurred_at, now) -> float:
    age_days = max((now - occurred_at).total_seconds(), 0) / 86400
    return 0.5 ** (age_days / HALF_LIFE_DAYS)


def _skus_of_order(properties) -> list[str]:
    lines = (properties or {}).get("products") if isinstance(properties, dict) else None
    return [
        line["sku"]
        for line in lines or []
        if isinstance(line, dict) and isinstance(line.get("sku"), str) and line["sku"]
    ]


# --- the pairs (precomputed) -------------------------------------------------------------


@dataclass
class Interest:
    bought: float = 0.0
    viewed: float = 0.0

    @property
    def strength(self) -> float:
        return BOUGHT_WEIGHT * self.bought + self.viewed


def everyone_interests(since, now) -> dict[int, dict[int, Interest]]:
    """{customer id: {product id: Interest}} over everyone's signals since `since`."""
    rows: list[tuple[int, object, str, float]] = []  # customer, when, sku, (bought 0/1)
    for name, weight in (("product_viewed", VIEW_WEIGHT), ("product_added_to_cart", CART_WEIGHT)):
        for customer_id, occurred_at, sku in (
            events_named(name, since=since)
            .order_by()
            .annotate(sku=KT("properties__sku"))
            .values_list("customer_id", "occurred_at", "sku")
            .iterator(chunk_size=20_000)
        ):
            if sku:
                rows.append((customer_id, occurred_at, sku, weight))
    for customer_id, occurred_at, properties in (
        events_named("order_completed", since=since)
        .order_by()
        .values_list("customer_id", "occurred_at", "properties")
        .iterator(chunk_size=20_000)
    ):
        for sku in _skus_of_order(properties):
            rows.append((customer_id, occurred_at, sku, 0.0))
    products = {
        sku: product for sku, (_v, product, _s) in variant_rows_by_sku({r[2] for r in rows}).items()
    }
    interests: dict[int, dict[int, Interest]] = defaultdict(dict)
    for customer_id, occurred_at, sku, weight in rows:
        product = products.get(sku)
        if product is None:
            continue
        interest = interests[customer_id].get(product)
        if interest is None:
            interest = interests[customer_id][product] = Interest()
        if weight:
            interest.viewed += weight * decay(occurred_at, now)
        else:
            interest.bought += decay(occurred_at, now)
    return interests


def pair_scores(interests) -> dict[int, dict[int, list[float]]]:
    """{a: {b: [bought_together, viewed_together]}} from everyone's interests (step 2)."""
    pairs: dict[int, dict[int, list[float]]] = defaultdict(dict)
    for products in interests.values():
        if len(products) < 2:
            continue
        strongest = heapq.nlargest(
            MAX_PRODUCTS_PER_CUSTOMER,
            products.items(),
            key=lambda item: (item[1].strength, -item[0]),
        )
        for index, (a, interest_a) in enumerate(strongest):
            for b, interest_b in strongest[index + 1 :]:
                bought = min(interest_a.bought, interest_b.bought)
                viewed = min(interest_a.viewed, interest_b.viewed)
                if not bought and not viewed:
                    continue
                for x, y in ((a, b), (b, a)):
                    sums = pairs[x].get(y)
                    if sums is None:
                        pairs[x][y] = [bought, viewed]
                    else:
                        sums[0] += bought
                        sums[1] += viewed
    return pairs


def top_partners(pairs):
    """(product, other, score, bought_together, viewed_together) for the TOP_PAIRS strongest
    partners of each product of `pair_scores` (ties: lower product id): the table's rows."""
    for product, partners in pairs.items():
        ranked = heapq.nlargest(
            TOP_PAIRS,
            partners.items(),
            key=lambda item: (BOUGHT_WEIGHT * item[1][0] + item[1][1], -item[0]),
        )
        for other, (bought, viewed) in ranked:
            yield (
                product,
                other,
                round(BOUGHT_WEIGHT * bought + viewed, 6),
                round(bought, 6),
                round(viewed, 6),
            )


def refresh_product_pairs(*, now=None) -> int:
    """Rewrite ProductPairScore from everyone's signals of the last WINDOW_DAYS days (steps 1
    and 2 of the method), keeping the TOP_PAIRS strongest partners of each product, in one
    transaction: a reader sees the old table or the new one. Returns the rows written."""
    now = now or timezone.now()
    interests = everyone_interests(now - timedelta(days=WINDOW_DAYS), now)
    rows = [
        ProductPairScore(
            product_id=product,
            other_id=other,
            score=score,
            bought_together=bought,
            viewed_together=viewed,
            refreshed_at=now,
        )
        for product, other, score, bought, viewed in top_partners(pair_scores(interests))
    ]
    with transaction.atomic():
        ProductPairScore.objects.all().delete()
        ProductPairScore.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def refresh_after_purchases(*, now=None) -> int | None:
    """The purchase path: when orders were completed since the last look (an id cursor over
    the timeline, so only committed orders are seen), rewrite the pairs; None when there was
    none. Her own purchase needs no refresh to be excluded: exclusions are read from her
    timeline on every request."""
    with transaction.atomic():
        seen = (
            EventCursor.objects.filter(name=PURCHASES_CURSOR).values_list("last_id", flat=True)
        ).first() or 0
        rows = read_after(
            PURCHASES_CURSOR,
            lambda after: events_after(after, ["order_completed"], limit=10_000),
        )
    if not any(row.id > seen for row in rows):
        return None
    return refresh_product_pairs(now=now)


# --- her answer ---------------------------------------------------------------------------


@dataclass
class Offer:
    """An offer she may use now. `saving` is what it takes off her usual basket (ranks offers);
    `values` is what the doors show (plain values)."""

    kind: str
    saving: Decimal
    values: dict


OfferSource = Callable[..., list[Offer]]
OFFER_SOURCES: list[OfferSource] = []


def register_offer_source(source: OfferSource) -> None:
    """Add `source(customer, *, channel, basket: Decimal, now) -> [Offer]` to the offers
    compared (loyalty points register here, issue 23 item 2)."""
    if source not in OFFER_SOURCES:
        OFFER_SOURCES.append(source)


# Most customers have no code to use: this statement says so without building an ORM query
# on every recommendation; the codes it finds are then loaded with their pools.
_USABLE_CODES_SQL = """
SELECT c.id FROM campaigns_couponcode c
JOIN campaigns_couponpool p ON p.id = c.pool_id
WHERE (c.customer_id = %s OR (c.customer_id IS NULL AND p.code_kind = %s))
  AND p.is_active
  AND (p.valid_from IS NULL OR p.valid_from <= %s)
  AND (p.valid_until IS NULL OR p.valid_until >= %s)
ORDER BY p.valid_until, c.id
LIMIT 20
"""


def _usable_code_ids(customer_id, now) -> list[int]:
    """Ids of the codes issued to her and the shared codes of active pools valid at `now`,
    the soonest to end first (at most 20)."""
    with connection.cursor() as cursor:
        cursor.execute(_USABLE_CODES_SQL, [customer_id, CodeKind.SHARED.value, now, now])
        return [row[0] for row in cursor.fetchall()]


def coupon_offers(customer, *, channel, basket: Decimal, now) -> list[Offer]:
    """Codes issued to her and shared codes of active pools, valid now, that check_code
    accepts for her at her usual basket (or the pool's minimum spend, if higher)."""
    ids = _usable_code_ids(customer.pk, now)
    found = CouponCode.objects.select_related("pool").in_bulk(ids) if ids else {}
    codes = [found[code_id] for code_id in ids if code_id in found]
    offers = []
    for code in codes:
        pool = code.pool
        subtotal = max(basket, pool.minimum_spend)
        try:
            check_code(code, customer=customer, subtotal=subtotal, now=now)
        except CouponRefused:
            continue
        saving = discount_for(pool, subtotal)
        offers.append(
            Offer(
                kind="coupon",
                saving=saving,
                values={
                    "kind": "coupon",
                    "code": code.code,
                    "discount": describe_discount(pool),
                    "saving": f"{saving:.2f}",
                    "minimum_spend": f"{pool.minimum_spend:.2f}",
                    "valid_until": pool.valid_until,
                },
            )
        )
    return offers


register_offer_source(coupon_offers)


def points_offers(customer, *, channel, basket: Decimal, now) -> list[Offer]:
    """The next-best-offer source for points: spend what covers her usual basket (or all she
    has, if less), valued in the channel's currency."""
    currency = getattr(channel, "currency", "") or loyalty.home_currency(customer)
    value = loyalty.point_value(currency)
    balance = loyalty.balance_of(customer.pk)
    if value is None or value <= 0 or balance <= 0 or basket <= 0:
        return []
    points = min(balance, int((basket / value).to_integral_value(rounding=ROUND_CEILING)))
    saving = min(basket, value * points).quantize(Decimal("0.01"))
    return [
        Offer(
            kind="points",
            saving=saving,
            values={
                "kind": "points",
                "code": f"POINTS-{points}",
                "discount": f"{saving:.2f} {currency}",
                "saving": f"{saving:.2f}",
                "minimum_spend": "0.00",
                "valid_until": None,
            },
        )
    ]


register_offer_source(points_offers)


@dataclass
class Context:
    kind: str  # home, cart, product
    sku: str = ""


def parse_context(text) -> Context:
    """`home` (the default), `cart` or `product:<sku>`; raises InvalidRecommendationRequest
    naming `context`."""
    text = (text or "home").strip()
    if text in ("home", "cart"):
        return Context(text)
    if text.startswith("product:") and text[len("product:") :].strip():
        return Context("product", text[len("product:") :].strip())
    raise InvalidRecommendationRequest(
        _("Unknown context %(context)s.") % {"context": text},
        fields={"context": [_("Use home, cart or product:<sku>.")]},
    )


@dataclass
class History:
    """What her timeline says: her interest per product, what she bought and kept, the
    variants she may not be offered again, her usual size, her usual basket."""

    interests: dict[int, Interest] = field(default_factory=dict)
    kept_products: set[int] = field(default_factory=set)
    refused_variants: set[int] = field(default_factory=set)
    usual_size: str = ""
    basket: Decimal = Decimal("0")
    sku_of_product: dict[int, str] = field(default_factory=dict)


def history_of(customer, *, now) -> History:
    """Her signals, purchases and returns in every channel, from her timeline (one query for
    the events, one for their SKUs)."""
    rows = newest_events_of(
        customer.pk,
        now - timedelta(days=WINDOW_DAYS),
        now + timedelta(minutes=5),  # clocks of partners run a little ahead
        names=sorted(SIGNALS | RETURNS),
        limit=HER_EVENTS,
    )
    bought: list[str] = []
    returned: dict[str, str] = {}
    looked: list[tuple[str, object, float]] = []
    totals: list[Decimal] = []
    for name, occurred_at, properties in rows:
        properties = properties if isinstance(properties, dict) else {}
        if name == "order_completed":
            skus = _skus_of_order(properties)
            bought.extend(skus)
            looked.extend((sku, occurred_at, 0.0) for sku in skus)
            try:
                totals.append(Decimal(str(properties.get("total"))))
            except (InvalidOperation, ValueError):
                pass
        elif name in RETURNS:
            lines = properties.get("products" if name == "return_received" else "returned")
            for line in lines or []:
                if isinstance(line, dict) and isinstance(line.get("sku"), str):
                    returned.setdefault(line["sku"], str(line.get("reason") or ""))
        elif isinstance(properties.get("sku"), str) and properties["sku"]:
            weight = CART_WEIGHT if name == "product_added_to_cart" else VIEW_WEIGHT
            looked.append((properties["sku"], occurred_at, weight))
    variants = variant_rows_by_sku({sku for sku, _at, _w in looked} | set(returned))
    history = History(
        basket=(sum(totals) / len(totals)).quantize(Decimal("0.01")) if totals else Decimal("0")
    )
    for sku, occurred_at, weight in looked:
        found = variants.get(sku)
        if found is None:
            continue
        product = found[1]
        interest = history.interests.setdefault(product, Interest())
        history.sku_of_product.setdefault(product, sku)
        if weight:
            interest.viewed += weight * decay(occurred_at, now)
        else:
            interest.bought += decay(occurred_at, now)
    sizes = Counter()
    for sku in bought:
        found = variants.get(sku)
        if found is None:
            continue
        variant_id, product, size = found
        if sku in returned:
            history.refused_variants.add(variant_id)
            if returned[sku] not in OTHER_VARIANT_REASONS:
                history.kept_products.add(product)
            continue
        history.kept_products.add(product)
        if size:
            sizes[size] += 1
    for sku in returned:  # a return whose order is older than the window
        if sku in variants:
            history.refused_variants.add(variants[sku][0])
    if sizes:
        history.usual_size = min(sizes, key=lambda size: (-sizes[size], size))
    return history


def _context_products(context: Context, customer) -> set[int]:
    if context.kind == "product":
        found = variant_rows_by_sku([context.sku]).get(context.sku)
        if found is None:
            raise InvalidRecommendationRequest(
                _("No variant has the SKU %(sku)s.") % {"sku": context.sku},
                fields={"context": [_("Unknown SKU.")]},
            )
        return {found[1]}
    if context.kind == "cart":
        cart = active_cart_of(customer)
        return {line.variant.product_id for line in cart.lines.all()} if cart else set()
    return set()


_PAIRS_SQL = """
SELECT product_id, other_id, score, bought_together FROM campaigns_productpairscore
WHERE {seeds}
"""


def stored_pairs(seeds) -> list[tuple[int, int, float, float]]:
    """(product, other, score, bought_together) of the seeds' partners, from the table (one
    statement, built without the ORM: it runs on every request)."""
    condition, params = one_of("product_id", list(seeds))
    with connection.cursor() as cursor:
        cursor.execute(_PAIRS_SQL.format(seeds=condition), params)
        return cursor.fetchall()


def _candidates(seeds: dict[int, float], pairs=stored_pairs) -> tuple[dict, dict]:
    """r(b) for every partner b of the seeds, and per b the (seed, bought_together) that
    gave it most (step 3). One query."""
    scores: dict[int, float] = defaultdict(float)
    best: dict[int, tuple[float, int, float]] = {}
    for product, other, score, bought in pairs(seeds):
        given = seeds[product] * score
        scores[other] += given
        if other not in best or given > best[other][0]:
            best[other] = (given, product, bought)
    return scores, {other: (seed, bought) for other, (_g, seed, bought) in best.items()}


def recommendations_for(
    customer, *, channel, context="home", limit=DEFAULT_LIMIT, now=None, pairs=stored_pairs
) -> dict:
    """Products for her on `channel` (a Channel or its code) in `context` (see parse_context)
    and her best offer, as plain values, by the method of this module. Raises
    InvalidRecommendationRequest naming `channel`, `context` or `limit`. `pairs` reads the
    partners of the seeds (the table; bench/recommendations.py passes pairs computed on the
    spot, to compare)."""
    now = now or timezone.now()
    if not channel:
        raise InvalidRecommendationRequest(
            _("Say which channel will show them."), fields={"channel": [_("Required.")]}
        )
    channel = channel_for(channel, field="channel", error=InvalidRecommendationRequest)
    if not isinstance(context, Context):
        context = parse_context(context)
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidRecommendationRequest(
            _("Ask for 1 to %(most)s products.") % {"most": MAX_LIMIT},
            fields={"limit": [_("A whole number from 1 to %(most)s.") % {"most": MAX_LIMIT}]},
        )
    history = history_of(customer, now=now)
    in_context = _context_products(context, customer)
    seeds = {product: interest.strength for product, interest in history.interests.items()}
    for product in in_context:
        seeds[product] = seeds.get(product, 0.0) + CONTEXT_WEIGHT
    seeds = dict(heapq.nlargest(SEEDS, seeds.items(), key=lambda item: (item[1], -item[0])))
    scores, best = _candidates(seeds, pairs) if seeds else ({}, {})
    excluded = history.kept_products | in_context
    ranked = sorted(
        (product for product in scores if product not in excluded),
        key=lambda product: (-scores[product], product),
    )[: limit * 4]
    products = _available(ranked, channel, history, customer.locale)
    seed_skus = _seed_skus(history, {seed for seed, _b in best.values()}, context)
    answer = []
    for product in ranked:
        if product not in products:
            continue
        seed, bought = best[product]
        answer.append(
            {
                **products[product],
                "score": round(scores[product], 4),
                "reason": "bought_together" if bought > 0 else "viewed_together",
                "because": seed_skus.get(seed, ""),
            }
        )
        if len(answer) == limit:
            break
    return {
        "customer": str(customer.public_id),
        "channel": channel.code,
        "context": context.kind if context.kind != "product" else f"product:{context.sku}",
        "products": answer,
        "offer": best_offer(customer, channel=channel, basket=history.basket, now=now),
    }


def _seed_skus(history: History, seeds, context: Context) -> dict[int, str]:
    skus = {seed: history.sku_of_product[seed] for seed in seeds if seed in history.sku_of_product}
    missing = [seed for seed in seeds if seed not in skus]
    if missing and context.kind == "product":
        found = variant_rows_by_sku([context.sku]).get(context.sku)
        if found and found[1] in missing:
            skus[found[1]] = context.sku
    return skus


def _available(products, channel, history: History, language) -> dict[int, dict]:
    """{product id: plain values} of the products listed where `channel` sells with at least
    one variant in stock there that she may be offered; sizes her usual one first (step 4).
    Two queries (listings, stock); product_cards' three more when her language needs the
    translated names."""
    if not products:
        return {}
    selling = stock_channel(channel)
    listings = on_sale_rows(selling, products, excluding_variants=history.refused_variants)
    units = available_to_promise([row[0] for row in listings], selling)
    found: dict[int, dict] = {}
    for variant_id, product_id, name, sku, size, colour, price, currency in listings:
        if units.get(variant_id, 0) <= 0:
            continue
        entry = found.get(product_id)
        if entry is None:
            entry = found[product_id] = {
                "product_id": product_id,
                "name": name,
                "sku": "",
                "size": "",
                "colour": "",
                "price": f"{price:.2f}",
                "currency": str(currency),
                "sizes": [],
            }
        entry["sizes"].append(
            {
                "sku": sku,
                "size": size,
                "colour": colour,
                "price": f"{price:.2f}",
                "available": units[variant_id],
            }
        )
    if found and (language or "").split("-")[0] not in ("", settings.LANGUAGE_CODE):
        first_skus = {entry["sizes"][0]["sku"]: entry for entry in found.values()}
        for card in product_cards(list(first_skus), language=language):
            first_skus[card["sku"]]["name"] = card["name"]
    for entry in found.values():
        entry["sizes"].sort(key=lambda size: size["size"] != history.usual_size)
        first = entry["sizes"][0]
        entry.update(
            sku=first["sku"], size=first["size"], colour=first["colour"], price=first["price"]
        )
    return found


def best_offer(customer, *, channel, basket: Decimal, now) -> dict | None:
    """The offer of every registered source saving her most on her usual basket (ties: the
    first source's, then the one ending first); None without one."""
    offers = [
        offer
        for source in OFFER_SOURCES
        for offer in source(customer, channel=channel, basket=basket, now=now)
    ]
    if not offers:
        return None
    top = max(offers, key=lambda offer: offer.saving)
    return top.values


def recommendation_values(customer, *, channel, limit: int = 3) -> list[dict]:
    """The `recommendations` a message template reads: plain {sku, name, size, colour, price,
    currency, reason} for the `home` context on `channel` (the web shop for a message)."""
    if channel is None:
        return []
    answer = recommendations_for(customer, channel=channel, context="home", limit=limit)
    return [
        {
            key: product[key]
            for key in ("sku", "name", "size", "colour", "price", "currency", "reason")
        }
        for product in answer["products"]
    ]
