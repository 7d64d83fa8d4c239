"""Segment's HTTP Tracking API spoken by the back-office, so a shop's existing Segment or
RudderStack SDK (browser, app, server) points at us by changing its host.

Each Segment message becomes an item of our own batch ingest (customers.services.ingest):
no second pipeline. The mapping:

- `userId` -> the shop's `external_id` (partner: the write key's channel code, else
  "segment"); `anonymousId` -> a `cookie`; `traits.email` / `traits.phone` (of an identify,
  or `context.traits` of any call) -> `email` / `phone` identities, the other traits kept;
- `track` -> an event named after Segment's e-commerce spec (`Product Viewed` ->
  `product_viewed`, `Order Completed` -> `order_completed`, ...; other names in snake case);
  `page` -> `page_viewed`, `screen` -> `screen_viewed`; `identify` -> an identify;
  `alias` -> an identify holding both ids, which identity resolution makes one person;
  `group` is accepted and not stored (we keep no accounts);
- `context.campaign` (UTM): `source` naming one of our channels (code, kind or name) makes
  it the touch's channel, for attribution; the UTM fields, `context.ip` and
  `context.userAgent` are kept in the event's properties;
- `messageId` is our message id (a replayed message is stored once), and the time is
  Segment's clock-skew correction: `receivedAt - (sentAt - timestamp)`.

Limits as Segment documents them: 32 KB per message and per single call, 500 KB per batch
(decompressed), answered 400; everything else 200 `{"success": true}`, with any item that
could not be stored listed under `errors` (its index and the field).
"""

import re
import zlib
from datetime import UTC, datetime

from django.utils.dateparse import parse_datetime

from customers.services import ingest_batch
from customers.services.identities import ChannelLookup

MAX_CALL_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
TYPES = ("track", "identify", "page", "screen", "alias", "group")

# Segment's e-commerce spec (v2) names -> ours (customers.event_names).
EVENT_NAMES = {
    "Products Searched": "product_searched",
    "Product Viewed": "product_viewed",
    "Product Clicked": "product_viewed",
    "Product Added": "product_added_to_cart",
    "Product Removed": "product_removed_from_cart",
    "Product Added to Wishlist": "wishlist_added",
    "Checkout Started": "checkout_started",
    "Order Completed": "order_completed",
    "Order Refunded": "order_refunded",
    "Product Reviewed": "review_read",
}
UTM = {"source": "utm_source", "medium": "utm_medium", "name": "utm_campaign",
       "term": "utm_term", "content": "utm_content"}  # fmt: skip


class SegmentError(Exception):
    """A request Segment would answer 400: `code`, `message`, and the field."""

    def __init__(self, code, message, field=None):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field

    def as_dict(self):
        body = {"code": self.code, "message": self.message}
        if self.field:
            body["fields"] = {self.field: [self.message]}
        return body


def decoded_body(raw: bytes, encoding: str, limit: int) -> bytes:
    """The body, gunzipped when sent so, refused past `limit` bytes (a small gzip must not
    unpack into gigabytes)."""
    encoding = (encoding or "").strip().lower()
    if encoding in ("", "identity"):
        body = raw
    elif encoding == "gzip":
        unpacker = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            body = unpacker.decompress(raw, limit + 1)
        except zlib.error as error:
            raise SegmentError("invalid_body", f"The gzip body is damaged: {error}") from None
        if not unpacker.eof and len(body) <= limit:
            raise SegmentError("invalid_body", "The gzip body is truncated.")
    else:
        raise SegmentError("unsupported_encoding", f"Content-Encoding {encoding!r} is not gzip.")
    if len(body) > limit:
        raise SegmentError(
            "request_too_large", f"The body is larger than {limit // 1024} KB.", "body"
        )
    return body


def event_name(name: str) -> str:
    if name in EVENT_NAMES:
        return EVENT_NAMES[name]
    snake = re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")
    if not snake or not snake[0].isalpha():
        snake = f"event_{snake}".strip("_")
    return snake[:64]


def _time(value):
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value)
        except ValueError:
            return None
        if parsed is not None and parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed
    return None


def occurred_at(message: dict, sent_at, received_at: datetime):
    """Segment's correction of the device's clock: what the device called `timestamp`, moved
    by how far its clock was off when it sent the batch (`sentAt` against our clock)."""
    stamp = _time(message.get("timestamp")) or _time(message.get("originalTimestamp"))
    sent = _time(message.get("sentAt")) or sent_at
    if stamp is None:
        return received_at
    if sent is not None:
        stamp = received_at - (sent - stamp)
    return min(stamp, received_at)


def _text(value, limit=320):
    if value is None or isinstance(value, dict | list | bool):
        return None
    text = str(value).strip()
    return text[:limit] if text else None


class Mapper:
    """Turns Segment messages into our batch items, for one write key."""

    def __init__(self, api_key, received_at):
        self.api_key = api_key
        self.partner = api_key.channel.code if api_key.channel_id else "segment"
        self.received_at = received_at
        self.channels = ChannelLookup(default=api_key.channel)

    def identities(self, message, traits):
        found = []
        if user_id := _text(message.get("userId")):
            found.append({"kind": "external_id", "value": user_id, "partner": self.partner})
        if anonymous_id := _text(message.get("anonymousId")):
            found.append({"kind": "cookie", "value": anonymous_id})
        for kind in ("email", "phone"):
            if value := _text(traits.get(kind)):
                found.append({"kind": kind, "value": value})
        return found

    def channel(self, context):
        source = _text((context.get("campaign") or {}).get("source"), 100)
        if source:
            try:
                return self.channels(source).code
            except Exception:  # a UTM source that is not one of our channels: kept as a property
                return None
        return None

    def properties(self, message, context):
        properties = dict(message.get("properties") or {})
        campaign = context.get("campaign") or {}
        if isinstance(campaign, dict):
            for key, ours in UTM.items():
                if value := _text(campaign.get(key), 200):
                    properties.setdefault(ours, value)
        if ip := _text(context.get("ip"), 64):
            properties.setdefault("ip", ip)
        if agent := _text(context.get("userAgent"), 500):
            properties.setdefault("user_agent", agent)
        return properties

    def item(self, message, sent_at, batch_context=None):
        """Our batch item for one message, or None for what we do not store (group)."""
        if not isinstance(message, dict):
            raise SegmentError("invalid_message", "Each message must be a JSON object.")
        kind = message.get("type")
        if kind not in TYPES:
            raise SegmentError("invalid_type", f"type must be one of {', '.join(TYPES)}.", "type")
        if kind == "group":
            return None
        context = {**(batch_context or {}), **(message.get("context") or {})}
        if not isinstance(context, dict):
            context = {}
        # Segment's identify carries `traits`; RudderStack's puts them in `context.traits`,
        # where any other call may carry them too.
        traits = context.get("traits") if isinstance(context.get("traits"), dict) else {}
        if kind == "identify" and isinstance(message.get("traits"), dict):
            traits = {**traits, **message["traits"]}
        identities = self.identities(message, traits)
        if kind == "alias":
            previous = _text(message.get("previousId"))
            if previous:
                identities.append({"kind": "cookie", "value": previous})
        if not identities:
            field = "previousId" if kind == "alias" else "userId"
            raise SegmentError("missing_identity", "Give a userId or an anonymousId.", field)
        common = {
            "identities": identities,
            "occurred_at": occurred_at(message, sent_at, self.received_at).isoformat(),
        }
        if message_id := _text(message.get("messageId"), 100):
            common["message_id"] = message_id
        if channel := self.channel(context):
            common["channel"] = channel
        if kind in ("identify", "alias"):
            kept = {k: v for k, v in traits.items() if k not in ("email", "phone")}
            return {"type": "identify", "traits": kept, **common}
        if kind == "track":
            name = _text(message.get("event"), 200)
            if not name:
                raise SegmentError("missing_event", "A track call needs its event name.", "event")
            event = event_name(name)
        else:  # page, screen
            event = "page_viewed" if kind == "page" else "screen_viewed"
        properties = self.properties(message, context)
        if kind in ("page", "screen") and (page_name := _text(message.get("name"), 200)):
            properties.setdefault("name", page_name)
        return {"type": "track", "event": event, "properties": properties, **common}


def ingest(api_key, messages, *, sent_at=None, context=None, source=""):
    """Store Segment `messages` through our batch ingest; returns the errors by index."""
    received_at = datetime.now(UTC)
    mapper = Mapper(api_key, received_at)
    items, positions, errors = [], [], []
    for index, message in enumerate(messages):
        try:
            item = mapper.item(message, _time(sent_at), context)
        except SegmentError as error:
            errors.append({"index": index, **error.as_dict()})
            continue
        if item is not None:
            items.append(item)
            positions.append(index)
    if items:
        for position, result in zip(
            positions,
            ingest_batch(items, source=source, default_channel=api_key.channel),
            strict=True,
        ):
            if result.status == "error":
                errors.append({"index": position, **(result.error or {})})
    return errors
