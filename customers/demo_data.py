"""Customers' demo stage: people with multi-channel histories in the languages we serve,
anonymous visitors later identified (through the real resolution service, so the merges are
real), a pending merge candidate, and Sara Rahimi, whose shoe-buying story later stages
(orders, support) continue. Shares `ctx.shared["sara"]` and `ctx.shared["customers"]`.
"""

from datetime import timedelta

from django.utils import timezone

from core.demo import register_stage
from customers.factories import (
    AnonymousCustomerFactory,
    ConsentFactory,
    CustomerFactory,
    EventFactory,
    IdentityFactory,
)
from customers.models import Consent, Customer, Event, Identity
from customers.normalise import IdentityKey, normalise_phone
from customers.selectors import customer_for_identity
from customers.services import record_consent, record_event, resolve_customer
from customers.services.figures import apply_event_figures

SARA_EMAIL = "sara@example.com"
SARA_PHONE = "+989121234567"
SKUS = ["ARIA-RUN-BLK-38", "ARIA-RUN-WHT-38", "ARIA-RUN-RED-39", "TABRIZ-LOAFER-41", "BAKU-BOOT-40"]
BROWSING = [
    ("page_viewed", ("web", "app", "web-az")),
    ("product_viewed", ("web", "app", "instagram", "marketplace", "web-az")),
    ("product_searched", ("web", "app")),
    ("product_added_to_cart", ("web", "app")),
    ("wishlist_added", ("web", "app")),
    ("review_read", ("web", "app")),
    ("price_compared", ("web", "marketplace")),
    ("store_visited", ("store",)),
    ("call_logged", ("phone",)),
    ("ad_clicked", ("ads",)),
    ("message_opened", ("email", "sms", "whatsapp", "telegram")),
    ("message_clicked", ("email", "telegram")),
    ("checkout_started", ("web", "app")),
]
PHONE_FORMATS = {
    "fa_IR": "09{0:02d} {1:03d} {2:04d}",
    "az_AZ": "+994 50 {1:03d} {2:04d}",
    "ar_AA": "+971 50 {1:03d} {2:04d}",
    "en_US": "+1 212 555 {2:04d}",
}
LANGUAGE = {"fa_IR": "fa", "az_AZ": "az", "ar_AA": "ar", "en_US": "en"}


def _properties(ctx, name):
    sku = ctx.random.choice(SKUS)
    product = ctx.shared.get("aria_runner")
    if name in {
        "product_viewed",
        "product_added_to_cart",
        "wishlist_added",
        "review_read",
        "price_compared",
    }:
        props = {"sku": sku}
        if product is not None and sku.startswith("ARIA"):
            props["product_id"] = product.pk
        return props
    if name == "product_searched":
        return {"query": ctx.random.choice(["running shoes", "کفش", "ayaqqabı", "loafers 41"])}
    if name == "page_viewed":
        return {"path": ctx.random.choice(["/", "/shoes", "/sale", "/stores"])}
    if name == "ad_clicked":
        return {"campaign_id": ctx.random.choice(["spring-sale", "aria-launch"])}
    return {}


def _history(ctx, customer, channels, count, start, end, prefix):
    """`count` events spread between start and end, in channels that fit each event."""
    events = []
    span = (end - start).total_seconds()
    for number in range(count):
        name, codes = ctx.random.choice(BROWSING)
        code = ctx.random.choice([c for c in codes if c in channels] or ["web"])
        events.append(
            EventFactory.build(
                customer=customer,
                name=name,
                channel=channels.get(code),
                occurred_at=start + timedelta(seconds=ctx.random.uniform(0, span)),
                properties=_properties(ctx, name),
                source="demo",
                message_id=f"demo-{prefix}-{number}",
            )
        )
    return events


@register_stage("customers.profiles", order=20, label="Customers and timelines")
def seed_customers(ctx):
    sara = customer_for_identity(IdentityKey("email", SARA_EMAIL))
    if sara is not None:  # already seeded: hand the next stages what they need
        ctx.shared["sara"] = sara
        ctx.shared["customers"] = list(Customer.objects.live().filter(is_anonymous=False)[:500])
        return
    channels = ctx.shared.get("channels") or {}
    now = timezone.now()
    customers, identities, events, consents = [], [], [], []
    plans = []
    for number in ctx.progress(range(ctx.scale(150)), "Customers"):
        locale = ctx.random.choice(list(PHONE_FORMATS))
        faker = ctx.faker(locale)
        created = now - timedelta(days=ctx.random.uniform(5, 400))
        customer = CustomerFactory.build(
            first_name=faker.first_name(),
            last_name=faker.last_name(),
            locale=LANGUAGE[locale],
            preferred_channel=ctx.random.choice(
                ["", "email", "sms", "whatsapp", "telegram", "instagram"]
            ),
            created_at=created,
            first_seen_at=created,
            last_seen_at=created,
        )
        customers.append(customer)
        plans.append((customer, locale, created, number))
    Customer.objects.bulk_create(customers, batch_size=500)

    for customer, locale, created, number in plans:
        identities.append(
            IdentityFactory.build(
                customer=customer,
                kind="email",
                value=f"customer{number}@example.com",
                is_verified=ctx.random.random() < 0.6,
            )
        )
        if ctx.random.random() < 0.7:
            raw = PHONE_FORMATS[locale].format(
                ctx.random.choice([12, 13, 35, 36]), ctx.random.randint(100, 999), 1000 + number
            )
            identities.append(
                IdentityFactory.build(customer=customer, kind="phone", value=normalise_phone(raw))
            )
        identities.append(
            IdentityFactory.build(customer=customer, kind="cookie", value=f"demo-cookie-{number}")
        )
        if ctx.random.random() < 0.3:
            kind = ctx.random.choice(["instagram", "telegram"])
            identities.append(
                IdentityFactory.build(customer=customer, kind=kind, value=f"demo_{kind}_{number}")
            )
        history = _history(
            ctx, customer, channels, ctx.random.randint(2, 12), created, now, f"c{number}"
        )
        apply_event_figures(customer, history)
        events.extend(history)
        if ctx.random.random() < 0.5:
            consents.append(
                ConsentFactory.build(
                    customer=customer,
                    channel_kind=ctx.random.choice(["email", "sms", "whatsapp", "telegram"]),
                    status=ctx.random.choice(["granted", "granted", "withdrawn"]),
                    source="demo signup form",
                    recorded_at=created,
                )
            )

    # Anonymous visitors: cookies only, browsing on the web and the app.
    visitors = [
        AnonymousCustomerFactory.build(created_at=now - timedelta(days=ctx.random.uniform(1, 60)))
        for _number in range(ctx.scale(50))
    ]
    Customer.objects.bulk_create(visitors, batch_size=500)
    for number, visitor in enumerate(visitors):
        identities.append(
            IdentityFactory.build(customer=visitor, kind="cookie", value=f"demo-visitor-{number}")
        )
        history = _history(
            ctx, visitor, channels, ctx.random.randint(1, 6), visitor.created_at, now, f"v{number}"
        )
        apply_event_figures(visitor, history)
        events.extend(history)

    Identity.objects.bulk_create(identities, batch_size=1000)
    Event.objects.bulk_create(events, batch_size=1000)
    Consent.objects.bulk_create(consents, batch_size=1000)
    Customer.objects.bulk_update(
        [*customers, *visitors],
        ["events_count", "channels_used", "first_seen_at", "last_seen_at"],
        batch_size=500,
    )

    # A third of the visitors later sign in: the real service merges them into the profile.
    identified = 0
    for number in range(0, len(visitors), 3):
        known = plans[number % len(plans)][3]
        resolve_customer(
            [("cookie", f"demo-visitor-{number}"), ("email", f"customer{known}@example.com")],
            source="demo",
        )
        identified += 1

    sara = _seed_sara(ctx, channels, now)
    _seed_merge_candidate(ctx)
    ctx.shared["sara"] = sara
    ctx.shared["customers"] = [sara, *customers]
    ctx.created("customers", len(customers) + 3)
    ctx.created("anonymous visitors", len(visitors) - identified)
    ctx.created("visitors identified later (merged)", identified)
    ctx.created("timeline events", Event.objects.count())


def _seed_sara(ctx, channels, now):
    """Sara Rahimi researches shoes on her phone, anonymously, sees an ad, saves a pair to
    her wish list, then signs in on the web from a laptop: one customer from then on."""
    cookie_phone, cookie_laptop = "sara-phone-cookie", "sara-laptop-cookie"
    start = now - timedelta(days=12)
    steps = [
        (cookie_phone, "app", "product_searched", {"query": "running shoes 38"}, 0),
        (cookie_phone, "app", "product_viewed", {"sku": "ARIA-RUN-BLK-38"}, 1),
        (cookie_phone, "app", "review_read", {"sku": "ARIA-RUN-BLK-38"}, 2),
        (cookie_phone, "ads", "ad_clicked", {"campaign_id": "aria-launch"}, 30),
        (cookie_phone, "app", "wishlist_added", {"sku": "ARIA-RUN-BLK-38"}, 32),
        (cookie_laptop, "web", "product_viewed", {"sku": "ARIA-RUN-WHT-38"}, 60 * 24),
        (cookie_laptop, "web", "price_compared", {"sku": "ARIA-RUN-BLK-38"}, 60 * 24 + 5),
    ]
    aria = ctx.shared.get("aria_runner")
    for number, (cookie, code, name, props, minutes) in enumerate(steps):
        if aria is not None and "sku" in props:
            props = {**props, "product_id": aria.pk}
        visitor = resolve_customer([("cookie", cookie)], source="demo")
        record_event(
            visitor,
            name,
            channel=channels.get(code),
            occurred_at=start + timedelta(minutes=minutes),
            properties=props,
            message_id=f"demo-sara-{number}",
            source="demo",
        )
    sara = resolve_customer(
        [
            {"kind": "email", "value": "Sara@Example.com", "verified": True},
            {"kind": "cookie", "value": cookie_laptop},
        ],
        traits={
            "first_name": "Sara",
            "last_name": "Rahimi",
            "locale": "fa",
            "preferred_channel": "instagram",
        },
        channel=channels.get("web"),
        source="demo",
    )
    # Her phone's browser and her Instagram handle turn out to be her too.
    sara = resolve_customer(
        [
            {"kind": "email", "value": SARA_EMAIL},
            {"kind": "cookie", "value": cookie_phone},
            {"kind": "phone", "value": "0912 123 4567", "verified": True},
            {"kind": "instagram", "value": "@sara.rahimi"},
        ],
        source="demo",
    )
    record_consent(
        sara, channel_kind="email", purpose="marketing", granted=True, source="web signup"
    )
    record_consent(sara, channel_kind="sms", purpose="marketing", granted=True, source="web signup")
    record_consent(
        sara, channel_kind="instagram", purpose="marketing", granted=False, source="web signup"
    )
    return sara


def _seed_merge_candidate(ctx):
    """Two verified people whom one POS sale named together: staff must decide."""
    resolve_customer(
        [{"kind": "email", "value": "reza.ahmadi@example.com", "verified": True}],
        traits={"first_name": "Reza", "last_name": "Ahmadi", "locale": "fa"},
        source="demo",
    )
    resolve_customer(
        [
            {"kind": "email", "value": "r.ahmadi@work.example.com", "verified": True},
            {"kind": "phone", "value": "0935 555 0101"},
        ],
        traits={"first_name": "Reza", "last_name": "A.", "locale": "fa"},
        source="demo",
    )
    resolve_customer(
        [("email", "reza.ahmadi@example.com"), ("phone", "09355550101")], source="pos-tabriz"
    )
