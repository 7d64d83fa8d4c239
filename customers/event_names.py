"""Event names of the common e-commerce tracking spec and the properties each one needs.

Custom names are allowed (`object_action`, lower case); their properties are free. Standard
names check only what the spec defines, so partners may add whatever else they know.
"""

import re
from decimal import Decimal, InvalidOperation

from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core import l10n

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")

PRODUCT = ("product_id", "sku")

# name -> (label, properties of which at least one is required, required properties)
STANDARD_EVENTS = {
    "page_viewed": (_("Page viewed"), (), ()),
    "product_viewed": (_("Product viewed"), PRODUCT, ()),
    "product_searched": (_("Product searched"), (), ("query",)),
    "product_added_to_cart": (_("Added to cart"), PRODUCT, ()),
    "product_removed_from_cart": (_("Removed from cart"), PRODUCT, ()),
    "wishlist_added": (_("Added to wish list"), PRODUCT, ()),
    "checkout_started": (_("Checkout started"), (), ()),
    "order_completed": (_("Order completed"), (), ("order_id",)),
    "order_refunded": (_("Order refunded"), (), ("order_id",)),
    "review_read": (_("Review read"), PRODUCT, ()),
    "price_compared": (_("Price compared"), PRODUCT, ()),
    "store_visited": (_("Store visited"), (), ()),
    "call_logged": (_("Call logged"), (), ()),
    "ad_clicked": (_("Ad clicked"), (), ()),
    "message_opened": (_("Message opened"), (), ()),
    "message_clicked": (_("Message clicked"), (), ()),
}
# Properties that, when present on any standard event, must be non-negative numbers.
NUMERIC = ("total", "revenue", "price", "quantity", "discount", "shipping", "tax")
# Kept through an erasure: they describe the business, not the person.
NON_PERSONAL_PROPERTIES = frozenset(
    {"product_id", "sku", "variant_id", "category", "brand", "order_id", "cart_id",
     "total", "revenue", "price", "quantity", "discount", "shipping", "tax", "currency",
     "coupon", "campaign_id", "store_id", "location_id"}
)  # fmt: skip


# Events the apps write themselves (orders, support, campaigns): how staff read them.
OWN_EVENTS = {
    "order_edited": _("Order changed"),
    "order_fulfilled": _("Order fulfilled"),
    "order_cancelled": _("Order cancelled"),
    "order_ready_for_pickup": _("Ready for pickup"),
    "order_exchanged": _("Exchanged"),
    "return_received": _("Return received"),
    "replacement_created": _("Replacement sent"),
    "cart_converted": _("Cart bought"),
    "cart_abandoned": _("Cart abandoned"),
    "size_back_in_store": _("Her size back in her store"),
    "message_received": _("Message received"),
    "message_sent": _("Message sent"),
    "message_delivered": _("Message delivered"),
    "message_read": _("Message read"),
    "message_bounced": _("Message bounced"),
    "message_complained": _("Marked as spam"),
    "message_failed": _("Message failed"),
    "message_unsubscribed": _("Unsubscribed"),
    "message_converted": _("Bought after a message"),
    "defect_reported": _("Defect reported"),
}

# Properties shown on a timeline row, in this order, with the words staff read them by.
DETAIL_LABELS = {
    "order_id": _("Order"),
    "subject": _("Subject"),
    "query": _("Search"),
    "sku": _("SKU"),
    "product_id": _("Product"),
    "coupon": _("Coupon"),
    "reason": _("Reason"),
    "url": _("Link"),
    "variant": _("Variant"),
    "store_id": _("Store"),
}


def is_known_event(name: str) -> bool:
    """A name of the spec or of our own apps: it has a translated label."""
    return name in STANDARD_EVENTS or name in OWN_EVENTS


def label_of(name: str) -> str:
    spec = STANDARD_EVENTS.get(name)
    if spec:
        return str(spec[0])
    if name in OWN_EVENTS:
        return str(OWN_EVENTS[name])
    return name.replace("_", " ").capitalize()


def _plain(value) -> str | None:
    if isinstance(value, (str, int, float, Decimal)) and not isinstance(value, bool):
        text = str(value).strip()
        return text[:120] if text else None
    return None


def details_of(properties, *, limit=4, isolate=False) -> list[str]:
    """A few readable facts of an event for the timeline, never a Python dict or list:
    "Order W-100001", "Total 56.00 USD", "2 products: ARIA-BLK-38 × 1, …". With `isolate`,
    safe HTML for a page: each value in its own <bdi dir="auto">, so an English subject
    after a Persian label keeps its question mark where she typed it."""
    if not isinstance(properties, dict):
        return []
    details = []
    for key, label in DETAIL_LABELS.items():
        value = _plain(properties.get(key))
        if value and isolate:
            details.append(format_html('{} <bdi dir="auto">{}</bdi>', label, value))
        elif value:
            details.append(f"{label} {value}")
    money = properties.get("total", properties.get("revenue"))
    if _plain(money):
        currency = _plain(properties.get("currency")) or ""
        # As staff read amounts in their language: ۵۶٫۰۰ USD, IRR without cents (core.l10n).
        details.append(f"{_('Total')} {l10n.format_money(money, currency)}".strip())
    lines = properties.get("products")
    if isinstance(lines, list) and lines:
        shown = [
            f"{line.get('sku')} × {l10n.localise_digits(line.get('quantity', 1))}"
            for line in lines[:3]
            if isinstance(line, dict) and _plain(line.get("sku"))
        ]
        more = " …" if len(lines) > 3 else ""
        words = ngettext(
            "%(count)s product: %(lines)s", "%(count)s products: %(lines)s", len(lines)
        )
        count = l10n.format_number(len(lines))
        details.append(words % {"count": count, "lines": ", ".join(shown)} + more)
    if not details:
        # Custom events: their own simple properties, as "key: value".
        for key, value in properties.items():
            text = _plain(value)
            if text and isolate:  # a partner's own words: shown as they are
                details.append(format_html('<bdi dir="auto">{}: {}</bdi>', key, text))
            elif text:
                details.append(f"{key.replace('_', ' ')}: {text}")
    return details[:limit]


def property_errors(name: str, properties) -> dict[str, list[str]]:
    """Field errors of an event, keyed like the API reports them (`event`, `properties.sku`)."""
    if not NAME_RE.match(name):
        return {"event": ["Use lower-case object_action names: letters, digits, underscores."]}
    if not isinstance(properties, dict):
        return {"properties": ["Must be an object."]}
    spec = STANDARD_EVENTS.get(name)
    if spec is None:
        return {}
    errors = {}
    _label, one_of, required = spec
    if one_of and not any(properties.get(key) not in (None, "") for key in one_of):
        errors["properties." + one_of[0]] = [f"{name} needs one of: {', '.join(one_of)}."]
    for key in required:
        if properties.get(key) in (None, ""):
            errors[f"properties.{key}"] = [f"{name} needs {key}."]
    for key in NUMERIC:
        if key in properties and amount(properties[key]) is None:
            errors[f"properties.{key}"] = ["Must be a non-negative number."]
    currency = properties.get("currency")
    if currency is not None and not (
        isinstance(currency, str) and re.fullmatch(r"[A-Z]{3}", currency)
    ):
        errors["properties.currency"] = ["Must be an ISO 4217 code such as USD."]
    return errors


def amount(value) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number < 0:
        return None
    return number
