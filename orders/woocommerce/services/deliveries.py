"""One webhook delivery from a WooCommerce shop, from raw bytes to its effect.

WooCommerce POSTs the resource's REST JSON with `X-WC-Webhook-Topic` (`order.created`),
`-Resource`, `-Event`, `-ID`, `-Delivery-ID`, `-Source` and `-Signature` (base64
HMAC-SHA256 of the raw body under the webhook's secret). Creating a webhook first sends a
ping: a form body `webhook_id=N` with none of those headers, which must be answered 200 or the
shop does not save the webhook; a ping changes nothing here.

A delivery already applied (the same body again: a replay, a resend from the shop's log) is
answered as before and stores nothing twice; a refused one is read again when it comes back.
Whatever a delivery says is also idempotent by WooCommerce's own ids (orders by external id
and modification date, customers by identity, products by link).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from core.api.errors import DomainError
from core.api.parsers import nul_path
from core.models import Channel, ChannelProvider
from core.providers.woocommerce import is_valid_signature
from orders.woocommerce.errors import InvalidPayload, InvalidSignature, UnknownShop
from orders.woocommerce.models import DeliveryOutcome, WebhookDelivery
from orders.woocommerce.services import catalog, orders

PING = re.compile(rb"^webhook_id=[0-9]{1,20}$")
HANDLERS = {
    "order.created": orders.apply_order,
    "order.updated": orders.apply_order,
    "customer.created": orders.apply_customer,
    "customer.updated": orders.apply_customer,
    "product.created": catalog.apply_product,
    "product.updated": catalog.apply_product,
}
TOPICS = sorted(HANDLERS)


@dataclass
class Received:
    outcome: str  # "ping", or a DeliveryOutcome
    topic: str = ""
    detail: str = ""
    duplicate: bool = False


def shop(channel_code: str) -> Channel:
    channel = Channel.objects.filter(
        code=channel_code, provider=ChannelProvider.WOOCOMMERCE, is_active=True
    ).first()
    if channel is None:
        raise UnknownShop(
            _("No active WooCommerce channel %(code)s.") % {"code": channel_code},
            fields={"channel_code": [_("Not a WooCommerce channel.")]},
        )
    return channel


def topic_of(headers) -> str:
    topic = (headers.get("X-WC-Webhook-Topic") or "").strip().lower()
    if not topic and headers.get("X-WC-Webhook-Resource"):
        topic = f"{headers.get('X-WC-Webhook-Resource')}.{headers.get('X-WC-Webhook-Event', '')}"
    return topic.strip().lower()


def receive_delivery(channel_code: str, body: bytes, headers) -> Received:
    """Verify and apply one delivery. Raises UnknownShop (404), InvalidSignature (401),
    InvalidPayload (400, naming the field) or the order services' errors (refused: the
    delivery is recorded as refused with the reason, for staff in the admin)."""
    channel = shop(channel_code)
    topic = topic_of(headers)
    signature = headers.get("X-WC-Webhook-Signature") or ""
    if not topic and not signature and PING.match(body.strip()):
        return Received("ping")
    secret = str((channel.provider_settings or {}).get("webhook_secret") or "")
    if not is_valid_signature(secret, body, signature):
        raise InvalidSignature(
            _("X-WC-Webhook-Signature does not match the body under the webhook secret."),
            fields={"X-WC-Webhook-Signature": [_("Missing or wrong.")]},
        )
    digest = hashlib.sha256(body).hexdigest()
    seen = WebhookDelivery.objects.filter(channel=channel, digest=digest).first()
    if seen is not None and seen.outcome != DeliveryOutcome.REFUSED:
        return Received(seen.outcome, topic=seen.topic, detail=seen.detail, duplicate=True)
    if topic not in HANDLERS:
        outcome, detail, resource = DeliveryOutcome.IGNORED, _("Topic not read."), ""
    else:
        data = _decoded(body)
        resource = str(data.get("id") or "")[:40]
        try:
            outcome, detail = HANDLERS[topic](channel, data)
        except DomainError as error:
            _record(channel, headers, topic, resource, digest, DeliveryOutcome.REFUSED, str(error))
            raise
    _record(channel, headers, topic, resource, digest, outcome, detail)
    return Received(outcome, topic=topic, detail=str(detail))


def _decoded(body: bytes) -> dict:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise InvalidPayload(
            _("The body is not JSON."), fields={"body": [_("Must be a JSON object.")]}
        ) from None
    if not isinstance(data, dict):
        raise InvalidPayload(
            _("The body is not a JSON object."), fields={"body": [_("Must be a JSON object.")]}
        )
    path = nul_path(data)
    if path is not None:
        # PostgreSQL cannot store the NUL character in text.
        raise InvalidPayload(
            _("Text may not contain the NUL character."),
            fields={path or "body": [_("Contains the NUL character.")]},
        )
    return data


def _record(channel, headers, topic, resource, digest, outcome, detail) -> None:
    values = {
        "delivery_id": (headers.get("X-WC-Webhook-Delivery-ID") or "")[:100],
        "webhook_id": (headers.get("X-WC-Webhook-ID") or "")[:40],
        "topic": topic[:60],
        "resource_id": resource,
        "outcome": outcome,
        "detail": str(detail)[:500],
    }
    try:
        with transaction.atomic():
            WebhookDelivery.objects.update_or_create(
                channel=channel, digest=digest, defaults=values
            )
    except IntegrityError:
        # The same delivery, recorded a moment ago by a concurrent request.
        WebhookDelivery.objects.filter(channel=channel, digest=digest).update(**values)
