"""Reads of the inbox shared by the staff pages, the API, the customer 360 panel and the
dashboard."""

from dataclasses import dataclass

from django.core.paginator import Paginator
from django.db.models import Count, F, Prefetch, Q
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from campaigns.selectors import coupons_of, loyalty_of
from core.models import Channel
from customers.errors import InvalidIdentity
from customers.normalise import normalise_identity
from customers.selectors import customer_for_identity, customers_named, timeline_for
from orders.selectors import orders_of_customer
from support.models import (
    ACTIVE_STATUSES,
    AgentNotification,
    CannedReply,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Message,
    Review,
    Team,
)


class CappedPaginator(Paginator):
    """Counts at most COUNT_CAP rows: the inbox shows "1000+" rather than counting a whole
    year of conversations on every page view."""

    COUNT_CAP = 1000

    @cached_property
    def count(self):
        # Only the ids: the joined rows do not change how many there are. The order stays:
        # it steers PostgreSQL to the status-led inbox index instead of a scan of the table.
        return self.object_list.values("pk")[: self.COUNT_CAP + 1].count()

    @property
    def is_capped(self):
        return self.count > self.COUNT_CAP


@dataclass
class InboxFilters:
    view: str = ""  # "mine", "unassigned" or ""
    team: int | None = None
    channel: str = ""  # channel kind or code
    status: str = "open"  # a status, "active" (open, pending, snoozed) or "all"
    priority: int | None = None
    tag: str = ""
    breaching: bool = False
    q: str = ""


def inbox_conversations(user, filters: InboxFilters, *, now=None):
    """The inbox list: what breaches first on top, then the rest by latest message."""
    now = now or timezone.now()
    # Only what the list shows: each extra join costs planning time on every page view.
    conversations = Conversation.objects.filter(merged_into__isnull=True).select_related(
        "customer", "assignee", "team"
    )
    if filters.status == "active":
        conversations = conversations.filter(status__in=ACTIVE_STATUSES)
    elif filters.status and filters.status != "all":
        conversations = conversations.filter(status=filters.status)
    if filters.view == "mine":
        conversations = conversations.filter(assignee=user)
    elif filters.view == "unassigned":
        conversations = conversations.filter(assignee__isnull=True)
    if filters.team:
        conversations = conversations.filter(team_id=filters.team)
    if filters.channel:
        channel_ids = list(
            Channel.objects.filter(Q(kind=filters.channel) | Q(code=filters.channel)).values_list(
                "pk", flat=True
            )
        )
        # Where the customer last wrote: the channel a reply goes out on by default.
        conversations = conversations.filter(last_inbound_channel_id__in=channel_ids)
    if filters.priority:
        conversations = conversations.filter(priority=filters.priority)
    if filters.tag:
        conversations = conversations.filter(tags__name=filters.tag)
    if filters.breaching:
        conversations = conversations.filter(sla_due_at__lte=now)
    query = (filters.q or "").strip()
    if query:
        conversations = conversations.filter(search_condition(query))
    return conversations.order_by(F("sla_due_at").asc(nulls_last=True), "-last_message_at", "-id")


def search_condition(query: str) -> Q:
    """A conversation number (#C-12, 12), an exact identity (email, phone, handle: one
    indexed lookup), or words of the subject and the customer's name."""
    number = query.lstrip("#").removeprefix("C-").removeprefix("c-")
    if number.isdigit() and len(number) < 10:
        return Q(pk=int(number))
    customer_ids = set()
    for kind in identity_kinds_for(query):
        try:
            customer = customer_for_identity(normalise_identity(kind, query))
        except InvalidIdentity:
            continue
        if customer is not None:
            customer_ids.add(customer.pk)
    if customer_ids:
        return Q(customer_id__in=customer_ids)
    # Words of a name or subject: every word must match the subject or the customer's name.
    # The names are a subquery answered by customers' trigram indexes, so PostgreSQL walks the
    # inbox index in list order and stops at a page, instead of joining every open
    # conversation to its customer (customers.selectors.search_customers would also scan
    # every identity value, which costs seconds at 100,000 conversations).
    condition = Q()
    for word in query.split()[:5]:
        condition &= Q(subject__icontains=word) | Q(customer_id__in=customers_named(word))
    return condition


def identity_kinds_for(query: str) -> list[str]:
    if "@" in query and not query.startswith("@"):
        return ["email"]
    digits = query.lstrip("+").replace(" ", "").replace("-", "")
    if digits.isdigit() and len(digits) >= 7:
        return ["phone", "whatsapp", "telegram"]
    if query.startswith("@"):
        return ["instagram", "telegram"]
    return []


def conversation_detail(pk):
    return (
        Conversation.objects.select_related(
            "customer", "assignee", "team", "last_inbound_channel", "started_channel", "csat"
        )
        .prefetch_related(
            "tags",
            Prefetch(
                "messages",
                queryset=Message.objects.select_related("channel", "author").order_by(
                    "created_at", "id"
                ),
            ),
        )
        .get(pk=pk)
    )


def previous_conversations(customer, *, exclude=None, limit=10):
    conversations = Conversation.objects.filter(customer=customer, merged_into__isnull=True)
    if exclude is not None:
        conversations = conversations.exclude(pk=exclude.pk)
    return conversations.select_related("started_channel").order_by("-last_message_at")[:limit]


def customer_panel(customer, *, exclude=None) -> dict:
    """What the agent sees of the customer beside a conversation: identities, orders from
    every channel, coupons, the recent timeline and earlier conversations."""
    orders = list(orders_of_customer(customer)[:8])
    reviews = {}
    for review in Review.objects.filter(
        customer=customer, order_number__in=[order.number for order in orders if order.number]
    ).order_by("sku", "id"):
        reviews.setdefault(review.order_number, []).append(review)
    for order in orders:
        order.reviews_shown = reviews.get(order.number, [])  # beside the order, for the agent
    return {
        "customer": customer,
        "identities": list(customer.identities.all()),
        "orders": orders,
        "coupons": list(coupons_of(customer, limit=5)),
        "loyalty": loyalty_of(customer, brief=True),
        "timeline": list(timeline_for(customer)[:10]),
        "conversations": list(previous_conversations(customer, exclude=exclude)),
    }


CLAIM_LABELS = {"email": _("Email"), "phone": _("Phone"), "name": _("Name")}


def unverified_claims(messages, customer, identities) -> list[dict]:
    """What the sender typed about herself in these messages without proof (web chat), less
    what her profile already holds: [{kind, label, value}], each once, in order of arrival.
    A claim is no reason to show anyone's data: the agent asks her to sign in instead."""
    held = {(identity.kind, identity.value) for identity in identities}
    full_name = customer.full_name.casefold()
    claims, seen = [], set()
    for message in messages:
        for claim in message.claimed_identities or []:
            kind, value = str(claim.get("kind", "")), str(claim.get("value", ""))
            if not value or (kind, value) in seen or (kind, value) in held:
                continue
            if kind == "name" and full_name and value.casefold() == full_name:
                continue
            seen.add((kind, value))
            claims.append({"kind": kind, "label": CLAIM_LABELS.get(kind, kind), "value": value})
    return claims


def customer_panel_context(request, customer) -> dict:
    """The customer 360 page's support panel."""
    return {"conversations": list(previous_conversations(customer, limit=20))}


def canned_replies_for(conversation):
    return CannedReply.objects.filter(Q(team__isnull=True) | Q(team=conversation.team_id))


def unread_notifications(user):
    return (
        AgentNotification.objects.filter(user=user, read_at__isnull=True)
        .select_related("conversation")
        .order_by("-created_at")
    )


def inbox_counts(user, *, now=None) -> dict:
    now = now or timezone.now()
    live = Conversation.objects.filter(merged_into__isnull=True, status=ConversationStatus.OPEN)
    return live.aggregate(
        open=Count("id"),
        unassigned=Count("id", filter=Q(assignee__isnull=True)),
        mine=Count("id", filter=Q(assignee=user)) if user.is_authenticated else Count("id"),
        breaching=Count("id", filter=Q(sla_due_at__lte=now)),
    )


def dashboard_context(request) -> dict:
    return {"support": inbox_counts(request.user)}


def teams():
    return Team.objects.order_by("name")


def awaiting_receipt(channel, since) -> list[str]:
    """Provider ids of this channel's replies sent since `since` that no receipt has settled
    yet: what a polled SMS gateway (core.providers.kavenegar) is asked about."""
    return list(
        Message.objects.filter(
            channel=channel,
            direction=Direction.OUTBOUND,
            delivery_status=DeliveryStatus.SENT,
            sent_at__gte=since,
        )
        .exclude(provider_message_id="")
        .values_list("provider_message_id", flat=True)[:50_000]
    )
