"""Conversation life: opening one, adding messages, status changes (pending pauses the SLA,
resolving sends the CSAT survey), internal notes with @mentions, tags, merge and split.
"""

import re
from html import unescape

import nh3
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.text import slugify
from django.utils.translation import gettext as _

from core.services.outbox import publish
from customers.errors import CustomerErased
from customers.services import record_event
from support import live
from support.errors import CannotMerge, CannotSplit, IllegalTransition
from support.models import (
    ACTIVE_STATUSES,
    AgentNotification,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    NotificationKind,
    Tag,
)
from support.services import sla
from support.services.assignment import (
    agent_for_new_conversation,
    note_assigned,
    team_for_channel,
)

MENTION_RE = re.compile(r"(?<![\w@])@([\w.+-]{1,150})")
ALLOWED_TAGS = {
    "a", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "hr", "i", "img",
    "li", "ol", "p", "pre", "span", "strong", "table", "tbody", "td", "th", "thead", "tr", "u",
    "ul",
}  # fmt: skip


def sanitise_html(html: str) -> str:
    """What a customer's HTML may keep when shown to agents: no scripts, styles, event
    handlers or javascript: links (nh3, the Rust ammonia sanitiser)."""
    if not html:
        return ""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}, "img": {"src", "alt"}, "td": {"colspan"}},
        url_schemes={"http", "https", "mailto", "cid"},
        link_rel="noopener noreferrer nofollow",
    )


def text_of_html(html: str) -> str:
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>", "\n", html or "")

    return re.sub(r"\n{3,}", "\n\n", unescape(strip_tags(text))).strip()


def record_on_timeline(message: Message, name: str) -> None:
    """The customer's timeline shows each message (its channel, the conversation)."""
    conversation = message.conversation
    try:
        record_event(
            conversation.customer,
            name,
            channel=message.channel,
            occurred_at=message.created_at,
            properties={
                "conversation_id": conversation.pk,
                "support_message_id": message.pk,
                "subject": conversation.subject[:200],
                "kind": message.kind,
            },
            message_id=f"support-{name}-{message.pk}",
            source="support",
        )
    except CustomerErased:
        pass


def open_conversation(customer, channel, *, subject="", now=None, priority=None) -> Conversation:
    """A new conversation for the customer, routed to a team, with SLA clocks started and
    auto-assigned by the team's rule (the row is inserted already assigned)."""
    now = now or timezone.now()
    team = team_for_channel(channel)
    conversation = Conversation(
        customer=customer,
        subject=(subject or "")[:255],
        started_channel=channel,
        last_inbound_channel=None,
        channels_used=[channel.kind],
        team=team,
        created_at=now,
        updated_at=now,
        last_message_at=now,
    )
    if priority is not None:
        conversation.priority = priority
    sla.start_clocks(conversation, now)
    # The team's memberships stay locked until the row is written. No savepoint: nothing
    # here is retried, an error fails the caller's whole transaction.
    with transaction.atomic(savepoint=False):
        conversation.assignee = agent_for_new_conversation(team)
        conversation.save()
        if conversation.assignee_id:
            note_assigned(conversation, conversation.assignee, now=now)
    return conversation


def note_channel_used(conversation: Conversation, channel) -> None:
    if channel is not None and channel.kind not in (conversation.channels_used or []):
        conversation.channels_used = [*conversation.channels_used, channel.kind]


def live_conversation(conversation: Conversation) -> Conversation:
    """Follow merges to the conversation that now holds the thread."""
    seen = set()
    while conversation.merged_into_id and conversation.pk not in seen:
        seen.add(conversation.pk)
        conversation = Conversation.objects.get(pk=conversation.merged_into_id)
    return conversation


def add_note(conversation: Conversation, author, text: str) -> Message:
    """An internal note, never sent. `@username` mentions notify those agents."""
    text = (text or "").strip()
    if not text:
        raise IllegalTransition(_("A note needs text."), fields={"text": [_("Required.")]})
    with transaction.atomic():
        now = timezone.now()
        note = Message.objects.create(
            conversation=conversation,
            direction=Direction.NOTE,
            author=author,
            text=text,
            created_at=now,
        )
        names = set(MENTION_RE.findall(text))
        if names:
            users = list(
                get_user_model().objects.filter(username__in=names, is_active=True, is_staff=True)
            )
            note.mentions.set(users)
            AgentNotification.objects.bulk_create(
                AgentNotification(
                    user=user,
                    kind=NotificationKind.MENTION,
                    conversation=conversation,
                    message=note,
                    text=text[:255],
                    created_at=now,
                )
                for user in users
                if author is None or user.pk != author.pk
            )
        Conversation.objects.filter(pk=conversation.pk).update(updated_at=now)
        live.conversation_changed(conversation, "note_added", message=note.pk)
        return note


def notifications_seen(user, conversation: Conversation) -> int:
    """`user` opened `conversation`: her unread notifications about it (mentions,
    assignments, breaches) are read now. Returns how many."""
    return AgentNotification.objects.filter(
        user=user, conversation=conversation, read_at__isnull=True
    ).update(read_at=timezone.now())


def link_order(conversation: Conversation, number: str) -> Conversation:
    """Say which order the conversation is about (blank unlinks it); canned replies' order
    placeholder and the customer panel read it."""
    number = (number or "").strip().lstrip("#")
    if len(number) > 50:
        raise IllegalTransition(
            _("An order number has at most 50 characters."),
            fields={"related_order_number": [_("Too long.")]},
        )
    conversation.related_order_number = number
    Conversation.objects.filter(pk=conversation.pk).update(
        related_order_number=number, updated_at=timezone.now()
    )
    live.conversation_changed(conversation, "order_linked")
    return conversation


def set_status(conversation: Conversation, status: str, *, by=None, snoozed_until=None):
    """Move a conversation: pending pauses the SLA clocks, open resumes them, resolved stops
    them and sends the CSAT survey, closed is final. Raises IllegalTransition."""
    if status not in ConversationStatus.values:
        raise IllegalTransition(
            _("Unknown status %(status)s.") % {"status": repr(status)},
            fields={"status": [_("Unknown.")]},
        )
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        now = timezone.now()
        current = conversation.status
        if current == status:
            return conversation
        if current == ConversationStatus.CLOSED or conversation.merged_into_id:
            raise IllegalTransition(
                _("A closed or merged conversation does not change."),
                fields={"status": [_("Final.")]},
            )
        if status == ConversationStatus.SNOOZED and not snoozed_until:
            raise IllegalTransition(
                _("Snoozing needs a time to wake up."),
                fields={"snoozed_until": [_("Required.")]},
            )
        if current == ConversationStatus.PENDING:
            sla.resume(conversation, now)
        elif current == ConversationStatus.RESOLVED and status != ConversationStatus.CLOSED:
            # Before the new status is set: reopen() starts a new resolution clock and sets
            # open, and a resolved_at left behind would break resolved_has_status.
            reopen(conversation, now)
        conversation.status = status
        conversation.snoozed_until = snoozed_until if status == ConversationStatus.SNOOZED else None
        if status == ConversationStatus.PENDING:
            sla.pause(conversation, now)
        elif status in (ConversationStatus.RESOLVED, ConversationStatus.CLOSED):
            if conversation.resolved_at is None:
                conversation.resolved_at = now
                conversation.resolution_seconds = int(
                    (now - conversation.created_at).total_seconds()
                )
            conversation.sla_paused_at = None
            conversation.next_response_due_at = None
        sla.refresh_due(conversation, now)
        conversation.updated_at = now
        conversation.save()
        live.conversation_changed(conversation, "status_changed")
        if status == ConversationStatus.RESOLVED:
            publish(
                "conversation_resolved",
                {
                    "conversation_id": conversation.pk,
                    "customer_id": str(conversation.customer.public_id),
                    "resolved_at": now,
                    "resolution_seconds": conversation.resolution_seconds,
                    "channels": conversation.channels_used,
                    "agent": conversation.assignee.get_username()
                    if conversation.assignee
                    else None,
                },
            )
            # outbound imports this module (a reply notes the channel, reopens, records):
            # the survey sender is looked up here, once the conversation is resolved.
            from support.services.outbound import send_csat_survey  # noqa: PLC0415

            send_csat_survey(conversation)
        return conversation


def reopen(conversation: Conversation, now) -> None:
    """A resolved conversation the customer wrote to again: open, new resolution clock."""
    conversation.status = ConversationStatus.OPEN
    conversation.resolved_at = None
    conversation.resolution_seconds = None
    conversation.resolution_breached = False
    sla.start_clocks(conversation, now)


def set_tags(conversation: Conversation, names) -> list[Tag]:
    tags = []
    for name in names:
        slug = slugify(str(name), allow_unicode=True)[:50]
        if slug:
            tags.append(Tag.objects.get_or_create(name=slug)[0])
    conversation.tags.set(tags)
    return tags


def set_priority(conversation: Conversation, priority: int) -> Conversation:
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        conversation.priority = priority
        conversation.updated_at = timezone.now()
        conversation.save(update_fields=["priority", "updated_at"])
        live.conversation_changed(conversation, "priority_changed")
        return conversation


def merge_conversations(
    target: Conversation, source: Conversation, *, by=None, source_field: str = "source"
) -> Conversation:
    """Fold `source` into `target` (same customer): its messages move, its channels and tags
    join, the earliest running SLA targets stay, and `source` is closed pointing at `target`
    (a reply to it threads into `target`). Both rows are locked in id order. Merging a source
    already merged into `target` again returns `target` (a retry). Raises CannotMerge, naming
    `source_field` (the caller's name for the source) or `id` (the target)."""
    if target.pk == source.pk:
        raise CannotMerge(
            _("A conversation cannot merge into itself."),
            fields={source_field: [_("Same one.")]},
        )
    with transaction.atomic():
        first, second = sorted([target.pk, source.pk])
        locked = {
            c.pk: c
            for c in Conversation.objects.select_for_update()
            .filter(pk__in=[first, second])
            .order_by("pk")
        }
        target, source = locked[target.pk], locked[source.pk]
        if target.customer_id != source.customer_id:
            raise CannotMerge(
                _(
                    "These conversations belong to two customers; merge the customer profiles "
                    "first (customer page), then the conversations."
                ),
                fields={source_field: [_("Another customer's conversation.")]},
            )
        if source.merged_into_id == target.pk:
            return target  # a retry of a merge already made
        if target.merged_into_id or source.merged_into_id:
            merged = "id" if target.merged_into_id else source_field
            raise CannotMerge(
                _("One of them was already merged."), fields={merged: [_("Already merged.")]}
            )
        now = timezone.now()
        Message.objects.filter(conversation=source).update(conversation=target)
        for kind in source.channels_used or []:
            if kind not in target.channels_used:
                target.channels_used = [*target.channels_used, kind]
        target.tags.add(*source.tags.all())
        for name in ("first_response_due_at", "next_response_due_at", "resolution_due_at"):
            dues = [d for d in (getattr(target, name), getattr(source, name)) if d]
            setattr(target, name, min(dues) if dues else None)
        if source.created_at < target.created_at:
            target.created_at = source.created_at
        target.priority = max(target.priority, source.priority)
        target.related_order_number = target.related_order_number or source.related_order_number
        target.last_message_at = max(target.last_message_at, source.last_message_at)
        if source.is_active and not target.is_active:
            reopen(target, now)
        sla.refresh_due(target, now)
        target.updated_at = now
        target.save()
        source.merged_into = target
        source.status = ConversationStatus.CLOSED
        source.resolved_at = source.resolved_at or now
        source.sla_due_at = None
        source.is_breaching = False
        source.updated_at = now
        source.save()
        AgentNotification.objects.filter(conversation=source).update(conversation=target)
        live.conversation_changed(source, "status_changed", merged_into=target.pk)
        live.conversation_changed(target, "message_received")
        return target


def fold_open_conversations(customer) -> Conversation | None:
    """The customer's open (open, pending, snoozed) conversations become one, as threading
    would have made them had her identities been known from the start: the oldest survives,
    the others merge into it (merge_conversations). Called in a customer merge's transaction,
    after the merged profile's rows moved to `customer`. Returns the survivor, or None."""
    with transaction.atomic():
        active = list(
            Conversation.objects.filter(
                customer=customer, status__in=ACTIVE_STATUSES, merged_into__isnull=True
            ).order_by("created_at", "pk")
        )
        if not active:
            return None
        survivor = active[0]
        for other in active[1:]:
            survivor = merge_conversations(survivor, other)
        return survivor


def on_customer_merged(sender, instance, created, **kwargs) -> None:
    """post_save of customers.CustomerMerge: the profiles are one person, so are her threads."""
    if created and not kwargs.get("raw"):
        fold_open_conversations(instance.survivor)


def split_conversation(
    conversation: Conversation, messages, *, by=None, subject=""
) -> Conversation:
    """Move `messages` (and nothing else) into a new conversation of the same customer, e.g. a
    second question asked in the same thread. Raises CannotSplit."""
    ids = sorted({m.pk if isinstance(m, Message) else int(m) for m in messages})
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        chosen = list(Message.objects.filter(conversation=conversation, pk__in=ids))
        total = Message.objects.filter(conversation=conversation).count()
        if not chosen or len(chosen) != len(ids):
            raise CannotSplit(
                _("Pick messages of this conversation."), fields={"messages": [_("Not in it.")]}
            )
        if len(chosen) == total:
            raise CannotSplit(
                _("Leave at least one message behind."),
                fields={"messages": [_("All chosen.")]},
            )
        inbound = [m for m in chosen if m.channel_id]
        first = min(chosen, key=lambda m: (m.created_at, m.pk))
        channel = (inbound[0] if inbound else first).channel or conversation.started_channel
        now = timezone.now()
        new = Conversation(
            customer=conversation.customer,
            subject=(subject or first.subject or conversation.subject)[:255],
            started_channel=channel,
            last_inbound_channel=channel if inbound else None,
            channels_used=sorted({m.channel.kind for m in inbound}) or [channel.kind],
            team=conversation.team,
            assignee=conversation.assignee,
            priority=conversation.priority,
            created_at=first.created_at,
            updated_at=now,
            last_message_at=max(m.created_at for m in chosen),
        )
        sla.start_clocks(new, now)
        new.save()
        Message.objects.filter(pk__in=ids).update(conversation=new)
        conversation.updated_at = now
        conversation.save(update_fields=["updated_at"])
        return new


def active_conversation_for(customer, *, since) -> Conversation | None:
    """The customer's open conversation, if they wrote or were answered since `since`."""
    return (
        Conversation.objects.select_for_update()
        .filter(
            customer=customer,
            status__in=ACTIVE_STATUSES,
            merged_into__isnull=True,
            last_message_at__gte=since,
        )
        .order_by("-last_message_at", "-id")
        .first()
    )
