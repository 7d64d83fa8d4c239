"""Answers going out: replies on the customer's channel, the CSAT survey, staff-logged calls
and visits, and delivery reports coming back.

A reply is one row first (its idempotency key unique), then a Celery task sends it through
core.providers. The task marks the row `sending` and commits before calling the provider, so a
retried or duplicated task that finds it sending or sent does not send again; and the provider
gets the row's idempotency key (SMTP Message-ID, HTTP Idempotency-Key), so even a worker that
died between the provider's accept and our commit is recognised downstream when it is resent.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core import l10n, placeholders
from core.models import Channel, ChannelKind
from core.providers import OutboundMessage, ProviderError, send_message
from core.services.enqueue import enqueue_after_commit
from customers import services as customer_services
from support import live
from support.errors import ChannelNotReachable, InvalidPayload
from support.models import (
    DELIVERY_RANK,
    CannedReply,
    Conversation,
    DeliveryStatus,
    Direction,
    Message,
    MessageKind,
)
from support.services import sla
from support.services.conversations import (
    note_channel_used,
    record_on_timeline,
    sanitise_html,
)
from support.services.inbound import InboundMessage, receive_inbound

# A send that has been "sending" this long is presumed dead (worker killed) and may be tried
# again; the provider deduplicates by the idempotency key.
STUCK_AFTER = timedelta(minutes=10)
MAX_SEND_ATTEMPTS = 6
# Which identity kinds reach a customer on each channel kind, best first.
ADDRESS_KINDS = {
    ChannelKind.EMAIL: ["email"],
    ChannelKind.SMS: ["phone"],
    ChannelKind.WHATSAPP: ["whatsapp", "phone"],
    ChannelKind.TELEGRAM: ["telegram"],
    ChannelKind.INSTAGRAM: ["instagram"],
    ChannelKind.MESSENGER: ["messenger"],
    # The shop's chat widget (support.widget) fetches its visitor's replies: nothing to send.
    ChannelKind.WEB: ["cookie"],
}
FINAL = {DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ}


# The provider's codes for "the customer-service window is closed": WhatsApp's 131047 (free
# text more than 24 hours after the customer's last message) and Meta's 2018278 (Messenger,
# Instagram). Such a reply fails; on WhatsApp the agent sends an approved template instead.
WINDOW_CLOSED_CODES = {"131047", "2018278"}
# A read receipt by watermark (Meta) marks read what we sent up to this long after it: our
# sent_at is stamped after the provider accepted, so its clock and ours differ a little.
WATERMARK_SLACK = timedelta(seconds=5)


class RetryLater(Exception):
    """The provider failed in a way worth retrying (after `retry_after` seconds if known)."""

    def __init__(self, message, retry_after=None):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Watermark:
    """A receipt for everything sent to `address` on the channel up to `at` (Meta's delivery
    and read watermarks)."""

    address: str
    at: datetime


def can_send(channel) -> bool:
    if channel and channel.kind == ChannelKind.WEB:
        return channel.is_active
    return bool(
        channel and channel.is_active and channel.provider and channel.kind in ADDRESS_KINDS
    )


def _unreachable(identities, channel_kind) -> set:
    """The addresses of this channel kind a provider said can never be reached."""
    kinds = ADDRESS_KINDS.get(channel_kind, [])
    return {i.value for i in identities if i.unreachable_at and i.kind in kinds}


def address_for(conversation: Conversation, channel) -> str | None:
    """Where this customer is reached on this channel: the address they last wrote from on it,
    else an identity of the matching kind; never an address marked unreachable (a Telegram
    user who blocked the bot, a number not on WhatsApp)."""
    identities = list(conversation.customer.identities.all())
    unreachable = _unreachable(identities, channel.kind)
    last = (
        Message.objects.filter(
            conversation__customer_id=conversation.customer_id,
            direction=Direction.INBOUND,
            channel__kind=channel.kind,
        )
        .exclude(address="")
        .exclude(address__in=unreachable)
        .order_by("-created_at", "-id")
        .values_list("address", flat=True)
        .first()
    )
    if last:
        return last
    values = {i.kind: i.value for i in identities if not i.unreachable_at}
    for kind in ADDRESS_KINDS.get(channel.kind, []):
        if values.get(kind):
            return values[kind]
    return None


def reachable_channels(conversation: Conversation) -> list:
    """The channels a reply may go out on, the default (last written on) first; a channel
    whose only addresses for this customer are unreachable is not one of them."""
    channels = [c for c in Channel.objects.messaging() if can_send(c)]
    identities = list(conversation.customer.identities.all())
    kinds = {i.kind for i in identities if not i.unreachable_at}
    used = set(conversation.channels_used or [])
    reachable = [
        c
        for c in channels
        if kinds & set(ADDRESS_KINDS.get(c.kind, []))
        or (c.kind in used and not _unreachable(identities, c.kind))
    ]
    default = default_channel(conversation, reachable)
    return sorted(reachable, key=lambda c: (c != default, c.name))


def default_channel(conversation: Conversation, reachable=None):
    candidates = [conversation.last_inbound_channel, conversation.started_channel]
    for channel in candidates:
        if can_send(channel) and (reachable is None or channel in reachable):
            return channel
    return reachable[0] if reachable else None


# The placeholders of a canned reply (its admin form refuses any other).
CANNED_PLACEHOLDERS = (
    "first_name",
    "last_name",
    "customer_name",
    "agent_name",
    "order_number",
    "conversation",
)


def placeholder_values(conversation: Conversation, agent=None) -> dict:
    """The plain values a canned reply or a provider template may use, by name."""
    customer = conversation.customer
    return {
        "first_name": customer.first_name or customer.display_name,
        "last_name": customer.last_name,
        "customer_name": customer.display_name,
        "agent_name": (agent.get_full_name() or agent.get_username()) if agent else "",
        "order_number": conversation.related_order_number,
        "conversation": conversation.token,
    }


def fill_placeholders(body: str, conversation: Conversation, agent=None) -> str:
    """{first_name}, {last_name}, {customer_name}, {agent_name}, {order_number},
    {conversation} replaced by plain values; nothing else is evaluated
    ({first_name.__class__} stays as written), unknown placeholders are left as written."""
    return placeholders.fill_placeholders(body, placeholder_values(conversation, agent))


def template_message(template, conversation: Conversation, agent=None) -> tuple[str, dict]:
    """A provider template filled for this conversation: (the text the customer reads, the
    template as stored on the message and sent: {type, name, language, parameters}). Each of
    the template's parameters names a plain value (first_name, order_number, ...); one this
    conversation lacks is refused, naming it, since the provider refuses an empty one."""
    values = placeholder_values(conversation, agent)
    parameters = []
    for name in template.parameters or []:
        value = str(values.get(str(name)) or "").strip()
        if not value:
            raise InvalidPayload(
                _("The template needs %(name)s, which this conversation does not have.")
                % {"name": name},
                fields={"template": [_("No value for %(name)s.") % {"name": name}]},
            )
        parameters.append(value)
    text = template.text or template.name
    for number, value in enumerate(parameters, start=1):
        text = text.replace("{{" + str(number) + "}}", value)
    stored = {
        "type": "template",
        "name": template.name,
        "language": template.language,
        "parameters": parameters,
    }
    return text, stored


def render_canned(canned: CannedReply, conversation: Conversation, agent=None) -> str:
    return fill_placeholders(canned.body, conversation, agent)


def reply(
    conversation: Conversation,
    agent,
    text: str,
    *,
    channel=None,
    html: str = "",
    idempotency_key: str | None = None,
    kind: str = MessageKind.MESSAGE,
    template=None,
) -> Message:
    """Answer the customer on `channel` (default: the one they last wrote on). Stores the
    message (queued), stops the response clocks, and sends it after commit through a Celery
    task. The same `idempotency_key` twice returns the first message. Transactional: no
    marketing consent needed. `template` (a core.models.ProviderTemplate, active) sends that
    approved template on its channel instead of free text (WhatsApp outside the 24-hour
    window); `text` is then ignored. Raises ChannelNotReachable, InvalidPayload."""
    stored_template = None
    if template is not None:
        if not template.is_active:
            raise InvalidPayload(
                _("This template is not active."), fields={"template": [_("Not active.")]}
            )
        channel = template.channel
        text, stored_template = template_message(template, conversation, agent)
    text = (text or "").strip()
    if not text:
        raise InvalidPayload(_("A reply needs text."), fields={"text": [_("Required.")]})
    if idempotency_key:
        existing = Message.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("customer", "last_inbound_channel", "started_channel")
            .get(pk=conversation.pk)
        )
        if conversation.merged_into_id:
            raise ChannelNotReachable(_("This conversation was merged; answer in the other one."))
        channel = channel or default_channel(conversation)
        if not can_send(channel):
            raise ChannelNotReachable(
                _("Pick a channel that can send to this customer."),
                fields={"channel": [_("This channel cannot send messages.")]},
            )
        address = address_for(conversation, channel)
        if not address:
            raise ChannelNotReachable(
                _("The customer has no %(kind)s address.") % {"kind": channel.get_kind_display()},
                fields={"channel": [_("The customer is not reachable here.")]},
            )
        now = timezone.now()
        fetched = channel.kind == ChannelKind.WEB  # the visitor's widget reads it from us
        message = Message(
            conversation=conversation,
            direction=Direction.OUTBOUND,
            kind=kind,
            channel=channel,
            author=agent,
            address=address,
            subject=email_subject(conversation) if channel.kind == ChannelKind.EMAIL else "",
            text=text,
            html=sanitise_html(html),
            delivery_status=DeliveryStatus.SENT if fetched else DeliveryStatus.QUEUED,
            sent_at=now if fetched else None,
            attachments=[stored_template] if stored_template else [],
            created_at=now,
        )
        if idempotency_key:
            message.idempotency_key = idempotency_key[:100]
        message.save()
        if kind == MessageKind.MESSAGE:
            sla.agent_answered(conversation, now)
        note_channel_used(conversation, channel)
        conversation.last_message_at = now
        conversation.updated_at = now
        if kind == MessageKind.MESSAGE and conversation.assignee_id is None and agent is not None:
            conversation.assignee = agent
        conversation.save()
        record_on_timeline(message, "message_sent")
        live.conversation_changed(conversation, "message_sent", message=message.pk)
        if not fetched:
            enqueue_send(message)
        return message


def email_subject(conversation: Conversation) -> str:
    subject = conversation.subject or _("Your message")
    return f"Re: {subject} {conversation.token}"[:255]


def enqueue_send(message: Message) -> None:
    # By name: support.tasks imports this module. A lost publish (broker down): beat's
    # support.send_unsent_replies sends it.
    enqueue_after_commit("support.send_outbound_message", message.pk)


# A reply still queued this long after it was written, never tried, lost its send task; one
# queued this long after any retry would have run (5 s doubling, MAX_SEND_ATTEMPTS) lost its
# retry.
UNTRIED_AFTER = timedelta(minutes=1)
RETRY_LOST_AFTER = timedelta(minutes=30)


def unsent_replies(now=None, *, limit=500) -> list[int]:
    """Replies whose send task was lost (the broker was down when it was enqueued or
    retried, or the worker died while sending): ids for the periodic sweep to enqueue again.
    Sending is at most once per row (see `deliver`), so an id enqueued twice sends once."""
    now = now or timezone.now()
    return list(
        Message.objects.filter(direction=Direction.OUTBOUND)
        .filter(
            Q(delivery_status=DeliveryStatus.QUEUED, created_at__lt=now - RETRY_LOST_AFTER)
            | Q(
                delivery_status=DeliveryStatus.QUEUED,
                send_attempts=0,
                created_at__lt=now - UNTRIED_AFTER,
            )
            | Q(delivery_status=DeliveryStatus.SENDING, sending_started_at__lt=now - STUCK_AFTER)
        )
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )


def thread_headers(message: Message) -> dict:
    """In-Reply-To and References so the customer's mail client threads our answer."""
    previous = list(
        Message.objects.filter(
            conversation_id=message.conversation_id,
            channel__kind=ChannelKind.EMAIL,
            created_at__lte=message.created_at,
        )
        .exclude(pk=message.pk)
        .exclude(external_id="", provider_message_id="")
        .order_by("created_at", "id")
        .values_list("external_id", "provider_message_id")
    )
    ids = [external or provider for external, provider in previous if (external or provider)]
    if not ids:
        return {}
    references = " ".join(ids[-10:])
    return {"In-Reply-To": ids[-1], "References": references}


def deliver(message_id: int) -> Message | None:
    """Send one queued outbound message through its channel's provider, at most once.
    Raises RetryLater when the provider failed in a retryable way."""
    now = timezone.now()
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(of=("self",))
            .select_related("channel", "conversation")
            .filter(pk=message_id, direction=Direction.OUTBOUND)
            .first()
        )
        if message is None or message.delivery_status not in (
            DeliveryStatus.QUEUED,
            DeliveryStatus.SENDING,
        ):
            return message  # sent, delivered, read, failed: nothing to do
        if (
            message.delivery_status == DeliveryStatus.SENDING
            and message.sending_started_at
            and message.sending_started_at > now - STUCK_AFTER
        ):
            return message  # another worker holds it
        message.delivery_status = DeliveryStatus.SENDING
        message.sending_started_at = now
        message.send_attempts += 1
        message.save(update_fields=["delivery_status", "sending_started_at", "send_attempts"])
    # Committed: from here on, no other task sends this message.
    stored = message.attachments or []
    templates = [a for a in stored if isinstance(a, dict) and a.get("type") == "template"]
    outbound = OutboundMessage(
        to=message.address,
        text=message.text,
        html=message.html,
        subject=message.subject,
        idempotency_key=message.idempotency_key,
        headers=thread_headers(message) if message.channel.kind == ChannelKind.EMAIL else {},
        metadata={"conversation_id": message.conversation_id, "message_id": message.pk},
        template=templates[0] if templates else None,
        attachments=[a for a in stored if isinstance(a, dict) and a.get("url")],
        last_inbound_at=last_inbound_at(message),
    )
    try:
        result = send_message(message.channel, outbound)
    except ProviderError as error:
        retry = error.retryable and message.send_attempts < MAX_SEND_ATTEMPTS
        Message.objects.filter(pk=message.pk, delivery_status=DeliveryStatus.SENDING).update(
            delivery_status=DeliveryStatus.QUEUED if retry else DeliveryStatus.FAILED,
            last_error=failure_text(error),
            error_code=error.code[:40],
            sending_started_at=None,
        )
        if error.recipient_unreachable:
            mark_unreachable(message, str(error))
        if retry:
            raise RetryLater(str(error), retry_after=error.retry_after) from error
        message.refresh_from_db()
        return message
    Message.objects.filter(pk=message.pk, delivery_status=DeliveryStatus.SENDING).update(
        delivery_status=DeliveryStatus.SENT,
        provider_message_id=result.provider_message_id[:255],
        sent_at=timezone.now(),
        last_error="",
        error_code="",
    )
    message.refresh_from_db()
    return message


def last_inbound_at(message: Message):
    """When the customer last wrote to us on this message's channel (the providers' 24-hour
    customer-service window starts there), or None."""
    return (
        Message.objects.filter(
            conversation__customer_id=message.conversation.customer_id,
            direction=Direction.INBOUND,
            channel_id=message.channel_id,
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )


def failure_text(error: ProviderError) -> str:
    """What the agent reads on a failed reply: the provider's words, and what to do when the
    customer-service window is closed."""
    text = str(error)
    if error.code in WINDOW_CLOSED_CODES:
        # Stored in English like the provider's own words (the worker has no reader's
        # language); the conversation page explains it in the agent's.
        text = (
            "Not sent: the customer last wrote more than 24 hours ago, and this channel "
            "allows only an approved template after that. " + text
        )
    return text[:2000]


def mark_unreachable(message: Message, reason: str) -> int:
    """The provider said this address can never be reached (blocked the bot, not on
    WhatsApp): its identity is marked, and no reply goes to it again."""
    return customer_services.mark_unreachable(
        message.conversation.customer_id,
        ADDRESS_KINDS.get(message.channel.kind, []),
        message.address,
        reason,
    )


def mark_failed(message_id: int, error: str) -> None:
    Message.objects.filter(pk=message_id, delivery_status=DeliveryStatus.QUEUED).update(
        delivery_status=DeliveryStatus.FAILED, last_error=error[:2000]
    )


def record_delivery(channel, provider_message_id: str, status: str, detail=None) -> int:
    """A provider's delivery report: move the message forward (never back: a repeated or late
    receipt changes nothing). `detail` is the failure's reason, `{"code", "title"}` or text;
    or a Watermark, for every message sent to that address up to its moment (Meta), when
    `provider_message_id` is empty. Returns rows changed."""
    if status not in DeliveryStatus.values:
        return 0
    if isinstance(detail, Watermark):
        messages = Message.objects.filter(
            channel=channel,
            direction=Direction.OUTBOUND,
            address=detail.address,
            sent_at__lte=detail.at + WATERMARK_SLACK,
            delivery_status__in=[DeliveryStatus.SENT, DeliveryStatus.DELIVERED],
        )
        detail = None
    elif provider_message_id:
        messages = Message.objects.filter(
            channel=channel, provider_message_id=provider_message_id, direction=Direction.OUTBOUND
        )
    else:
        return 0
    changed = 0
    now = timezone.now()
    for message in messages:
        if DELIVERY_RANK.get(status, 0) <= DELIVERY_RANK.get(message.delivery_status, 0):
            continue
        update = {"delivery_status": status}
        if status in (DeliveryStatus.DELIVERED, DeliveryStatus.READ):
            update["delivered_at"] = message.delivered_at or now
        if status == DeliveryStatus.READ:
            update["read_at"] = message.read_at or now
        if status in (DeliveryStatus.FAILED, DeliveryStatus.BOUNCED) and detail:
            if isinstance(detail, dict):
                update["error_code"] = str(detail.get("code") or "")[:40]
                detail = " ".join(
                    str(detail.get(k) or "") for k in ("code", "title", "message") if detail.get(k)
                )
            update["last_error"] = str(detail)[:2000]
        changed += Message.objects.filter(pk=message.pk).update(**update)
    return changed


def send_csat_survey(conversation: Conversation) -> Message | None:
    """After resolution: one survey on the conversation's channel, in the customer's language.
    Silently skipped when the customer cannot be reached there or a survey already went."""
    if conversation.csat_sent_at:
        return None
    channel = default_channel(conversation)
    if channel is None or not address_for(conversation, channel):
        return None
    # Her language with its digits (core.l10n): "from ۱ to ۵" for a Persian customer; her
    # answer is read in any digits (inbound.rating_in).
    with l10n.for_customer(conversation.customer.locale):
        text = l10n.localise_digits(
            _(
                "Thank you for contacting us. How satisfied are you with our help? "
                "Reply with a number from 1 (not at all) to 5 (very)."
            )
        )
    message = reply(conversation, None, text, channel=channel, kind=MessageKind.CSAT_SURVEY)
    Conversation.objects.filter(pk=conversation.pk).update(csat_sent_at=timezone.now())
    conversation.csat_sent_at = timezone.now()
    return message


def log_contact(channel, *, author, text, conversation=None, identities=None, external_id=""):
    """A phone call or a store visit, logged by staff as a message of that channel, on a
    conversation or (by the caller's identities) into the customer's thread."""
    if channel.kind not in (ChannelKind.PHONE, ChannelKind.STORE):
        raise InvalidPayload(
            _("Only calls and store visits are logged by staff."),
            fields={"channel": [_("Must be a phone or store channel.")]},
        )
    if conversation is None and not identities:
        raise InvalidPayload(
            _("Say who called: a conversation or the customer's identities."),
            fields={"identities": [_("Required without a conversation.")]},
        )
    kind = MessageKind.CALL if channel.kind == ChannelKind.PHONE else MessageKind.VISIT
    return receive_inbound(
        InboundMessage(
            channel=channel,
            identities=identities or [],
            text=text,
            kind=kind,
            author=author,
            conversation=conversation,
            external_id=external_id,
        )
    ).message
