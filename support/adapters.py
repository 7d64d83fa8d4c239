"""Inbound channel adapters: each verifies its sender's signature and maps its provider's
payload shape to InboundMessages (and delivery reports, where the provider sends them on the
same hook).

Signatures, all under the channel's provider_settings["inbound_secret"]:
- Meta (WhatsApp Cloud API, Instagram, Messenger): `X-Hub-Signature-256: sha256=<HMAC-SHA256
  of the raw body>`;
- Telegram: the secret itself in `X-Telegram-Bot-Api-Secret-Token` (set with setWebhook);
- email (JSON or raw RFC 822), SMS and web chat: `X-Omni-Signature: sha256=<HMAC-SHA256>`.

A web chat visitor's identity is a separate proof, under provider_settings["identity_secret"]:
see parse_webchat.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from core.models import ChannelKind
from core.services.outbox import has_valid_signature
from customers.normalise import KINDS, IdentityKey, normalise_identity, parse_identity_filter
from support.errors import InvalidIdentifierHash, InvalidPayload, InvalidSignature
from support.inbound_email import parse_rfc822
from support.services.inbound import InboundMessage
from support.services.outbound import Watermark


@dataclass
class Parsed:
    messages: list = field(default_factory=list)
    statuses: list = field(default_factory=list)  # (provider_message_id, status, detail)


def _secret(channel) -> str:
    secret = (channel.provider_settings or {}).get("inbound_secret") or ""
    if not secret:
        raise InvalidSignature(f"Channel {channel.code} has no inbound_secret configured.")
    return secret


def verify_hmac(channel, body: bytes, header_value: str) -> None:
    if not has_valid_signature(_secret(channel), body, header_value):
        raise InvalidSignature("The request's signature does not match.")


def verify(channel, request) -> None:
    kind = channel.kind
    if kind in (ChannelKind.WHATSAPP, ChannelKind.INSTAGRAM, ChannelKind.MESSENGER):
        verify_hmac(channel, request.body, request.headers.get("X-Hub-Signature-256", ""))
    elif kind == ChannelKind.TELEGRAM:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not given or not hmac.compare_digest(given, _secret(channel)):
            raise InvalidSignature("The Telegram secret token does not match.")
    else:
        verify_hmac(channel, request.body, request.headers.get("X-Omni-Signature", ""))


def _json(body: bytes) -> dict:
    try:
        data = json.loads(body or b"{}")
    except ValueError as error:
        raise InvalidPayload(f"The body is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise InvalidPayload("The body must be a JSON object.")
    return data


def _epoch(value):
    try:
        return datetime.fromtimestamp(int(value) / (1000 if int(value) > 10**11 else 1), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _require(data: dict, *names):
    missing = {name: ["Required."] for name in names if not data.get(name)}
    if missing:
        raise InvalidPayload("Invalid input in: " + ", ".join(missing) + ".", fields=missing)


# --- email --------------------------------------------------------------------------------
def parse_email(channel, request) -> Parsed:
    content_type = request.content_type or ""
    if content_type in ("message/rfc822", "text/plain", "application/octet-stream"):
        return Parsed([parse_rfc822(request.body, channel)])
    data = _json(request.body)
    if data.get("raw"):
        return Parsed([parse_rfc822(str(data["raw"]).encode(), channel)])
    # A provider's parsed-mail JSON (Postmark-like): From/FromFull, Subject, TextBody,
    # HtmlBody, Headers [{Name, Value}], Attachments, MessageID.
    headers = {h.get("Name", "").lower(): h.get("Value", "") for h in data.get("Headers") or []}
    sender = (data.get("FromFull") or {}).get("Email") or data.get("From") or ""
    if "<" in sender:
        sender = sender.split("<", 1)[1].rstrip(">")
    if "@" not in sender:
        raise InvalidPayload("The email has no sender.", fields={"From": ["Required."]})
    name = (data.get("FromFull") or {}).get("Name") or data.get("FromName") or ""
    first, _sep, last = name.partition(" ")
    message_id = headers.get("message-id") or data.get("MessageID") or ""
    refs = (headers.get("in-reply-to", "") + " " + headers.get("references", "")).split()
    return Parsed(
        [
            InboundMessage(
                channel=channel,
                identities=[{"kind": "email", "value": sender}],
                traits={"first_name": first, "last_name": last} if name else None,
                text=data.get("TextBody") or data.get("StrippedTextReply") or "",
                html=data.get("HtmlBody") or "",
                subject=data.get("Subject") or "",
                external_id=message_id,
                address=sender.lower(),
                thread_ids=[r for r in dict.fromkeys(refs) if r.startswith("<")],
                attachments=[
                    {
                        "filename": a.get("Name", ""),
                        "content_type": a.get("ContentType", ""),
                        "size": a.get("ContentLength", 0),
                    }
                    for a in data.get("Attachments") or []
                ],
            )
        ]
    )


# --- SMS ----------------------------------------------------------------------------------
def parse_sms(channel, request) -> Parsed:
    """JSON {id, from, to, text, received_at?} or a Twilio-style form (MessageSid, From, Body)."""
    if (request.content_type or "").startswith("application/x-www-form-urlencoded"):
        data = {
            "id": request.POST.get("MessageSid", ""),
            "from": request.POST.get("From", ""),
            "text": request.POST.get("Body", ""),
        }
    else:
        data = _json(request.body)
    _require(data, "id", "from", "text")
    return Parsed(
        [
            InboundMessage(
                channel=channel,
                identities=[{"kind": "phone", "value": str(data["from"])}],
                text=str(data["text"]),
                external_id=str(data["id"]),
                address=str(data["from"]),
                occurred_at=_iso(data.get("received_at")),
            )
        ]
    )


def _iso(value):
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidPayload(
            "received_at is not ISO 8601.", fields={"received_at": ["Use ISO 8601."]}
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- WhatsApp Cloud API -------------------------------------------------------------------
def parse_whatsapp(channel, request) -> Parsed:
    data = _json(request.body)
    if data.get("object") != "whatsapp_business_account":
        raise InvalidPayload("Not a WhatsApp Business webhook.", fields={"object": ["Unexpected."]})
    parsed = Parsed()
    for entry in data.get("entry") or []:
        for change in entry.get("changes") or []:
            value = change.get("value") or {}
            names = {
                c.get("wa_id"): (c.get("profile") or {}).get("name", "")
                for c in value.get("contacts") or []
            }
            for item in value.get("messages") or []:
                sender = str(item.get("from") or "")
                if not sender or not item.get("id"):
                    raise InvalidPayload(
                        "A message lacks from or id.", fields={"messages": ["Incomplete."]}
                    )
                number = sender if sender.startswith("+") else "+" + sender
                kind = item.get("type")
                text = ""
                attachments = []
                if kind == "text":
                    text = (item.get("text") or {}).get("body", "")
                elif kind in ("image", "video", "audio", "document", "sticker"):
                    media = item.get(kind) or {}
                    text = media.get("caption", "")
                    attachments.append(
                        {
                            "type": kind,
                            "media_id": media.get("id", ""),
                            "mime_type": media.get("mime_type", ""),
                        }
                    )
                elif kind == "button":
                    text = (item.get("button") or {}).get("text", "")
                elif kind == "interactive":
                    reply = item.get("interactive") or {}
                    text = (reply.get("button_reply") or reply.get("list_reply") or {}).get(
                        "title", ""
                    )
                name = names.get(sender, "")
                first, _sep, last = name.partition(" ")
                parsed.messages.append(
                    InboundMessage(
                        channel=channel,
                        identities=[{"kind": "whatsapp", "value": number}],
                        traits={"first_name": first, "last_name": last} if name else None,
                        text=text or ("[" + str(kind) + "]" if not attachments else ""),
                        external_id=str(item["id"]),
                        address=number,
                        attachments=attachments,
                        occurred_at=_epoch(item.get("timestamp")),
                    )
                )
            # Receipts of what we sent: sent, delivered, read, or failed with
            # errors [{code, title, message, error_data}] (131026: undeliverable, ...).
            for status in value.get("statuses") or []:
                errors = status.get("errors") or []
                first = errors[0] if errors and isinstance(errors[0], dict) else {}
                parsed.statuses.append(
                    (
                        str(status.get("id", "")),
                        str(status.get("status", "")),
                        {k: first[k] for k in ("code", "title", "message") if first.get(k)},
                    )
                )
    return parsed


# --- Telegram Bot API ----------------------------------------------------------------------
# Telegram tells bots neither delivery nor read: a Telegram reply stays "sent".
def parse_telegram(channel, request) -> Parsed:
    data = _json(request.body)
    item = data.get("message") or data.get("edited_message")
    if item is None:
        if "update_id" not in data:
            raise InvalidPayload("Not a Telegram Update.", fields={"update_id": ["Required."]})
        return Parsed()  # other update kinds (callbacks, joins) carry no customer message
    sender = item.get("from") or {}
    chat = item.get("chat") or {}
    if not sender.get("id") or not chat.get("id") or not item.get("message_id"):
        raise InvalidPayload(
            "The message lacks from, chat or message_id.", fields={"message": ["Incomplete."]}
        )
    if sender.get("is_bot"):
        return Parsed()
    attachments = []
    if item.get("photo"):
        attachments.append({"type": "photo", "file_id": item["photo"][-1].get("file_id", "")})
    if item.get("document"):
        attachments.append({"type": "document", "file_id": item["document"].get("file_id", "")})
    edited = "edited_message" in data
    return Parsed(
        [
            InboundMessage(
                channel=channel,
                identities=[{"kind": "telegram", "value": str(sender["id"])}],
                traits={
                    "first_name": sender.get("first_name", ""),
                    "last_name": sender.get("last_name", ""),
                },
                text=item.get("text") or item.get("caption") or "",
                # message_id is unique per chat; an edit is a new version of it.
                external_id=f"{chat['id']}:{item['message_id']}"
                + (f":e{item.get('edit_date')}" if edited else ""),
                address=str(chat["id"]),
                attachments=attachments,
                occurred_at=_epoch(item.get("date")),
            )
        ]
    )


# --- Instagram and Messenger (Meta Graph webhooks) ----------------------------------------
def _parse_meta_messaging(channel, request, expected_object, identity_kind) -> Parsed:
    data = _json(request.body)
    if data.get("object") != expected_object:
        raise InvalidPayload(
            f"Not an {expected_object} webhook.", fields={"object": ["Unexpected."]}
        )
    parsed = Parsed()
    for entry in data.get("entry") or []:
        for event in entry.get("messaging") or []:
            message = event.get("message")
            sender = (event.get("sender") or {}).get("id")
            if event.get("read") or event.get("delivery"):
                parsed.statuses.extend(_meta_receipts(event, sender))
                continue
            if not message or message.get("is_echo") or not sender:
                continue
            if not message.get("mid"):
                raise InvalidPayload(
                    "A message lacks its mid.", fields={"message.mid": ["Required."]}
                )
            attachments = [
                {"type": a.get("type", ""), "url": (a.get("payload") or {}).get("url", "")}
                for a in message.get("attachments") or []
            ]
            parsed.messages.append(
                InboundMessage(
                    channel=channel,
                    identities=[{"kind": identity_kind, "value": str(sender)}],
                    text=message.get("text", ""),
                    external_id=str(message["mid"]),
                    address=str(sender),
                    attachments=attachments,
                    occurred_at=_epoch(event.get("timestamp")),
                )
            )
    return parsed


def _meta_receipts(event: dict, sender) -> list:
    """A Send API receipt from the customer (`sender`): `delivery` names the delivered
    messages by mid and/or a watermark (everything sent before it was delivered); `read` has
    only a watermark (everything sent to her before it was read). Watermarks are epoch ms."""
    receipts = []
    delivery = event.get("delivery") or {}
    for mid in delivery.get("mids") or []:
        receipts.append((str(mid), "delivered", {}))
    for kind, status in (("delivery", "delivered"), ("read", "read")):
        moment = _epoch((event.get(kind) or {}).get("watermark"))
        if moment is not None and sender:
            receipts.append(("", status, Watermark(address=str(sender), at=moment)))
    return receipts


def parse_instagram(channel, request) -> Parsed:
    return _parse_meta_messaging(channel, request, "instagram", "instagram")


def parse_messenger(channel, request) -> Parsed:
    return _parse_meta_messaging(channel, request, "page", "messenger")


# --- web chat -----------------------------------------------------------------------------
# What a visitor types into the chat widget proves nothing: anyone can type a customer's email.
# Only an identity the shop vouches for (it knows who is signed in) is resolved as hers; the
# rest is kept on the message as an unverified claim for the agent to read.
def identifier_hash(secret: str, identifier: str) -> str:
    """The hex HMAC-SHA256 of the identifier under the channel's identity secret: what the
    shop computes for a signed-in customer (Chatwoot's identifier_hash)."""
    return hmac.new(secret.encode(), identifier.encode(), hashlib.sha256).hexdigest()


def vouched_identity(channel, identifier: str, given_hash) -> IdentityKey:
    """The identity the shop vouches for with `identifier_hash`. The identifier is
    `kind:value` (`phone:+98912...`, `external_id:shop:42`), an email address, or else the
    shop's own customer id (an external id of partner provider_settings["identity_partner"],
    by default the channel's code). Raises InvalidIdentifierHash when the hash is missing or
    does not match, InvalidIdentity when the identifier cannot be read."""
    secret = (channel.provider_settings or {}).get("identity_secret") or ""
    if not secret:
        raise InvalidIdentifierHash(
            f"Channel {channel.code} has no identity_secret configured.",
            fields={"identifier_hash": ["Cannot be checked."]},
        )
    expected = identifier_hash(secret, identifier).encode()
    if not hmac.compare_digest(expected, str(given_hash or "").strip().lower().encode()):
        raise InvalidIdentifierHash(
            "The identifier_hash does not match the identifier.",
            fields={"identifier_hash": ["Does not match."]},
        )
    kind, sep, _rest = identifier.partition(":")
    if sep and kind in KINDS:
        return parse_identity_filter(identifier)
    if "@" in identifier:
        return normalise_identity("email", identifier, field="identifier")
    partner = (channel.provider_settings or {}).get("identity_partner") or channel.code
    return normalise_identity("external_id", identifier, partner, field="identifier")


def parse_webchat(channel, request) -> Parsed:
    """{id, visitor_id, text, email?, phone?, name?, identifier?, identifier_hash?}: the site's
    chat widget backend. The visitor is found by her visitor id (the widget's cookie) and by
    `identifier` when the shop vouches for it with `identifier_hash` (see vouched_identity);
    then her name is taken as hers. Email, phone and name not vouched for are stored as
    unverified claims and name no one."""
    return Parsed([webchat_message(channel, _json(request.body))])


def webchat_message(channel, data: dict, *, attachments=None) -> InboundMessage:
    """One web chat message from its fields (see parse_webchat): the webhook and the
    back-office's own widget (support.widget) read visitors alike. `attachments` are files the
    widget checked and stored (never taken from `data`); with one, the text may be empty."""
    _require(data, "id", "visitor_id", *(() if attachments else ("text",)))
    identities = [{"kind": "cookie", "value": str(data["visitor_id"])}]
    vouched = None
    if data.get("identifier") or data.get("identifier_hash"):
        _require(data, "identifier")
        vouched = vouched_identity(channel, str(data["identifier"]), data.get("identifier_hash"))
        identities.append(
            {
                "kind": vouched.kind,
                "value": vouched.value,
                "partner": vouched.partner,
                "verified": True,
            }
        )
    claims = []
    for kind in ("email", "phone"):
        if data.get(kind):
            key = normalise_identity(kind, str(data[kind]), field=kind)
            if key != vouched:
                claims.append({"kind": key.kind, "value": key.value})
    name = str(data.get("name") or "").strip()[:200]
    first, _sep, last = name.partition(" ")
    traits = None
    if name and vouched is not None:
        traits = {"first_name": first[:100], "last_name": last[:100]}
    elif name:
        claims.append({"kind": "name", "value": name})
    is_email = vouched is not None and vouched.kind == "email"
    return InboundMessage(
        channel=channel,
        identities=identities,
        traits=traits,
        text=str(data.get("text") or ""),
        external_id=str(data["id"]),
        address=vouched.value if is_email else str(data["visitor_id"]),
        claims=claims,
        attachments=list(attachments or []),
    )


ADAPTERS = {
    "email": (ChannelKind.EMAIL, parse_email),
    "sms": (ChannelKind.SMS, parse_sms),
    "whatsapp": (ChannelKind.WHATSAPP, parse_whatsapp),
    "telegram": (ChannelKind.TELEGRAM, parse_telegram),
    "instagram": (ChannelKind.INSTAGRAM, parse_instagram),
    "messenger": (ChannelKind.MESSENGER, parse_messenger),
    # Web chat lives on the web shop: its messages are on a channel of kind web.
    "webchat": (ChannelKind.WEB, parse_webchat),
}
