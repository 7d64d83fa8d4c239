"""What ships with the app: ready-made segments, the WELCOME pool, and seven journeys
(welcome, abandoned cart, receipt, ready for pickup, review request, your size back in
your store, win-back) with their templates.
`install_defaults()` is idempotent: it makes what is missing, brings a shipped template that
nobody edited (its text is still one we shipped before, PREVIOUS_TEMPLATES) up to the current
one, and changes nothing else. Doors: `manage.py install_campaign_defaults`, the Journeys
page's button, and the demo."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from campaigns.models import (
    ChannelChoice,
    CodeKind,
    CouponPool,
    DiscountKind,
    Journey,
    JourneyStep,
    MessageTemplate,
    MessageTemplateTranslation,
    Segment,
    StepKind,
)
from campaigns.segment_words import describe
from campaigns.services.coupons import create_pool
from campaigns.services.segments import READY_MADE
from core.models import Channel

TEMPLATES = {
    "welcome-email": (
        "email",
        "Welcome, {{ first_name|default:'friend' }}!",
        "Hello {{ first_name }},\n\nWelcome to our shop. Everything you do online and in our "
        "stores now counts on one account.",
        "<p>Hello {{ first_name }},</p><p>Welcome to our shop.</p>"
        '<p><a href="https://shop.example.com/">Start shopping</a></p>',
        {
            "fa": (
                "{{ first_name }} عزیز، خوش آمدید!",
                "سلام {{ first_name }}،\nبه فروشگاه ما خوش آمدید.",
                "<p>سلام {{ first_name }}،</p><p>به فروشگاه ما خوش آمدید.</p>",
            )
        },
    ),
    "welcome-sms": (
        "sms",
        "",
        "Welcome {{ first_name }}! {{ coupon.discount }} off your first order, online or in "
        "store: {{ coupon.code }}",
        "",
        {
            "fa": (
                "",
                "{{ first_name }} خوش آمدید! {{ coupon.discount }} تخفیف خرید اول: {{ coupon.code }}",
                "",
            )
        },
    ),
    "abandoned-cart-email": (
        "email",
        "You left something in your cart",
        "Hello {{ first_name }}, your cart is waiting:\n"
        "{% for line in cart.products %}- {{ line.quantity }} x {{ line.sku }}\n{% endfor %}"
        "Total: {{ cart.total }} {{ cart.currency }}",
        "<p>Hello {{ first_name }}, your cart is waiting:</p><ul>"
        "{% for line in cart.products %}<li>{{ line.quantity }} × {{ line.sku }}</li>"
        "{% endfor %}</ul><p>Total: {{ cart.total }} {{ cart.currency }}</p>"
        '<p><a href="https://shop.example.com/cart">Back to your cart</a></p>',
        {},
    ),
    "receipt": (
        "email",
        "Your receipt for order {{ order.order_id }}",
        # Amounts and the date as she reads them (core.l10n: ۱۲ آذر ۱۴۰۵, ۱٬۲۵۰٬۰۰۰ ریال).
        'Thank you {{ first_name }}! Order {{ order.order_id }}, {% now "DATE_FORMAT" %}: '
        "{{ order.total_display|default:order.total }}.\n{% for line in order.products %}- "
        "{{ line.quantity }} x {{ line.sku }} {{ line.price_display|default:line.price }}\n"
        "{% endfor %}",
        "",
        {
            "fa": (
                "رسید سفارش {{ order.order_id }}",
                "{{ first_name }} عزیز، از خرید شما سپاسگزاریم! سفارش {{ order.order_id }}، "
                '{% now "DATE_FORMAT" %}: {{ order.total_display|default:order.total }}.\n'
                "{% for line in order.products %}- {{ line.quantity_display|default:line.quantity }}"
                " × {{ line.sku }} {{ line.price_display|default:line.price }}\n{% endfor %}",
                "",
            )
        },
    ),
    # Short enough for an SMS or a messenger: sent on the channel she prefers.
    "ready-for-pickup": (
        "email",
        "Order {{ order.order_id }} is ready for pickup",
        "Hello {{ first_name }}, your order {{ order.order_id }} is ready for pickup at "
        "{{ order.store }}.",
        "",
        {
            "fa": (
                "سفارش {{ order.order_id }} آمادهٔ تحویل است",
                "{{ first_name }} عزیز، سفارش {{ order.order_id }} در {{ order.store }} آمادهٔ "
                "تحویل است.",
                "",
            ),
            "ar": (
                "الطلب {{ order.order_id }} جاهز للاستلام",
                "مرحبًا {{ first_name }}، طلبك {{ order.order_id }} جاهز للاستلام في "
                "{{ order.store }}.",
                "",
            ),
            "az": (
                "{{ order.order_id }} sifarişi götürülməyə hazırdır",
                "Salam {{ first_name }}, {{ order.order_id }} sifarişiniz {{ order.store }} "
                "mağazasında götürülməyə hazırdır.",
                "",
            ),
            "be": (
                "Заказ {{ order.order_id }} гатовы да выдачы",
                "Вітаем, {{ first_name }}! Ваш заказ {{ order.order_id }} чакае вас у "
                "{{ order.store }}.",
                "",
            ),
        },
    ),
    "review-request": (
        "email",
        "How was your order {{ order.order_id }}?",
        "Hello {{ first_name }}, tell us what you think of what you bought: {{ review_url }}",
        '<p>Hello {{ first_name }}, <a href="{{ review_url }}">tell us what you think</a>.</p>',
        {},
    ),
    # Store-local: sent from `size_back_in_store` (campaigns.services.store_local), short
    # enough for an SMS or a messenger.
    "size-back-in-store": (
        "email",
        "Your size is back at {{ trigger.store }}",
        "Hello {{ first_name }}, {{ trigger.product }} in size {{ trigger.size }} is back in "
        "stock at {{ trigger.store }}.",
        "",
        {
            "fa": (
                "سایز شما در {{ trigger.store }} دوباره موجود است",
                "{{ first_name }} عزیز، {{ trigger.product }} در سایز {{ trigger.size }} دوباره در "
                "{{ trigger.store }} موجود است.",
                "",
            ),
            "ar": (
                "مقاسك متوفر من جديد في {{ trigger.store }}",
                "مرحبًا {{ first_name }}، {{ trigger.product }} بالمقاس {{ trigger.size }} متوفر "
                "من جديد في {{ trigger.store }}.",
                "",
            ),
            "az": (
                "Ölçünüz {{ trigger.store }} mağazasında yenidən var",
                "Salam {{ first_name }}, {{ trigger.product }} {{ trigger.size }} ölçüsündə "
                "{{ trigger.store }} mağazasında yenidən satışdadır.",
                "",
            ),
            "be": (
                "Ваш памер зноў ёсць у {{ trigger.store }}",
                "Вітаем, {{ first_name }}! {{ trigger.product }} памеру {{ trigger.size }} зноў "
                "ёсць у {{ trigger.store }}.",
                "",
            ),
        },
    ),
    "win-back": (
        "email",
        "We miss you, {{ first_name }}",
        "It has been a while. {% if recommended_products %}You looked at: "
        "{% for p in recommended_products %}{{ p.name }}{% if not forloop.last %}, "
        "{% endif %}{% endfor %}. {% endif %}Here is {{ coupon.discount }} off: {{ coupon.code }}",
        "",
        {},
    ),
}

JOURNEYS = [
    {
        "key": "welcome",
        "name": "Welcome (email, then SMS with a first-purchase coupon)",
        "trigger": "identity_added:email",
        "once_per_customer": True,
        "purpose": "marketing",
        "exit_events": [],
        "steps": [
            {"kind": StepKind.SEND, "template": "welcome-email", "channel": "email"},
            {"kind": StepKind.WAIT, "wait_minutes": 60 * 24 * 30, "rules": {"identity": "phone"}},
            {"kind": StepKind.CONDITION, "rules": {"event": "order_completed", "did": False}},
            {
                "kind": StepKind.SEND,
                "template": "welcome-sms",
                "channel": "sms",
                "coupon_pool": "WELCOME",
            },
        ],
    },
    {
        "key": "abandoned-cart",
        "name": "Abandoned cart",
        "trigger": "cart_abandoned",
        "purpose": "marketing",
        "exit_events": ["order_completed", "cart_converted"],
        "steps": [
            {"kind": StepKind.WAIT, "wait_minutes": 60},
            {"kind": StepKind.SEND, "template": "abandoned-cart-email", "channel": "email"},
        ],
    },
    {
        "key": "receipt",
        "name": "Receipt on the channel the customer asked for",
        "trigger": "order_completed",
        "purpose": "transactional",
        "exit_events": [],
        "steps": [
            {
                "kind": StepKind.SEND,
                "template": "receipt",
                "channel": "email",
                "channel_choice": ChannelChoice.ASKED,
            }
        ],
    },
    {
        "key": "ready-for-pickup",
        "name": "Ready for pickup, on the customer's channel",
        "trigger": "order_ready_for_pickup",
        "purpose": "transactional",
        "exit_events": [],
        "steps": [
            {
                "kind": StepKind.SEND,
                "template": "ready-for-pickup",
                "channel": "email",
                "channel_choice": ChannelChoice.BEST,
            }
        ],
    },
    {
        "key": "review-request",
        "name": "Post-purchase review request",
        "trigger": "order_completed",
        "purpose": "marketing",
        "exit_events": ["order_refunded"],
        "steps": [
            {"kind": StepKind.WAIT, "wait_minutes": 60 * 24 * 7},
            {"kind": StepKind.SEND, "template": "review-request", "channel": "email"},
        ],
    },
    {
        "key": "size-back-in-store",
        "name": "New stock of your size in your store",
        "trigger": "size_back_in_store",
        "purpose": "marketing",
        "exit_events": [],
        "steps": [
            {
                "kind": StepKind.SEND,
                "template": "size-back-in-store",
                "channel": "email",
                "channel_choice": ChannelChoice.BEST,
            }
        ],
    },
    {
        "key": "win-back",
        "name": "Win-back after 90 days",
        "trigger": "order_completed",
        "purpose": "marketing",
        "exit_events": ["order_completed"],
        "steps": [
            {"kind": StepKind.WAIT, "wait_minutes": 60 * 24 * 90},
            {
                "kind": StepKind.SEND,
                "template": "win-back",
                "channel_choice": ChannelChoice.BEST,
                "coupon_pool": "WINBACK",
            },
        ],
    },
]


# Earlier shipped versions of a template: (text, html). An install whose template still reads
# exactly so was never edited, and is brought up to the current version.
PREVIOUS_TEMPLATES = {
    "review-request": [
        (
            "Hello {{ first_name }}, tell us what you think of what you bought.",
            '<p>Hello {{ first_name }}, <a href="https://shop.example.com/reviews">tell us what '
            "you think</a>.</p>",
        )
    ],
}


def upgrade_templates() -> list[str]:
    """Bring each shipped template nobody edited up to the current version; returns the
    names changed. An edited one is left as it is."""
    upgraded = []
    for name, versions in PREVIOUS_TEMPLATES.items():
        _kind, _subject, text, html, _translations = TEMPLATES[name]
        for old_text, old_html in versions:
            if MessageTemplate.objects.filter(name=name, text=old_text, html=old_html).update(
                text=text, html=html, updated_at=timezone.now()
            ):
                upgraded.append(name)
    return upgraded


def install_templates() -> dict[str, MessageTemplate]:
    made = {}
    for name, (kind, subject, text, html, translations) in TEMPLATES.items():
        template, created = MessageTemplate.objects.get_or_create(
            name=name,
            defaults={"channel_kind": kind, "subject": subject, "text": text, "html": html},
        )
        if created:
            for language, (t_subject, t_text, t_html) in translations.items():
                MessageTemplateTranslation.objects.create(
                    template=template,
                    language=language,
                    subject=t_subject,
                    text=t_text,
                    html=t_html,
                )
        made[name] = template
    return made


def install_pools() -> dict[str, CouponPool]:
    pools = {}
    specs = {
        "WELCOME": dict(
            name="Welcome: first purchase",
            code_kind=CodeKind.UNIQUE,
            discount_kind=DiscountKind.PERCENTAGE,
            discount_value=Decimal("10"),
            max_uses_per_code=1,
            max_uses_per_customer=1,
            first_purchase_only=True,
        ),
        "WINBACK": dict(
            name="Win-back",
            code_kind=CodeKind.UNIQUE,
            discount_kind=DiscountKind.PERCENTAGE,
            discount_value=Decimal("15"),
            max_uses_per_code=1,
            max_uses_per_customer=1,
        ),
    }
    for prefix, spec in specs.items():
        pool = CouponPool.objects.filter(prefix=prefix).first()
        pools[prefix] = pool or create_pool(prefix=prefix, **spec)
    return pools


def install_segments() -> list[Segment]:
    segments = []
    for name, (description, rules) in READY_MADE.items():
        segment, _created = Segment.objects.get_or_create(
            name=name,
            defaults={
                "description": description,
                "rules": rules,
                "compiled_description": describe(rules),
                "is_ready_made": True,
            },
        )
        segments.append(segment)
    return segments


@transaction.atomic
def install_defaults() -> dict:
    upgraded = upgrade_templates()
    templates = install_templates()
    pools = install_pools()
    segments = install_segments()
    channels = {}
    for channel in Channel.objects.messaging().order_by("id"):
        channels.setdefault(channel.kind, channel)
    journeys = []
    for spec in JOURNEYS:
        journey, created = Journey.objects.get_or_create(
            key=spec["key"],
            defaults={
                "name": spec["name"],
                "trigger": spec["trigger"],
                "purpose": spec["purpose"],
                "exit_events": spec["exit_events"],
                "once_per_customer": spec.get("once_per_customer", False),
            },
        )
        if created:
            for position, step in enumerate(spec["steps"]):
                JourneyStep.objects.create(
                    journey=journey,
                    position=position,
                    kind=step["kind"],
                    wait_minutes=step.get("wait_minutes", 0),
                    rules=step.get("rules", {}),
                    template=templates.get(step.get("template")),
                    channel_choice=step.get("channel_choice", ChannelChoice.FIXED),
                    channel=channels.get(step.get("channel")),
                    coupon_pool=pools.get(step.get("coupon_pool")),
                )
        journeys.append(journey)
    return {
        "templates": templates,
        "pools": pools,
        "segments": segments,
        "journeys": journeys,
        "upgraded": upgraded,
    }
