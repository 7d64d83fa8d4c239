"""The shop's web chat widget, seen from the back-office: the visitor's token, the channel's
business hours, the words the widget shows (translated here, not in the script) and the
messages a visitor may read. Its doors are support.views_widget.

A visitor is the random id the widget keeps in the browser (an identity of kind cookie); the
token proves the id was issued by us: an HMAC of it under SECRET_KEY, so nobody reads another
visitor's thread by guessing ids. A signed-in customer is vouched for by the shop exactly as
on the web chat webhook (support.adapters.vouched_identity).
"""

import hashlib
import re
import secrets
from datetime import datetime, time

from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.text import get_valid_filename
from django.utils.translation import get_language_bidi
from django.utils.translation import gettext as _

from core import live as core_live
from customers.normalise import normalise_identity
from customers.selectors import customer_for_identity
from support import live
from support.errors import InvalidPayload
from support.hours import zone_of
from support.models import Conversation, DeliveryStatus, Direction, Message

VISITOR_ID_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_TEXT = 4000
PAGE = 100


class InvalidVisitorToken(InvalidPayload):
    """A visitor id with a token we did not issue for it."""

    code = "invalid_visitor_token"
    status_code = 403


def new_visitor_id() -> str:
    return "v" + secrets.token_urlsafe(24)


def visitor_token(channel, visitor_id: str) -> str:
    return salted_hmac(
        "support.widget.visitor", f"{channel.pk}:{visitor_id}", algorithm="sha256"
    ).hexdigest()


def check_visitor(channel, visitor_id, token) -> str:
    """The visitor id, when `token` is the one we issued for it on this channel (compared in
    constant time). Raises InvalidPayload for a malformed id, InvalidVisitorToken else."""
    visitor_id = str(visitor_id or "")
    if not VISITOR_ID_RE.match(visitor_id):
        raise InvalidPayload(
            "visitor_id is missing or malformed.", fields={"visitor_id": ["Malformed."]}
        )
    if not constant_time_compare(visitor_token(channel, visitor_id), str(token or "")):
        raise InvalidVisitorToken(
            "The visitor token does not match.", fields={"visitor_token": ["Does not match."]}
        )
    return visitor_id


def _intervals(value) -> list[tuple[time, time]]:
    """["09:00", "18:00"] or [["09:00", "12:00"], ["13:00", "18:00"]]."""
    if value and isinstance(value[0], str):
        value = [value]
    return [(time.fromisoformat(start), time.fromisoformat(end)) for start, end in value or []]


def is_open(channel, now: datetime | None = None) -> bool:
    """Whether someone answers now, by provider_settings {"hours": {"mon": ["09:00",
    "18:00"], ...}, "timezone": "Asia/Tehran"}; days left out are closed. No hours: always.
    Hours that cannot be read count as open (a typo must not hide the chat)."""
    settings = channel.provider_settings or {}
    hours = settings.get("hours")
    if not hours:
        return True
    try:
        local = (now or timezone.now()).astimezone(zone_of(settings.get("timezone") or "UTC"))
        today = _intervals(hours.get(DAYS[local.weekday()]))
    except (ValueError, TypeError, AttributeError, IndexError):
        return True
    return any(start <= local.time() < end for start, end in today)


def strings() -> dict:
    """What the widget shows, in the active language."""
    return {
        "title": _("Chat with us"),
        "open": _("Chat"),
        "close": _("Close"),
        "placeholder": _("Write your message"),
        "send": _("Send"),
        "online": _("We are here and usually answer within minutes."),
        "offline": _("We are away now. Leave your email and we will write back."),
        "email": _("Your email"),
        "you": _("You"),
        "agent": _("Support"),
        "failed": _("Your message was not sent; please try again."),
        "slow_down": _("You are writing very fast; please wait a moment."),
        "attach": _("Attach a photo or PDF"),
        "too_big": _("This file is too large or not a photo or PDF."),
    }


def session_context(channel, visitor_id) -> dict:
    return {
        "visitor_id": visitor_id,
        "visitor_token": visitor_token(channel, visitor_id),
        "online": is_open(channel),
        "dir": "rtl" if get_language_bidi() else "ltr",
        "strings": strings(),
        # Without the live stream (a proxy that buffers it), the widget asks this often.
        "poll_seconds": 2,
        "max_attachment_bytes": max_attachment_bytes(),
        "messages": messages_for(channel, visitor_id),
    }


def _visible_messages(channel, customer):
    return Message.objects.filter(
        conversation__customer=customer,
        channel=channel,
        direction__in=(Direction.INBOUND, Direction.OUTBOUND),
    ).exclude(delivery_status=DeliveryStatus.FAILED)


def messages_for(channel, visitor_id: str, *, after: int = 0) -> list[dict]:
    """The visitor's messages on this chat channel and the replies sent there, oldest first:
    never her other channels' messages, nor notes."""
    customer = customer_for_identity(normalise_identity("cookie", visitor_id))
    if customer is None:
        return []
    rows = (
        _visible_messages(channel, customer)
        .filter(pk__gt=after)
        .select_related("author")
        .order_by("pk")[:PAGE]
    )
    return [
        {
            "id": message.pk,
            "sender": "visitor" if message.direction == Direction.INBOUND else "agent",
            "text": message.text,
            "agent": (message.author.first_name or "") if message.author_id else "",
            "attachments": [
                {"filename": a.get("filename", ""), "content_type": a.get("content_type", "")}
                for a in message.attachments or []
                if isinstance(a, dict)
            ],
            "created_at": message.created_at.isoformat(),
        }
        for message in rows
    ]


# --- live: the visitor's stream -------------------------------------------------------------
# What a visitor's widget hears of: a message in one of her conversations (hers or an
# agent's), and a merge that moved her thread. Typing, notes and assignments stay inside.
VISITOR_KINDS = frozenset({"message_sent", "message_received", "status_changed"})


def visitor_stream(channel, visitor_id: str, *, after_message: int, after_event: int = 0):
    """A core.live.Stream for the widget: an event `message` (empty data) whenever she may have
    something new to fetch with messages_for(after=...). The widget's own cursor is the last
    message id it has: when that is behind already (a reconnect after a drop), the first event
    is sent at once, so nothing committed between its last fetch and this stream is missed."""
    cursor = after_event or core_live.latest_id()
    key = normalise_identity("cookie", visitor_id)
    state = {"ids": None, "pending": False}

    def conversations():
        customer = customer_for_identity(key)
        if customer is None:
            return set()
        return set(Conversation.objects.filter(customer=customer).values_list("pk", flat=True))

    customer = customer_for_identity(key)
    if customer is not None and (
        _visible_messages(channel, customer).filter(pk__gt=after_message).exists()
    ):
        state["pending"] = True

    def read(after):
        moved, rows = core_live.events_after(after, topic=live.TOPIC)
        items = []
        if state["pending"]:
            state["pending"] = False
            items.append((moved, "message", "{}"))
        rows = [row for row in rows if row["kind"] in VISITOR_KINDS]
        if rows and not items:
            # Her conversations, read again when an event names one we do not know: a new
            # thread or a merge since the stream opened.
            if state["ids"] is None or any(row["object_id"] not in state["ids"] for row in rows):
                state["ids"] = conversations()
            if any(row["object_id"] in state["ids"] for row in rows):
                items.append((moved, "message", "{}"))
        return moved, items

    return core_live.Stream(read, cursor)


# --- attachments ----------------------------------------------------------------------------
# Taken by their first bytes, never by the name or the type the browser claims.
SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
    (b"%PDF-", "application/pdf", "pdf"),
)
STORAGE = "attachments"


def max_attachment_bytes() -> int:
    return int(getattr(django_settings, "WEBCHAT_ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024))


def sniff(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a JPEG, PNG, GIF, WebP image or a PDF, else None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    for magic, content_type, extension in SIGNATURES:
        if head.startswith(magic):
            return content_type, extension
    return None


def attachment_storage():
    """Private: visitors' files are read only through the staff view that checks permission."""
    return storages[STORAGE]


def store_attachment(channel, visitor_id: str, message_id: str, upload) -> dict:
    """Check an uploaded file (type by its bytes, size) and keep it under a name derived from
    the visitor's message id, so a retried send stores it once. Returns the message's
    attachment entry; raises InvalidPayload naming `file`."""
    limit = max_attachment_bytes()
    refused = _("Only photos (JPEG, PNG, GIF, WebP) and PDF documents of up to %(mb)s MB.") % {
        "mb": round(limit / (1024 * 1024), 1)
    }
    if upload.size is None or upload.size > limit or upload.size == 0:
        raise InvalidPayload(refused, fields={"file": [refused]})
    upload.seek(0)
    head = upload.read(16)
    kind = sniff(head)
    if kind is None:
        raise InvalidPayload(refused, fields={"file": [refused]})
    content_type, extension = kind
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise InvalidPayload(refused, fields={"file": [refused]})
    stem = (get_valid_filename((upload.name or "").rsplit(".", 1)[0]) or "file")[:80]
    filename = f"{stem}.{extension}"
    digest = hashlib.sha256(f"{channel.pk}:{visitor_id}:{message_id}".encode()).hexdigest()
    name = f"webchat/{digest[:2]}/{digest[2:34]}/{filename}"
    storage = attachment_storage()
    if not storage.exists(name):
        name = storage.save(name, ContentFile(data))
    return {
        "filename": filename,
        "content_type": content_type,
        "size": len(data),
        "stored": name,
    }


def stored_names(messages) -> list[str]:
    """The storage names of these messages' kept files."""
    return [
        entry["stored"]
        for attachments in messages.values_list("attachments", flat=True)
        for entry in attachments or []
        if isinstance(entry, dict) and entry.get("stored")
    ]


def delete_stored(names) -> None:
    storage = attachment_storage()
    for name in names:
        storage.delete(name)
