"""Reading WooCommerce's resource JSON (orders, customers, products as its REST API v3 shapes
them, which is what its webhooks deliver): each reader returns plain values or raises
InvalidPayload naming the WooCommerce field (`line_items.2.quantity`), never a KeyError."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from orders.woocommerce.errors import InvalidPayload


def refuse(field: str, problem: str, message: str | None = None):
    raise InvalidPayload(
        message or _("Invalid %(field)s in the WooCommerce payload.") % {"field": field},
        fields={field: [problem]},
    )


def section(data: dict, name: str) -> dict:
    value = data.get(name)
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        refuse(name, _("Must be an object."))
    return value


def text(data: dict, name: str, *, field: str | None = None, limit: int = 255) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        refuse(field or name, _("Must be a string."))
    return value.strip()[:limit]


def whole(data: dict, name: str, *, field: str | None = None, required=True, minimum=0) -> int:
    """A whole number (WooCommerce sends ids and quantities as JSON numbers)."""
    value = data.get(name)
    if value is None or value == "":
        if required:
            refuse(field or name, _("Required."))
        return 0
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        refuse(field or name, _("Must be a whole number."))
    if value < minimum:
        refuse(field or name, _("Must be %(minimum)s or more.") % {"minimum": minimum})
    return value


def money(data: dict, name: str, *, field: str | None = None) -> Decimal | None:
    """A price as WooCommerce writes it, a decimal string ("12.50"); None when empty."""
    value = data.get(name)
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        refuse(field or name, _("Must be a decimal number."))
    if not amount.is_finite() or amount < 0:
        refuse(field or name, _("Must be a decimal number of 0 or more."))
    return amount


def gmt(data: dict, name: str, *, required=True) -> dt.datetime | None:
    """WooCommerce's `*_gmt` dates: ISO 8601 without a zone ("2026-03-22T16:28:08"), in UTC."""
    value = data.get(name)
    if value in (None, ""):
        if required:
            refuse(name, _("Required."))
        return None
    if not isinstance(value, str):
        refuse(name, _("Must be a date like 2026-03-22T16:28:08."))
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        refuse(name, _("Must be a date like 2026-03-22T16:28:08."))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def items(data: dict, name: str) -> list[dict]:
    value = data.get(name)
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        refuse(name, _("Must be a list."))
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            refuse(f"{name}.{index}", _("Must be an object."))
    return value
