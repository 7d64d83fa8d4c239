"""Event names of the common e-commerce tracking spec and the properties each one needs.

Custom names are allowed (`object_action`, lower case); their properties are free. Standard
names check only what the spec defines, so partners may add whatever else they know.
"""

import re
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_lazy as _

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


def label_of(name: str) -> str:
    spec = STANDARD_EVENTS.get(name)
    return str(spec[0]) if spec else name.replace("_", " ").capitalize()


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
