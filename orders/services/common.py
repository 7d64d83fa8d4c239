"""What every order service shares: finding channels, variants, prices and locations,
order numbers, timeline events and outbox messages."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db.models import Model
from django.utils.translation import gettext as _
from moneyed import Money

from catalog.selectors import price_for, variant_by_sku
from core.models import Channel
from core.selectors import channel_for
from core.services.outbox import publish as outbox_publish
from customers.errors import CustomerErased
from customers.services import record_event
from inventory.selectors import active_location, serving_location_ids
from orders.errors import UnknownChannel, UnknownLocation, UnknownVariant

logger = logging.getLogger(__name__)

# Order number prefixes by channel kind: W-100123 is a web order, S-100124 a store sale.
NUMBER_PREFIX = {
    "web": "W",
    "mobile_app": "A",
    "phone": "P",
    "store": "S",
    "instagram": "I",
    "messenger": "F",
    "whatsapp": "H",
    "telegram": "T",
    "print_catalog": "C",
    "marketplace": "M",
    "email": "E",
    "sms": "E",
}
NUMBER_BASE = 100000


def order_number(order) -> str:
    prefix = NUMBER_PREFIX.get(order.channel.kind, "X")
    return f"{prefix}-{NUMBER_BASE + order.pk}"


def return_number(return_request) -> str:
    return f"R-{NUMBER_BASE + return_request.pk}"


def channel_of(channel, *, field="channel"):
    """A core.Channel from a Channel or a code; raises UnknownChannel naming the field."""
    if not channel:
        # An order always happens somewhere: a missing channel is as unknown as a wrong one.
        channel = ""
    return channel_for(channel, field=field, error=UnknownChannel)


def variant_of(sku_or_variant, *, field="sku"):
    """The variant itself (one already found, a model instance), else the active variant
    with this SKU; raises UnknownVariant naming the field."""
    if isinstance(sku_or_variant, Model):
        return sku_or_variant
    variant = variant_by_sku(str(sku_or_variant or ""))
    if variant is None or not variant.is_active:
        raise UnknownVariant(
            _("No active variant has the SKU %(sku)s.") % {"sku": sku_or_variant},
            fields={field: [_("Unknown SKU.")]},
        )
    return variant


def location_of(location, *, field="store"):
    """None for no location, else the Location itself or the active one with this code;
    raises UnknownLocation naming the field."""
    if location is None or location == "":
        return None
    found = active_location(location)
    if found is None:
        raise UnknownLocation(
            _("No active location has the code %(code)s.") % {"code": location},
            fields={field: [_("Unknown location.")]},
        )
    return found


def reference_channel():
    """The channel whose price list and stock serve channels that have none of their own
    (phone, social, printed catalogue): the web shop."""
    return (
        Channel.objects.filter(code="web").first()
        or Channel.objects.filter(kind="web", is_active=True).order_by("id").first()
    )


def price_on(variant, channel, *, field="sku") -> Money:
    """The variant's price on `channel`, or on the web shop when the channel keeps no
    price list of its own (a phone or Instagram order sells at the web price)."""
    price = price_for(variant, channel)
    if price is None:
        fallback = reference_channel()
        if fallback is not None and fallback.pk != channel.pk:
            price = price_for(variant, fallback)
    if price is None:
        raise UnknownVariant(
            _("%(sku)s is not on sale on %(channel)s.") % {"sku": variant.sku, "channel": channel},
            fields={field: [_("Not on sale on this channel.")]},
        )
    return price


def stock_channel(channel):
    """The channel whose stock rule allocates an order of `channel`: its own when locations
    serve it, else the web shop's (phone and social orders are served from online stock)."""
    if serving_location_ids(channel):
        return channel
    return reference_channel() or channel


def zero(currency=None) -> Money:
    return Money(0, currency or settings.DEFAULT_CURRENCY)


def money_str(value: Money) -> str:
    return f"{value.amount:.2f}"


def record(customer, name, *, channel, properties, key):
    """Put an event on the customer's timeline; `key` makes it idempotent (a replayed
    request records it once). An erased customer gets no new events."""
    try:
        record_event(
            customer,
            name,
            channel=channel,
            properties=properties,
            message_id=f"orders:{key}:{name}",
            source="orders",
        )
    except CustomerErased:
        logger.info("not recording %s for erased customer %s", name, customer.pk)


def publish(topic, payload):
    outbox_publish(topic, payload)


def order_payload(order) -> dict:
    return {
        "number": order.number,
        "external_id": order.external_id,
        "kind": order.kind,
        "customer_id": str(order.customer.public_id),
        "channel": order.channel.code,
        "status": order.status,
        "payment_status": order.payment_status,
        "total": money_str(order.total),
        "currency": order.currency,
    }


def products_of(lines) -> list[dict]:
    return [
        {"sku": line.sku, "quantity": line.quantity, "price": money_str(line.unit_price)}
        for line in lines
    ]
