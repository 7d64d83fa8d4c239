"""Tracking: opens, clicks, delivery reports, unsubscribes and conversions.

Each is kept on the message row (for reports), as a TrackingEvent, and on the customer
timeline through customers.services.record_event (message_opened, message_clicked,
message_delivered, message_bounced, message_unsubscribed, message_converted).
"""

import hashlib
import logging
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from campaigns.models import (
    SENT_STATUSES,
    CampaignMessage,
    MessageStatus,
    Suppression,
    SuppressionReason,
    TrackingEvent,
    TrackingKind,
    Unsubscribe,
)
from campaigns.services.cursors import read_after
from customers.choices import ConsentPurpose
from customers.errors import CustomerErased
from customers.event_names import amount
from customers.selectors import ORDER_COMPLETED, events_after
from customers.services import record_consent, record_event

logger = logging.getLogger("omni.campaigns")

# Only moves forward: a late "delivered" report never hides an earlier click.
RANK = {
    MessageStatus.SENT: 1,
    MessageStatus.DELIVERED: 2,
    MessageStatus.OPENED: 3,
    MessageStatus.CLICKED: 4,
    MessageStatus.CONVERTED: 5,
}
DEFAULT_ATTRIBUTION_DAYS = 7


def _advance_status(message, status, stamp_field, now) -> bool:
    """Move the row forward to `status` (never back) and stamp `stamp_field` once. True when
    the stamp is new (a repeated report changes nothing)."""
    lower = [s for s, rank in RANK.items() if rank < RANK[status]]
    CampaignMessage.objects.filter(pk=message.pk, status__in=lower).update(status=status)
    return bool(
        CampaignMessage.objects.filter(pk=message.pk, **{f"{stamp_field}__isnull": True}).update(
            **{stamp_field: now}
        )
    )


def _timeline(message, name, *, key, properties=None):
    props = {
        "campaign_id": message.campaign_id,
        "journey_step_id": message.journey_step_id,
        "message": message.token,
        "variant": message.variant.name if message.variant_id else "",
        **(properties or {}),
    }
    try:
        record_event(
            message.customer,
            name,
            channel=message.channel,
            properties={k: v for k, v in props.items() if v not in (None, "")},
            message_id=f"campaigns-{name}-{key}"[:100],
            source="campaigns",
        )
    except CustomerErased:
        pass


def message_by_token(token):
    return (
        CampaignMessage.objects.select_related("customer", "channel", "variant", "campaign")
        .filter(token=token)
        .first()
    )


def record_open(message, *, now=None) -> None:
    now = now or timezone.now()
    first = message.opened_at is None
    _advance_status(message, MessageStatus.OPENED, "opened_at", now)
    TrackingEvent.objects.create(message=message, kind=TrackingKind.OPENED, occurred_at=now)
    if first:
        _timeline(message, "message_opened", key=message.token)


def record_click(message, url, *, now=None) -> None:
    now = now or timezone.now()
    _advance_status(message, MessageStatus.OPENED, "opened_at", now)
    _advance_status(message, MessageStatus.CLICKED, "clicked_at", now)
    TrackingEvent.objects.create(
        message=message, kind=TrackingKind.CLICKED, url=url[:1000], occurred_at=now
    )
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    _timeline(message, "message_clicked", key=f"{message.token}-{digest}", properties={"url": url})


def unsubscribe(message, *, source="link", now=None) -> None:
    """Withdraw marketing consent for the message's channel kind (one click, RFC 8058)."""
    now = now or timezone.now()
    kind = message.channel.kind if message.channel_id else "email"
    with transaction.atomic():
        if message.unsubscribed_at is None:
            CampaignMessage.objects.filter(pk=message.pk).update(unsubscribed_at=now)
            Unsubscribe.objects.create(
                customer=message.customer, channel_kind=kind, message=message, source=source
            )
            TrackingEvent.objects.create(
                message=message, kind=TrackingKind.UNSUBSCRIBED, occurred_at=now
            )
        try:
            record_consent(
                message.customer,
                channel_kind=kind,
                purpose=ConsentPurpose.MARKETING,
                granted=False,
                source=f"campaigns:unsubscribe:{source}",
            )
        except CustomerErased:
            return
    _timeline(message, "message_unsubscribed", key=message.token)


def suppression_digest(address: str) -> str:
    """How the suppression list keeps an erased person's address: sending still refuses it,
    but the list no longer reads as her address."""
    return "sha256:" + hashlib.sha256(address.strip().lower().encode()).hexdigest()


def suppress_address(channel_kind, address, reason, detail="") -> Suppression:
    suppression, _created = Suppression.objects.get_or_create(
        channel_kind=channel_kind,
        address=address,
        defaults={"reason": reason, "detail": detail[:255]},
    )
    return suppression


def handle_delivery_report(*, channel, provider_message_id, status, detail=None, **_kwargs):
    """Receiver of core.providers.delivery_reported, whatever the provider: update the row
    (never back: a "delivered" after a "read" only stamps delivered_at), suppress bounced and
    complaining addresses, write the timeline. A repeated report changes nothing."""
    message = (
        CampaignMessage.objects.select_related("customer", "channel", "variant")
        .filter(provider_message_id=provider_message_id, channel=channel)
        .first()
    )
    if message is None or not provider_message_id:
        return
    now = timezone.now()
    if status == "delivered":
        changed = _advance_status(message, MessageStatus.DELIVERED, "delivered_at", now)
        kind = TrackingKind.DELIVERED
    elif status == "read":
        # Read implies delivered (a provider may report only the read); a read message is
        # "opened" in the funnel, as an email's open.
        _advance_status(message, MessageStatus.DELIVERED, "delivered_at", now)
        changed = _advance_status(message, MessageStatus.OPENED, "read_at", now)
        _advance_status(message, MessageStatus.OPENED, "opened_at", now)
        kind = TrackingKind.OPENED
    elif status in ("bounced", "complained", "failed"):
        kind = {"bounced": TrackingKind.BOUNCED, "complained": TrackingKind.COMPLAINED}.get(
            status, TrackingKind.FAILED
        )
        failing = CampaignMessage.objects.filter(pk=message.pk).exclude(status=MessageStatus.FAILED)
        if status == "failed":
            # A late "failed" after a read or a click is out of order: the customer had it.
            failing = failing.filter(read_at__isnull=True, opened_at__isnull=True)
        changed = bool(
            failing.update(
                status=MessageStatus.FAILED, status_reason=_failure_reason(status, detail)
            )
        )
        if changed and status in ("bounced", "complained"):
            reason = (
                SuppressionReason.BOUNCE if status == "bounced" else SuppressionReason.COMPLAINT
            )
            suppress_address(channel.kind, message.to, reason, str(detail or "")[:255])
            if status == "complained":
                unsubscribe(message, source="complaint", now=now)
    else:
        return
    if not changed:
        return
    TrackingEvent.objects.create(message=message, kind=kind, detail=detail or {}, occurred_at=now)
    _timeline(message, f"message_{status}", key=message.token)


def _failure_reason(status, detail) -> str:
    """What the provider said: "provider: failed (30003)" with its own code when it gave one."""
    detail = detail if isinstance(detail, dict) else {}
    said = (
        detail.get("error_code")
        or detail.get("code")
        or detail.get("reason")
        or detail.get("kavenegar_status")
    )
    return f"provider: {status} ({said})"[:200] if said else f"provider: {status}"


def awaiting_receipt(channel, since) -> list[str]:
    """Provider ids of this channel's messages sent since `since` that no receipt has
    settled yet (neither delivered, read nor failed): what a polled provider is asked about."""
    return list(
        CampaignMessage.objects.filter(
            channel=channel,
            status=MessageStatus.SENT,
            sent_at__gte=since,
            delivered_at__isnull=True,
            read_at__isnull=True,
        )
        .exclude(provider_message_id="")
        .values_list("provider_message_id", flat=True)[:50_000]
    )


def attribute_order(event) -> CampaignMessage | None:
    """Last touch: the latest message sent to this customer within its attribution window
    before the order (an `order_completed` event of her timeline), whatever channel the
    order came from (store included)."""
    longest = timedelta(days=90)
    candidates = (
        CampaignMessage.objects.filter(
            customer_id=event.customer_id,
            sent_at__lte=event.occurred_at,
            sent_at__gte=event.occurred_at - longest,
            status__in=SENT_STATUSES,
        )
        .exclude(status=MessageStatus.CONVERTED)
        .select_related("campaign", "customer", "channel", "variant")
        .order_by("-sent_at", "-id")
    )
    for message in candidates[:20]:
        days = (
            message.campaign.attribution_window_days
            if message.campaign_id
            else DEFAULT_ATTRIBUTION_DAYS
        )
        if message.sent_at >= event.occurred_at - timedelta(days=days):
            return message
    return None


def record_conversion(event) -> CampaignMessage | None:
    message = attribute_order(event)
    if message is None:
        return None
    order_id = str(event.properties.get("order_id", ""))
    revenue = amount(event.properties.get("total")) or Decimal(0)
    updated = CampaignMessage.objects.filter(pk=message.pk, converted_at__isnull=True).update(
        status=MessageStatus.CONVERTED,
        converted_at=event.occurred_at,
        revenue=revenue,
        conversion_order=order_id[:64],
    )
    if updated:
        TrackingEvent.objects.create(
            message=message,
            kind=TrackingKind.CONVERTED,
            detail={"order_id": order_id, "total": str(revenue)},
            occurred_at=event.occurred_at,
        )
        _timeline(
            message,
            "message_converted",
            key=f"{message.token}-{order_id}",
            properties={"order_id": order_id, "revenue": str(revenue)},
        )
    return message


def poll_conversions(limit=2000) -> int:
    """Read new order_completed events (by id cursor) and attribute them."""
    with transaction.atomic():
        events = read_after(
            "conversions",
            lambda after: events_after(after, [ORDER_COMPLETED], limit=limit, not_from="campaigns"),
        )
        converted = 0
        for event in events:
            if CampaignMessage.objects.filter(
                customer_id=event.customer_id,
                conversion_order=str(event.properties.get("order_id", ""))[:64],
            ).exists():
                continue
            if record_conversion(event):
                converted += 1
    return converted
