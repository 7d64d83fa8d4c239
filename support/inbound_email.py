"""Inbound email: an RFC 822 message (from a webhook or an IMAP mailbox) read into an
InboundMessage, and the IMAP poll beat runs.

IMAP settings live in the email channel's provider_settings:
    {"imap": {"host": "imap.example.com", "port": 993, "ssl": true,
              "username": "support@example.com", "password": "...", "folder": "INBOX"}}
The poll fetches UNSEEN messages, stores each (deduplicated by Message-ID), then marks it
\\Seen, so a crash between the two re-reads a message that is then recognised as stored.
"""

import email
import email.policy
import imaplib
import logging
from email.utils import getaddresses, parsedate_to_datetime

from core.models import Channel, ChannelKind
from support.errors import InvalidPayload
from support.services.inbound import InboundMessage, receive_inbound

logger = logging.getLogger("omni.support")
MAX_TEXT = 200_000


def _ids(header_value) -> list[str]:
    return [part for part in str(header_value or "").split() if part.startswith("<")]


def parse_rfc822(raw: bytes, channel) -> InboundMessage:
    """A raw email -> InboundMessage. Raises InvalidPayload when it has no sender."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    senders = getaddresses([str(message.get("Reply-To") or message.get("From") or "")])
    name, address = senders[0] if senders else ("", "")
    if "@" not in (address or ""):
        raise InvalidPayload("The email has no sender address.", fields={"from": ["Missing."]})
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    text = text_part.get_content() if text_part is not None else ""
    html = html_part.get_content() if html_part is not None else ""
    attachments = [
        {
            "filename": part.get_filename() or "",
            "content_type": part.get_content_type(),
            "size": len(part.get_payload(decode=True) or b""),
        }
        for part in message.iter_attachments()
    ]
    references = _ids(message.get("References"))
    in_reply_to = _ids(message.get("In-Reply-To"))
    try:
        occurred_at = (
            parsedate_to_datetime(str(message.get("Date"))) if message.get("Date") else None
        )
    except (TypeError, ValueError):
        occurred_at = None
    first, _sep, last = (name or "").partition(" ")
    return InboundMessage(
        channel=channel,
        identities=[{"kind": "email", "value": address}],
        traits={"first_name": first, "last_name": last} if name else None,
        text=text[:MAX_TEXT],
        html=html[:MAX_TEXT],
        subject=str(message.get("Subject") or "")[:255],
        external_id=str(message.get("Message-ID") or "").strip(),
        address=address.lower(),
        thread_ids=in_reply_to + [r for r in references if r not in in_reply_to],
        attachments=attachments,
        occurred_at=None if occurred_at is None or occurred_at.tzinfo is None else occurred_at,
    )


def imap_settings(channel) -> dict | None:
    settings = (channel.provider_settings or {}).get("imap")
    if not isinstance(settings, dict) or not settings.get("host"):
        return None
    return settings


def poll_mailbox(channel) -> int:
    """Fetch unseen mail of one channel's mailbox; returns how many new messages were stored."""
    config = imap_settings(channel)
    if config is None:
        return 0
    port = int(config.get("port") or (993 if config.get("ssl", True) else 143))
    client_class = imaplib.IMAP4_SSL if config.get("ssl", True) else imaplib.IMAP4
    stored = 0
    with client_class(config["host"], port, timeout=30) as client:
        client.login(config["username"], config["password"])
        client.select(config.get("folder") or "INBOX")
        _status, data = client.uid("SEARCH", None, "UNSEEN")
        for uid in (data[0] or b"").split():
            _status, parts = client.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((p[1] for p in parts if isinstance(p, tuple)), None)
            if raw is None:
                continue
            try:
                inbound = parse_rfc822(raw, channel)
                if not inbound.external_id:
                    inbound.external_id = f"imap-{config['username']}-{uid.decode()}"
                result = receive_inbound(inbound)
                stored += int(result.created)
            except InvalidPayload as error:
                logger.warning("skipped mail %s in %s: %s", uid, channel.code, error)
            client.uid("STORE", uid, "+FLAGS", "(\\Seen)")
        client.logout()
    return stored


def poll_all_mailboxes() -> int:
    total = 0
    for channel in Channel.objects.active().filter(kind=ChannelKind.EMAIL):
        if imap_settings(channel) is None:
            continue
        try:
            total += poll_mailbox(channel)
        except (OSError, imaplib.IMAP4.error) as error:
            logger.warning("IMAP poll of %s failed: %s", channel.code, error)
    return total
