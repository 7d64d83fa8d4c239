"""Rules every door that adds an order line shares (placing an order, editing one)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from orders.errors import OrderError
from orders.services.stock import STORE_METHODS


def require_store(method, store, *, field: str) -> None:
    """A line taken or shipped from a store names the store; `field` is where it was
    expected ("store", "lines.2.store")."""
    if method in STORE_METHODS and store is None:
        raise OrderError(
            _("A %(method)s line needs a store.") % {"method": method},
            fields={field: [_("Required for this fulfilment method.")]},
        )
