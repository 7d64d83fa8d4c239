"""The shop's web chat widget, seen from the back-office: the visitor's token, the channel's
business hours, the words the widget shows (translated here, not in the script) and the
messages a visitor may read. Its doors are support.views_widget.

A visitor is the random id the widget keeps in the browser (an identity of kind cookie); the
token proves the id was issued by us: an HMAC of it under SECRET_KEY, so nobody reads another
visitor's thread by guessing ids. A signed-in customer is vouched for by the shop exactly as
on the web chat webhook (support.adapters.vouched_identity).
"""

import re
import secrets
from datetime import datetime, time

from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import get_language_bidi
from django.utils.translation import gettext as _

from customers.normalise import normalise_identity
from customers.selectors import customer_for_identity
from support.errors import InvalidPayload
from support.models import DeliveryStatus, Direction, Message
from support.services.sla import zone_of

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
    }


def session_context(channel, visitor_id) -> dict:
    return {
        "visitor_id": visitor_id,
        "visitor_token": visitor_token(channel, visitor_id),
        "online": is_open(channel),
        "dir": "rtl" if get_language_bidi() else "ltr",
        "strings": strings(),
        "poll_seconds": 2,
        "messages": messages_for(channel, visitor_id),
    }


def messages_for(channel, visitor_id: str, *, after: int = 0) -> list[dict]:
    """The visitor's messages on this chat channel and the replies sent there, oldest first:
    never her other channels' messages, nor notes."""
    customer = customer_for_identity(normalise_identity("cookie", visitor_id))
    if customer is None:
        return []
    rows = (
        Message.objects.filter(
            conversation__customer=customer,
            channel=channel,
            direction__in=(Direction.INBOUND, Direction.OUTBOUND),
            pk__gt=after,
        )
        .exclude(delivery_status=DeliveryStatus.FAILED)
        .select_related("author")
        .order_by("pk")[:PAGE]
    )
    return [
        {
            "id": message.pk,
            "sender": "visitor" if message.direction == Direction.INBOUND else "agent",
            "text": message.text,
            "agent": (message.author.first_name or "") if message.author_id else "",
            "created_at": message.created_at.isoformat(),
        }
        for message in rows
    ]
