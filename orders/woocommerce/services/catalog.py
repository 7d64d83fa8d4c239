"""Which WooCommerce product or variation each of our variants is (matched by SKU), and the
shop's price and title written onto our listing on that channel. Stock is never read from
the shop: our ledger is the truth, and figures only go out (services.stock)."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from catalog.errors import InvalidProductData
from catalog.selectors import variant_by_sku
from catalog.services import set_listing, set_variant_price
from core.providers import ProviderError
from core.providers.woocommerce import WooCommerceClient
from orders.woocommerce import payloads
from orders.woocommerce.errors import WooCommerceError
from orders.woocommerce.models import ProductLink

logger = logging.getLogger(__name__)


class ShopNotAnswering(WooCommerceError):
    """The shop's REST API did not answer a question the delivery needs answered (the SKUs
    of a variable product's variations)."""

    code = "shop_not_answering"
    status_code = 502


def link_variant(channel, variant, *, product_id: int, variation_id: int = 0) -> ProductLink:
    """Record that `variant` is this WooCommerce product (or variation) in the channel's shop.
    A product id that named another variant (its SKU moved) now names this one. Idempotent."""
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                ProductLink.objects.filter(
                    channel=channel, product_id=product_id, variation_id=variation_id
                ).exclude(variant=variant).delete()
                link, _created = ProductLink.objects.update_or_create(
                    channel=channel,
                    variant=variant,
                    defaults={"product_id": product_id, "variation_id": variation_id},
                )
                return link
        except IntegrityError:
            if attempt == 2:  # a concurrent delivery linked the same pair: it is there now
                raise
    raise AssertionError("unreachable")


def variant_for(channel, *, product_id: int, variation_id: int, sku: str):
    """Our variant for a WooCommerce line or product: by the link, else by SKU (and linked
    from then on); None when neither names one."""
    link = (
        ProductLink.objects.select_related("variant")
        .filter(channel=channel, product_id=product_id, variation_id=variation_id)
        .first()
        if product_id
        else None
    )
    if link is not None:
        return link.variant
    variant = variant_by_sku(sku) if sku else None
    if variant is not None and product_id:
        link_variant(channel, variant, product_id=product_id, variation_id=variation_id)
    return variant


def apply_product(channel, data: dict, *, client=None) -> tuple[str, str]:
    """product.created / product.updated: link the product (a variable product's variations
    by their SKUs, asked of the shop's REST API) and write its current price and name onto
    our listing on the channel. Returns (outcome, detail). Raises InvalidPayload naming the
    field, ShopNotAnswering when the variations could not be read."""
    product_id = payloads.whole(data, "id", minimum=1)
    kind = payloads.text(data, "type", limit=30) or "simple"
    if kind == "variation":
        parent_id = payloads.whole(data, "parent_id", minimum=1)
        entries = [(parent_id, product_id, data)]
    elif kind == "variable":
        entries = [
            (product_id, payloads.whole(item, "id", field="variations.id", minimum=1), item)
            for item in _variations(channel, product_id, client)
        ]
    else:
        entries = [(product_id, 0, data)]
    name = payloads.text(data, "name")
    linked, unknown = 0, []
    for parent, variation_id, item in entries:
        sku = payloads.text(item, "sku", limit=64)
        variant = variant_for(channel, product_id=parent, variation_id=variation_id, sku=sku)
        if variant is None:
            unknown.append(sku or f"#{variation_id or parent}")
            continue
        linked += 1
        _apply_price(channel, variant, item)
        if name and kind != "variation":
            _apply_title(channel, variant.product, name)
    if not linked:
        return "ignored", _("No variant of ours has these SKUs: %(skus)s") % {
            "skus": ", ".join(unknown)[:300] or "-"
        }
    detail = _("%(count)s variants linked.") % {"count": linked}
    if unknown:
        detail += " " + _("Unknown SKUs: %(skus)s") % {"skus": ", ".join(unknown)[:300]}
    return "applied", detail


def _variations(channel, product_id, client) -> list[dict]:
    try:
        client = client or WooCommerceClient(channel)
        found, page, pages = [], 1, 1
        while page <= pages:
            batch, pages = client.variations(product_id, page=page)
            found.extend(batch)
            page += 1
        return found
    except ProviderError as error:
        raise ShopNotAnswering(
            _("The shop did not answer for the variations of product %(id)s: %(error)s")
            % {"id": product_id, "error": error},
            fields={"variations": [str(error)[:200]]},
        ) from error


def _apply_price(channel, variant, item: dict) -> None:
    """The shop's current price (`price`: the sale price while a sale runs) becomes ours on
    this channel; the regular price is shown struck through above it."""
    price = payloads.money(item, "price")
    regular = payloads.money(item, "regular_price")
    if price is None:
        price = regular
    if price is None or not channel.sells:
        return
    compare_at = regular if regular is not None and regular > price else None
    try:
        set_variant_price(
            variant, channel, price=price, compare_at_price=compare_at, currency=channel.currency
        )
    except InvalidProductData as error:
        # A price our catalog refuses (too many decimals for the currency) leaves ours as it
        # was; the link still holds.
        logger.warning("WooCommerce price of %s on %s kept out: %s", variant.sku, channel, error)


def _apply_title(channel, product, name: str) -> None:
    title = "" if name == product.name else name
    listing = product.listings.filter(channel=channel).first()
    if listing is None or listing.title != title:
        set_listing(product, channel, title=title)


def link_products(channel, *, client=None) -> dict:
    """Walk every product of the shop (and every variation of its variable products) and
    link those whose SKU names one of our variants. Returns {"linked", "unknown"}. Raises
    ProviderError when the shop does not answer."""
    client = client or WooCommerceClient(channel)
    linked, unknown = 0, 0
    page, pages = 1, 1
    while page <= pages:
        products, pages = client.products(page=page)
        for product in products:
            try:
                outcome, _detail = apply_product(channel, product, client=client)
            except WooCommerceError as error:
                logger.warning("WooCommerce product skipped on %s: %s", channel.code, error)
                unknown += 1
                continue
            linked += outcome == "applied"
            unknown += outcome != "applied"
        page += 1
    return {"linked": linked, "unknown": unknown}
