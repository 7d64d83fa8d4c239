"""The scopes a partner API key can hold. `<area>:write` implies `<area>:read`."""

from django.utils.translation import gettext_lazy as _

AREAS = {
    "channels": _("Channels"),
    "customers": _("Customers, identities, events and consent"),
    "catalog": _("Products, variants, listings and prices"),
    "inventory": _("Stock, movements, reservations and availability"),
    "orders": _("Carts, orders, returns"),
    "campaigns": _("Segments, campaigns, coupons"),
    "loyalty": _("Loyalty points and referrals"),
    "support": _("Conversations and inbound messages"),
}

SCOPES = {
    f"{area}:{action}": label for area, label in AREAS.items() for action in ("read", "write")
}


class UnknownScope(ValueError):
    pass


def validate_scopes(scopes):
    """Return the scopes sorted and de-duplicated; raise UnknownScope naming any unknown one."""
    cleaned = sorted({scope.strip() for scope in scopes if scope.strip()})
    unknown = [scope for scope in cleaned if scope not in SCOPES]
    if unknown:
        raise UnknownScope(
            f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(sorted(SCOPES))}."
        )
    return cleaned
