"""Messages arriving from customers, from any channel, into the one right conversation.

Threading rules, in order:
1. an email naming one of our messages in In-Reply-To / References joins that conversation;
2. an email whose subject carries a conversation token such as [#C-123], of the same customer;
3. a digit 1-5 answering a CSAT survey of a recently resolved conversation is stored as the
   answer (the conversation stays resolved);
4. otherwise the customer's open conversation, if they wrote or were answered within
   OPEN_WINDOW, whatever channel it was on: the Instagram question and the email follow-up
   are one thread;
5. otherwise a new conversation.

Retries are harmless: a channel's message id is stored once per channel.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.safe_urls import safe_url
from customers.services import resolve_customer
from support import live
from support.errors import InvalidPayload
from support.models import (
    Conversation,
    ConversationStatus,
    CsatResponse,
    Direction,
    Message,
    MessageKind,
)
from support.services import sla
from support.services.conversations import (
    active_conversation_for,
    live_conversation,
    note_channel_used,
    open_conversation,
    record_on_timeline,
    reopen,
    sanitise_html,
    text_of_html,
)

OPEN_WINDOW = timedelta(days=7)
CSAT_WINDOW = timedelta(days=7)
TOKEN_RE = re.compile(r"\[#C-(\d{1,12})\]")


@dataclass
class InboundMessage:
    """What an adapter read from a channel's payload."""

    channel: object
    identities: list
    text: str = ""
    html: str = ""
    external_id: str = ""
    subject: str = ""
    address: str = ""
    thread_ids: list = field(default_factory=list)
    attachments: list = field(default_factory=list)
    traits: dict | None = None
    # Identities the sender typed but nobody vouched for ([{kind, value}]): kept on the
    # message for the agent, never given to identity resolution.
    claims: list = field(default_factory=list)
    occurred_at: datetime | None = None
    kind: str = MessageKind.MESSAGE
    author: object = None  # the staff member who logged a call or a visit
    conversation: Conversation | None = None  # logged by staff on this conversation


@dataclass
class InboundResult:
    message: Message
    created: bool
    csat: CsatResponse | None = None


def duplicate_of(channel, external_id) -> Message | None:
    if not external_id:
        return None
    return (
        Message.objects.select_related("conversation")
        .filter(channel=channel, external_id=external_id)
        .first()
    )


def receive_inbound(inbound: InboundMessage) -> InboundResult:
    """Store one customer message in its conversation (see the module's threading rules),
    resolving the sender through identity resolution (an unknown sender becomes a customer).
    The same channel message id twice stores one message (created=False).
    Raises InvalidPayload (nothing to store), customers' InvalidIdentity."""
    html = sanitise_html(inbound.html)
    text = (inbound.text or "").strip() or text_of_html(html)
    if not text and not html and not inbound.attachments:
        raise InvalidPayload(
            "The message has no text, HTML or attachment.", fields={"text": ["Empty."]}
        )
    external_id = (inbound.external_id or "")[:255]
    existing = duplicate_of(inbound.channel, external_id)
    if existing is not None:
        return InboundResult(existing, False)
    try:
        with transaction.atomic():
            return _receive(inbound, text, html, external_id)
    except IntegrityError:
        # The same message id arrived twice at once; the other request stored it.
        existing = duplicate_of(inbound.channel, external_id)
        if existing is None:
            raise
        return InboundResult(existing, False)


def _receive(inbound: InboundMessage, text, html, external_id) -> InboundResult:
    now = timezone.now()
    occurred_at = inbound.occurred_at or now
    channel = inbound.channel
    if inbound.conversation is not None:
        conversation = Conversation.objects.select_for_update().get(pk=inbound.conversation.pk)
        customer = conversation.customer
    else:
        # Locks the customer's identities (and rows) until commit: two messages of one person
        # arriving together queue here instead of opening two conversations.
        customer = resolve_customer(
            inbound.identities, traits=inbound.traits, channel=channel, source="support"
        )
        conversation = None
    csat = None
    if conversation is None:
        # A bare 1-5 after a survey is its answer, even when the email quotes the survey.
        csat_target = csat_answer_target(customer, text, now)
        if csat_target is not None:
            conversation, csat = csat_target
        else:
            conversation = thread_for(customer, inbound, text, now)
    if conversation is None:
        conversation = open_conversation(
            customer, channel, subject=subject_of(inbound, text), now=now
        )
    # Every path above returns the conversation locked (or made in this transaction).

    message = Message.objects.create(
        conversation=conversation,
        direction=Direction.INBOUND,
        kind=inbound.kind,
        channel=channel,
        author=inbound.author,
        address=(inbound.address or "")[:255],
        subject=(inbound.subject or "")[:255],
        text=text,
        html=html,
        attachments=safe_attachments(inbound.attachments),
        external_id=external_id,
        thread_ids=[t[:255] for t in inbound.thread_ids or []][:50],
        claimed_identities=list(inbound.claims or [])[:10],
        created_at=occurred_at,
    )
    if csat is not None:
        csat.channel = channel
        csat.save()
    else:
        if conversation.status == ConversationStatus.RESOLVED:
            reopen(conversation, now)
        elif conversation.status == ConversationStatus.PENDING:
            conversation.status = ConversationStatus.OPEN
            sla.resume(conversation, now)
        elif conversation.status == ConversationStatus.SNOOZED:
            conversation.status = ConversationStatus.OPEN
            conversation.snoozed_until = None
        sla.customer_wrote(conversation, now)
        conversation.last_inbound_channel = channel
        conversation.last_inbound_at = max(occurred_at, conversation.last_inbound_at or occurred_at)
    note_channel_used(conversation, channel)
    if not conversation.subject and inbound.subject:
        conversation.subject = inbound.subject[:255]
    conversation.last_message_at = max(conversation.last_message_at, occurred_at)
    conversation.updated_at = now
    conversation.save()
    record_on_timeline(message, "message_received")
    live.conversation_changed(conversation, "message_received", message=message.pk)
    return InboundResult(message, True, csat)


def safe_attachments(attachments) -> list:
    """The attachments with only http(s) links kept: a provider's payload is the customer's
    words, and a `javascript:` URL stored here would become a link in the agent's page."""
    kept = []
    for attachment in attachments or []:
        if not isinstance(attachment, dict):
            continue
        attachment = dict(attachment)
        if "url" in attachment:
            url = safe_url(attachment["url"])
            if url:
                attachment["url"] = url
            else:
                del attachment["url"]
        kept.append(attachment)
    return kept


def subject_of(inbound: InboundMessage, text: str) -> str:
    if inbound.subject:
        return TOKEN_RE.sub("", inbound.subject).strip()
    first_line = (text or "").strip().splitlines()[0] if text.strip() else ""
    return first_line[:80]


def thread_for(customer, inbound: InboundMessage, text, now) -> Conversation | None:
    if inbound.thread_ids:
        referenced = Message.objects.filter(channel__kind=inbound.channel.kind).filter(
            Q(external_id__in=inbound.thread_ids) | Q(provider_message_id__in=inbound.thread_ids)
        )
        conversation_ids = [m.conversation_id for m in referenced]
        conversations = [
            live_conversation(c)
            for c in Conversation.objects.filter(pk__in=conversation_ids, customer=customer)
        ]
        usable = [c for c in conversations if c.status != ConversationStatus.CLOSED]
        if usable:
            chosen = max(usable, key=lambda c: c.last_message_at)
            return Conversation.objects.select_for_update().get(pk=chosen.pk)
    match = TOKEN_RE.search(inbound.subject or "")
    if match:
        conversation = Conversation.objects.filter(pk=int(match.group(1))).first()
        if conversation is not None:
            conversation = live_conversation(conversation)
            # Only the customer's own conversation: a token alone must not let anyone write
            # into someone else's thread.
            if (
                conversation.customer_id == customer.pk
                and conversation.status != ConversationStatus.CLOSED
            ):
                return Conversation.objects.select_for_update().get(pk=conversation.pk)
    return active_conversation_for(customer, since=now - OPEN_WINDOW)


def rating_in(text: str) -> int | None:
    """ "5", " 4 ", "۵" (Persian), "٣" (Arabic) -> the rating; anything longer is a message."""
    cleaned = (text or "").strip().rstrip(".!")
    if len(cleaned) != 1:
        return None
    try:
        value = unicodedata.digit(cleaned)
    except (TypeError, ValueError):
        return None
    return value if 1 <= value <= 5 else None


def csat_answer_target(customer, text, now):
    rating = rating_in(text)
    if rating is None:
        return None
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .filter(
            customer=customer,
            status=ConversationStatus.RESOLVED,
            csat_sent_at__gte=now - CSAT_WINDOW,
            csat__isnull=True,
        )
        .order_by("-csat_sent_at")
        .first()
    )
    if conversation is None:
        return None
    return conversation, CsatResponse(
        conversation=conversation,
        rating=rating,
        agent=conversation.assignee,
        team=conversation.team,
        created_at=now,
    )
