"""Support's demo stages: teams with hours and holidays, SLA policies, canned replies (English,
Persian, Azerbaijani), a few hundred conversations across every channel (bulk-created), and
Sara Rahimi's Instagram defect report with her email follow-up in the same conversation, made
through the real services."""

from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from core.demo import register_stage, story_clock
from core.factories import StaffUserFactory
from core.models import Channel, ProviderTemplate
from core.providers import ProviderError
from customers.normalise import IdentityKey
from customers.selectors import customer_for_identity, customers_list, timeline_for
from customers.services import resolve_customer
from orders.selectors import order_by_number, orders_list
from support.adapters import ADAPTERS, webchat_message
from support.factories import (
    BusinessHoursFactory,
    CannedReplyFactory,
    ConversationFactory,
    MessageFactory,
    SlaPolicyFactory,
    TeamFactory,
)
from support.models import (
    AssignmentStrategy,
    Conversation,
    ConversationStatus,
    CsatResponse,
    DeliveryStatus,
    Direction,
    Holiday,
    Message,
    MessageKind,
    Priority,
    Review,
    ReviewStatus,
    Team,
    TeamMembership,
)
from support.services import InboundMessage, log_contact, receive_inbound, reply
from support.services.outbound import failure_text
from support.services.reviews import moderate_review, submit_review
from support.services.sla import Calendar, calendar_for, config_changed, policy_for, refresh_due

SARA_EMAIL = "sara@example.com"
SARA_MID = "demo-sara-instagram-defect"
POLICIES = {  # priority: first response, next response, resolution (business minutes)
    Priority.LOW: (480, 960, 4320),
    Priority.NORMAL: (120, 240, 1440),
    Priority.HIGH: (60, 120, 480),
    Priority.URGENT: (15, 30, 240),
}
# The English replies' titles in the other shipped languages (CannedReply.names).
CANNED_NAMES = {
    "greeting": {"fa": "خوشامدگویی", "ar": "ترحيب", "az": "Salamlama", "be": "Прывітанне"},
    "defect-replacement": {"fa": "ایراد کالا: ارسال جایگزین", "ar": "عيب: إرسال بديل", "az": "Qüsur: əvəzini göndərmək", "be": "Брак: замена"},
    "order-status": {"fa": "سفارش من کجاست", "ar": "أين طلبي", "az": "Sifarişim haradadır", "be": "Дзе мой заказ"},
}  # fmt: skip
TEAM_NAMES = {
    "Online care": {"fa": "پشتیبانی آنلاین", "ar": "خدمة العملاء عبر الإنترنت", "az": "Onlayn dəstək", "be": "Анлайн-падтрымка"},
    "Stores and phone": {"fa": "فروشگاه‌ها و تلفن", "ar": "المتاجر والهاتف", "az": "Mağazalar və telefon", "be": "Крамы і тэлефон"},
}  # fmt: skip
CANNED = [
    ("Greeting", "greeting", "en", "Hello {first_name}, thank you for writing to us. {agent_name}"),
    (
        "Defect: replacement",
        "defect-replacement",
        "en",
        "Dear {first_name}, we are sorry about the defect. A courier will bring a new pair and "
        "take the defective one back (order {order_number}). {agent_name}",
    ),
    (
        "Where is my order",
        "order-status",
        "en",
        "Hi {first_name}, your order {order_number} is on its way; you will get the tracking "
        "link by SMS.",
    ),
    (
        "سلام و خوشامد",
        "salam",
        "fa",
        "سلام {first_name} عزیز، از پیام شما سپاسگزاریم. {agent_name}",
    ),
    (
        "ارسال جایگزین",
        "jaygozin",
        "fa",
        "{first_name} عزیز، بابت ایراد کالا پوزش می‌خواهیم. پیک ما جفت جدید را می‌آورد و "
        "جفت معیوب را تحویل می‌گیرد (سفارش {order_number}).",
    ),
    ("Salamlama", "salam-az", "az", "Salam {first_name}, bizə yazdığınız üçün təşəkkür edirik."),
]
TOPICS = {
    "en": [
        "Where is my order?",
        "Can I exchange for another size?",
        "The zip broke after two days",
        "Is the black pair back in stock?",
        "I was charged twice",
        "Can I pick up in the Tajrish store?",
    ],
    "fa": [
        "سفارش من کجاست؟",
        "می‌توانم سایز را عوض کنم؟",
        "کفش بعد از یک هفته پاره شد",
        "رنگ مشکی دوباره موجود می‌شود؟",
    ],
    "az": ["Sifarişim haradadır?", "Ölçünü dəyişə bilərəmmi?"],
}
ANSWERS = {
    "en": "Thank you, we are looking into it and will get back to you today.",
    "fa": "سپاس از پیام شما؛ در حال بررسی هستیم و امروز پاسخ می‌دهیم.",
    "az": "Təşəkkür edirik, bu gün sizə cavab verəcəyik.",
}
CHANNEL_MIX = (
    ["email"] * 4
    + ["instagram"] * 3
    + ["whatsapp"] * 3
    + ["telegram"] * 2
    + [
        "sms",
        "sms",
        "messenger",
        "phone",
        "phone",
        "store",
    ]
)


def _agents(ctx):
    User = get_user_model()
    agents = list(User.objects.filter(username__in=["support_agent", "support_lead"]))
    locales = ["fa_IR", "az_AZ", "en_US", "ar_AA"]
    for index in range(4):
        faker = ctx.faker(locales[index])
        agents.append(
            StaffUserFactory(
                username=f"agent{index + 1}",
                roles=["Support agent"],
                first_name=faker.first_name(),
                last_name=faker.last_name(),
            )
        )
    return agents


def _teams(ctx, agents):
    if Team.objects.exists():
        return list(Team.objects.all())
    lead = next((a for a in agents if a.username == "support_lead"), None)
    online = TeamFactory(
        name="Online care",
        names=TEAM_NAMES["Online care"],
        lead=lead,
        channel_kinds=["email", "web", "sms", "whatsapp", "telegram", "instagram", "messenger"],
        assignment_strategy=AssignmentStrategy.ROUND_ROBIN,
    )
    stores = TeamFactory(
        name="Stores and phone",
        names=TEAM_NAMES["Stores and phone"],
        lead=lead,
        channel_kinds=["phone", "store"],
        assignment_strategy=AssignmentStrategy.LEAST_OPEN,
        is_default=True,
    )
    # Tehran works Saturday to Wednesday and Thursday morning; Baku stores Monday to Saturday.
    tehran = BusinessHoursFactory(
        team=online,
        time_zone="Asia/Tehran",
        weekly={
            **{str(d): [["09:00", "18:00"]] for d in (6, 7, 1, 2, 3)},
            "4": [["09:00", "13:00"]],
        },
    )
    BusinessHoursFactory(
        team=stores,
        time_zone="Asia/Baku",
        weekly={str(d): [["10:00", "20:00"]] for d in (1, 2, 3, 4, 5, 6)},
    )
    year = timezone.now().year + 1
    Holiday.objects.bulk_create(
        [
            Holiday(business_hours=tehran, date=date(year, 3, day), name="Nowruz")
            for day in (20, 21, 22, 23)
        ]
    )
    config_changed()  # bulk_create sends no signal: the cached calendars must refresh
    memberships = []
    for index, agent in enumerate(agents):
        memberships.append(TeamMembership(team=online, user=agent))
        if index % 2 == 0:
            memberships.append(TeamMembership(team=stores, user=agent))
    TeamMembership.objects.bulk_create(memberships)
    for priority, (first, following, resolution) in POLICIES.items():
        SlaPolicyFactory(
            priority=priority,
            first_response_minutes=first,
            next_response_minutes=following,
            resolution_minutes=resolution,
        )
    for title, shortcut, language, body in CANNED:
        CannedReplyFactory(
            title=title,
            shortcut=shortcut,
            language=language,
            body=body,
            names=CANNED_NAMES.get(shortcut, {}),
        )
    ctx.created("support teams", 2)
    ctx.created("canned replies", len(CANNED))
    return [online, stores]


@register_stage("support.inbox", order=60, label="Support inbox")
def seed_support(ctx):
    if Conversation.objects.filter(messages__external_id=SARA_MID).exists():
        return
    agents = _agents(ctx)
    teams = _teams(ctx, agents)
    channels = {c.code: c for c in Channel.objects.all()}
    _inbound_secrets(ctx, channels.values())
    _many(ctx, channels, teams, agents)
    _sara(ctx, channels, agents)
    _web_chat(ctx, channels, agents)
    _merged_threads(ctx, channels, agents)
    _window_closed(ctx, channels, agents)
    _reviews(ctx)


def _inbound_secrets(ctx, channels):
    """Give each channel the webhooks serve a known secret, so the demo's inbound webhooks
    accept signed requests (a real deployment sets its provider's secret instead)."""
    kinds = {kind: path for path, (kind, _parse) in ADAPTERS.items()}
    for channel in channels:
        path = kinds.get(channel.kind)
        if path is None or (channel.provider_settings or {}).get("inbound_secret"):
            continue
        secret = f"demo-{channel.code}-inbound"
        channel.provider_settings = {**(channel.provider_settings or {}), "inbound_secret": secret}
        if path == "webchat":
            # The shop vouches for a signed-in visitor with an HMAC under this one.
            channel.provider_settings["identity_secret"] = f"demo-{channel.code}-identity"
        channel.save(update_fields=["provider_settings"])
        ctx.note(
            "Inbound webhook secrets (demo only, change them):",
            f"POST /api/v1/inbound/{path}?channel={channel.code:<10} secret {secret}",
        )
        if path == "webchat":
            ctx.note(
                "Inbound webhook secrets (demo only, change them):",
                f"  web chat identifier_hash secret {channel.provider_settings['identity_secret']}",
            )


def _many(ctx, channels, teams, agents):
    customers = ctx.shared.get("customers") or list(customers_list()[:300])
    sara = customer_for_identity(IdentityKey("email", SARA_EMAIL))
    # Sara's own story is told by _sara; a random open conversation would swallow it.
    customers = [c for c in customers if not c.is_anonymous and c != sara] or customers
    if not customers:
        return
    by_kind = {team_kind: team for team in teams for team_kind in team.channel_kinds}
    calendars = {team.pk: calendar_for(team) for team in teams}
    policies = {
        (team.pk, priority): policy_for(team, priority) for team in teams for priority in Priority
    }
    now = timezone.now()
    conversations, threads = [], []
    for number in ctx.progress(range(ctx.scale(300)), "Conversations"):
        code = ctx.random.choice(CHANNEL_MIX)
        channel = channels.get(code)
        if channel is None:
            continue
        customer = ctx.random.choice(customers)
        language = {"fa": "fa", "az": "az"}.get((customer.locale or "")[:2], "en")
        team = by_kind.get(channel.kind, teams[-1])
        created = now - timedelta(minutes=ctx.random.uniform(10, 60 * 24 * 30))
        status = ctx.random.choices(
            [
                ConversationStatus.OPEN,
                ConversationStatus.PENDING,
                ConversationStatus.RESOLVED,
                ConversationStatus.CLOSED,
            ],
            weights=[30, 10, 50, 10],
        )[0]
        priority = ctx.random.choices(list(Priority), weights=[15, 60, 20, 5])[0]
        conversation = ConversationFactory.build(
            customer=customer,
            subject=ctx.random.choice(TOPICS[language]),
            status=status,
            priority=priority,
            team=team,
            assignee=ctx.random.choice(agents) if ctx.random.random() < 0.75 else None,
            started_channel=channel,
            last_inbound_channel=channel,
            channels_used=[channel.kind],
            created_at=created,
            updated_at=created,
            last_message_at=created,
            last_inbound_at=created,
        )
        policy = policies.get((team.pk, priority))
        calendar = calendars.get(team.pk) or Calendar()
        if policy is not None:
            conversation.first_response_due_at = calendar.add(
                created, timedelta(minutes=policy.first_response_minutes)
            )
            conversation.resolution_due_at = calendar.add(
                created, timedelta(minutes=policy.resolution_minutes)
            )
        answered = status != ConversationStatus.OPEN or ctx.random.random() < 0.5
        if answered:
            response = timedelta(minutes=ctx.random.uniform(3, 600))
            conversation.first_response_at = created + response
            conversation.first_response_seconds = int(response.total_seconds())
            conversation.last_message_at = conversation.first_response_at
        if status in (ConversationStatus.RESOLVED, ConversationStatus.CLOSED):
            took = timedelta(minutes=ctx.random.uniform(30, 60 * 72))
            conversation.resolved_at = min(now, created + max(took, response))
            conversation.resolution_seconds = int(
                (conversation.resolved_at - created).total_seconds()
            )
            conversation.last_message_at = conversation.resolved_at
            conversation.csat_sent_at = conversation.resolved_at
        if status == ConversationStatus.PENDING:
            conversation.sla_paused_at = conversation.last_message_at
        for name, due in (
            ("first_response", conversation.first_response_due_at),
            ("resolution", conversation.resolution_due_at),
        ):
            done = (
                conversation.first_response_at
                if name == "first_response"
                else conversation.resolved_at
            )
            if due and (done or now) > due:
                setattr(conversation, f"{name}_breached", True)
        refresh_due(conversation, now)
        conversations.append(conversation)
        threads.append((conversation, channel, language, number, answered))
    Conversation.objects.bulk_create(conversations, batch_size=500)

    messages, ratings = [], []
    for conversation, channel, language, number, answered in threads:
        inbound_kind = {"phone": MessageKind.CALL, "store": MessageKind.VISIT}.get(
            channel.kind, MessageKind.MESSAGE
        )
        messages.append(
            MessageFactory.build(
                conversation=conversation,
                direction=Direction.INBOUND,
                kind=inbound_kind,
                channel=channel,
                author=conversation.assignee if inbound_kind != MessageKind.MESSAGE else None,
                text=conversation.subject,
                external_id=f"demo-{number}-in",
                created_at=conversation.created_at,
            )
        )
        if answered and channel.provider:
            messages.append(
                MessageFactory.build(
                    conversation=conversation,
                    direction=Direction.OUTBOUND,
                    channel=channel,
                    author=conversation.assignee,
                    text=ANSWERS[language],
                    delivery_status=ctx.random.choice(
                        [DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ]
                    ),
                    provider_message_id=f"demo-{number}-out",
                    created_at=conversation.first_response_at,
                    sent_at=conversation.first_response_at,
                )
            )
        if ctx.random.random() < 0.15:
            messages.append(
                MessageFactory.build(
                    conversation=conversation,
                    direction=Direction.NOTE,
                    channel=None,
                    author=conversation.assignee,
                    text="Checked stock in Tajrish: one pair left.",
                    created_at=conversation.created_at + timedelta(minutes=1),
                )
            )
        if conversation.csat_sent_at and ctx.random.random() < 0.4:
            ratings.append(
                CsatResponse(
                    conversation=conversation,
                    rating=ctx.random.choices([1, 2, 3, 4, 5], weights=[5, 5, 10, 30, 50])[0],
                    channel=channel,
                    agent=conversation.assignee,
                    team=conversation.team,
                    created_at=conversation.csat_sent_at + timedelta(hours=1),
                )
            )
    Message.objects.bulk_create(messages, batch_size=1000)
    CsatResponse.objects.bulk_create(ratings, batch_size=500)
    ctx.created("conversations", len(conversations))
    ctx.created("support messages", len(messages))
    ctx.created("CSAT answers", len(ratings))


def _sara(ctx, channels, agents):
    """Story 1's defect report: Instagram first, then an email in the same conversation."""
    sara = ctx.shared.get("sara") or customer_for_identity(IdentityKey("email", SARA_EMAIL))
    instagram, email = channels.get("instagram"), channels.get("email")
    if sara is None or instagram is None or email is None:
        return
    handle = next((i.value for i in sara.identities.all() if i.kind == "instagram"), "sara.rahimi")
    order_number = next(
        (
            str(e.properties.get("order_id"))
            for e in timeline_for(sara).filter(name__in=["order_completed", "defect_reported"])[:5]
            if e.properties.get("order_id")
        ),
        "",
    )
    # Her report comes at the story's defect date (the orders stage sets it), after her order.
    reported_at = ctx.shared.get("sara_defect_at") or timezone.now() - timedelta(hours=3)
    with story_clock(reported_at) as clock:
        conversation = _sara_reports_the_defect(sara, instagram, email, agents, handle, clock)
    Conversation.objects.filter(pk=conversation.pk).update(related_order_number=order_number)
    ctx.shared["sara_conversation"] = conversation
    ctx.created("story conversations", 1)  # Sara's defect


def _sara_reports_the_defect(sara, instagram, email, agents, handle, clock):
    """Her Instagram message, the agent's answer 20 minutes later, her receipt by email an
    hour after that: one conversation across two channels."""
    now = timezone.now()
    result = receive_inbound(
        InboundMessage(
            channel=instagram,
            identities=[{"kind": "instagram", "value": handle}],
            text="Salam! The sole of my new black shoes came off after one week. Photo attached.",
            external_id=SARA_MID,
            address=handle,
            attachments=[{"type": "image", "url": "https://example.com/demo/sole.jpg"}],
            occurred_at=now,
        )
    )
    conversation = result.message.conversation
    Conversation.objects.filter(pk=conversation.pk).update(
        priority=Priority.HIGH,
        subject="Defective shoes: the sole came off",
    )
    agent = next((a for a in agents if a.username == "support_agent"), None)
    conversation.refresh_from_db()
    if agent is not None:
        TeamMembership.objects.get_or_create(
            team=conversation.team or Team.objects.first(), user=agent
        )
        Conversation.objects.filter(pk=conversation.pk).update(assignee=agent)
    clock.shift(timedelta(minutes=20))
    reply(
        conversation,
        agent,
        "Dear Sara, we are so sorry. Could you email us the receipt? We will send a courier "
        "with a new pair.",
        channel=instagram,
    )
    clock.shift(timedelta(minutes=60))
    receive_inbound(
        InboundMessage(
            channel=email,
            identities=[{"kind": "email", "value": SARA_EMAIL}],
            text="Hello, here is the receipt for the black pair.",
            subject="Receipt for the defective shoes",
            external_id="<demo-sara-receipt@example.com>",
            address=SARA_EMAIL,
            attachments=[
                {"filename": "receipt.pdf", "content_type": "application/pdf", "size": 48213}
            ],
        )
    )
    return conversation


def _web_chat(ctx, channels, agents):
    """A visitor's question through the shop's chat widget and the agent's answer, which the
    widget shows her (try it at /support/widget/demo)."""
    web = channels.get("web")
    if web is None:
        return
    if not web.messages:
        web.messages = True  # the widget reads its visitors' replies
        web.save(update_fields=["messages"])
    message = receive_inbound(
        webchat_message(
            web,
            {
                "id": "widget:demo-visitor-0001:1",
                "visitor_id": "demo-visitor-0001",
                "text": "Hi! Is the green wool scarf back in stock in size M?",
                "email": "guest.shopper@example.com",
            },
        )
    ).message
    agent = next((a for a in agents if a.username == "support_agent"), None)
    reply(message.conversation, agent, "Hello! Yes, it came back this morning.", channel=web)
    ctx.created("story conversations", 1)  # the web chat


def _merged_threads(ctx, channels, agents):
    """A call from a known number, then an Instagram message from an unknown handle; the
    shop later learns both are one person: her threads fold into one, the newer merged."""
    phone, instagram = channels.get("phone"), channels.get("instagram")
    if phone is None or instagram is None:
        return
    agent = next((a for a in agents if a.username == "support_agent"), None)
    number, handle = "+989125550199", "demo.merged.shopper"
    log_contact(
        phone,
        author=agent,
        text="Asked when her order of two cushions ships.",
        identities=[{"kind": "phone", "value": number}],
        external_id="demo-merge-call",
    )
    receive_inbound(
        InboundMessage(
            channel=instagram,
            identities=[{"kind": "instagram", "value": handle}],
            text="Hi, any news about my cushions?",
            external_id="demo-merge-dm",
            address=handle,
        )
    )
    resolve_customer(
        [{"kind": "phone", "value": number}, {"kind": "instagram", "value": handle}],
        channel=instagram,
        source="demo",
    )
    ctx.created("story conversations", 1)  # the merged one


def _window_closed(ctx, channels, agents):
    """WhatsApp's approved templates, and a customer who wrote two days ago: the agent's free
    text reply was refused as the Cloud API refuses it outside the 24-hour window (131047), so
    her conversation offers the templates instead. The row is written as that answer left it:
    nothing is sent at seed time."""

    whatsapp = channels.get("whatsapp")
    if whatsapp is None:
        return
    templates = [
        (
            "order_follow_up",
            "fa",
            "سلام {{1}}، پاسخ پرسش شما آماده است. لطفاً به این پیام پاسخ دهید.",
            ["first_name"],
        ),
        (
            "order_follow_up",
            "en_US",
            "Hello {{1}}, we have an answer to your question. Reply to this message to read it.",
            ["first_name"],
        ),
        (
            "order_update",
            "en_US",
            "Hello {{1}}, news about your order {{2}}: reply to this message to read it.",
            ["first_name", "order_number"],
        ),
    ]
    for name, language, text, parameters in templates:
        ProviderTemplate.objects.get_or_create(
            channel=whatsapp,
            name=name,
            language=language,
            defaults={"text": text, "parameters": parameters},
        )
    number = "+989125550277"
    question = receive_inbound(
        InboundMessage(
            channel=whatsapp,
            identities=[{"kind": "whatsapp", "value": number}],
            traits={"first_name": "Leila", "last_name": "Moradi"},
            text="سلام، کفش‌های سایز ۳۸ کی دوباره موجود می‌شوند؟",
            external_id="wamid.demo-window-closed-1",
            address=number,
            occurred_at=timezone.now() - timedelta(days=2),
        )
    ).message
    agent = next((a for a in agents if a.username == "support_agent"), None)
    error = ProviderError(
        "WhatsApp 400 (#131047): Re-engagement message",
        scope=ProviderError.MESSAGE,
        code="131047",
    )
    Message.objects.create(
        conversation=question.conversation,
        direction=Direction.OUTBOUND,
        channel=whatsapp,
        author=agent,
        address=number,
        text="Next Monday, in all sizes.",
        delivery_status=DeliveryStatus.FAILED,
        send_attempts=1,
        error_code="131047",
        last_error=failure_text(error),
        created_at=timezone.now() - timedelta(hours=2),
    )
    ctx.created("WhatsApp templates", len(templates))


# Stars of the demo's reviews, newest orders first; the first two are approved, the low ones
# open their conversations, the rest wait on the moderation page.
DEMO_REVIEWS = [
    (5, "Exactly as pictured, and it arrived a day early."),
    (4, "Comfortable from the first day; the size runs a little small."),
    (1, "The sole came off after a week."),
    (5, "راحت و سبک، برای پیاده‌روی عالی است."),
    (2, "The colour is not the one on the website."),
    (3, ""),
]


def _reviews(ctx):
    """Reviews of recent orders, as customers send them from the review request's link: some
    approved (the products' ratings), some waiting for moderation, low ones with their
    conversations. Part of the inbox stage (after the orders), not a stage of its own: one
    line more of seed_demo's output for six rows is not worth it."""
    if Review.objects.exists():
        return
    numbers = [
        number
        for number in orders_list()
        .filter(customer__isnull=False, customer__is_anonymous=False)
        .exclude(number=None)
        .values_list("number", flat=True)[: len(DEMO_REVIEWS) * 3]
    ]
    made, seen = 0, set()
    for number in numbers:
        if made == len(DEMO_REVIEWS):
            break
        order = order_by_number(number)
        line = order.lines.first() if order is not None else None
        if line is None or order.customer_id in seen:
            continue
        seen.add(order.customer_id)
        rating, text = DEMO_REVIEWS[made]
        review, _created = submit_review(
            customer=order.customer,
            order=order,
            sku=line.sku,
            rating=rating,
            text=text,
            language=order.customer.locale[:2] if order.customer.locale else "",
        )
        if made < 2:
            moderate_review(review, ReviewStatus.APPROVED)
        made += 1
    ctx.created("product reviews", made)
