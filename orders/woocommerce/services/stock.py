"""Our stock figures written to a WooCommerce shop. Inventory's debounced push
(inventory.services.sync) claims the pending figures of a channel and hands them here:
simple products go in one `POST products/batch`, the variations of each variable product in
one `POST products/{id}/variations/batch` (each at most 100 objects a request), with
`manage_stock: true` so the shop counts the units we give it."""

from __future__ import annotations

import logging

from core.providers import ProviderError
from core.providers.woocommerce import WooCommerceClient, item_error
from inventory.services.sync import SyncFailed
from orders.woocommerce.models import ProductLink

logger = logging.getLogger(__name__)


def stock_updates(channel, items) -> tuple[list[dict], dict[int, list[dict]]]:
    """(simple product updates, {product id: variation updates}) for the linked variants
    among `items` [{"variant_id", "units", ...}]; variants the shop does not have are left
    out."""
    units = {item["variant_id"]: max(int(item["units"]), 0) for item in items}
    simple, variations = [], {}
    links = ProductLink.objects.filter(channel=channel, variant_id__in=list(units)).order_by(
        "product_id", "variation_id"
    )
    for link in links:
        update = {"manage_stock": True, "stock_quantity": units[link.variant_id]}
        if link.variation_id:
            variations.setdefault(link.product_id, []).append({"id": link.variation_id, **update})
        else:
            simple.append({"id": link.product_id, **update})
    return simple, variations


def push_stock_figures(channel, items) -> dict:
    """Write the figures to the shop. Raises SyncFailed when a request failed (the figures
    stay pending and go out again, newer); an object the shop refused alone (a product
    deleted there) is logged and not retried."""
    simple, variations = stock_updates(channel, items)
    if not simple and not variations:
        return {"sent": 0, "refused": 0}
    try:
        client = WooCommerceClient(channel)
        answered = client.update_products(simple) if simple else []
        for product_id, updates in variations.items():
            answered += client.update_variations(product_id, updates)
    except ProviderError as error:
        raise SyncFailed(str(error)) from error
    refused = [(item.get("id"), item_error(item)) for item in answered if item_error(item)]
    for object_id, reason in refused:
        logger.warning("WooCommerce refused the stock of #%s on %s: %s", object_id, channel, reason)
    sent = len(simple) + sum(len(updates) for updates in variations.values())
    return {"sent": sent, "refused": len(refused)}
