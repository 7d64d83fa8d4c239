"""The demo's WooCommerce shop: a web channel on the `woocommerce` provider (an example.com
address: nothing is called, its stock push is off), a few products linked to the shop's
ids, and one order that came in by a signed webhook, through the same door a shop calls."""

import json
import logging

from django.utils import timezone

from catalog.selectors import all_variants, price_for
from catalog.services import set_variant_price
from core.api.errors import DomainError
from core.demo import register_stage
from core.factories import ChannelFactory
from core.models import Channel, ChannelKind, ChannelProvider
from core.providers.woocommerce import signature_of
from inventory.factories import ChannelStockRuleFactory
from orders.woocommerce.services.catalog import link_variant
from orders.woocommerce.services.deliveries import receive_delivery

logger = logging.getLogger(__name__)

CODE = "woo"
NAMES = {
    "fa": "فروشگاه ووکامرس",
    "ar": "متجر ووكومرس",
    "az": "WooCommerce mağazası",
    "be": "Крама на WooCommerce",
}
WEBHOOK_SECRET = "demo-woocommerce-webhook-secret"  # noqa: S105 (demo only, printed)
LINKED = 6  # products of the shop linked to ours


@register_stage("woocommerce.shop", order=40, label="WooCommerce shop")
def seed_woocommerce(ctx):
    if Channel.objects.filter(code=CODE).exists():
        return
    channel = ChannelFactory(
        code=CODE,
        name="WooCommerce shop",
        kind=ChannelKind.WEB,
        currency="USD",
        sells=True,
        provider=ChannelProvider.WOOCOMMERCE,
        names=NAMES,
        provider_settings={
            "site_url": "https://shop.example.com",
            "consumer_key": "ck_demo0000000000000000000000000000000000",
            "consumer_secret": "cs_demo0000000000000000000000000000000000",
            "webhook_secret": WEBHOOK_SECRET,
        },
    )
    # No live shop behind example.com: figures are not pushed until staff turn it on.
    ChannelStockRuleFactory(channel=channel, sync_enabled=False)
    web = Channel.objects.filter(code="web").first()
    variants = list(all_variants()[: LINKED * 3])
    linked = []
    for number, variant in enumerate(variants, start=1):
        price = price_for(variant, web) if web else None
        if price is None:
            continue
        set_variant_price(variant, channel, price=price.amount, currency="USD")
        link_variant(channel, variant, product_id=1000 + number)
        linked.append((1000 + number, variant, price.amount))
        if len(linked) == LINKED:
            break
    ctx.created("woocommerce links", len(linked))
    if linked:
        _demo_order(channel, linked[0])
    ctx.note(
        "WooCommerce shop (demo only, change it):",
        f"{CODE}: webhook secret {WEBHOOK_SECRET}",
    )


def _demo_order(channel, line):
    """One order as the shop's order.created webhook delivers it."""
    product_id, variant, price = line
    now = timezone.now().replace(microsecond=0, tzinfo=None).isoformat()
    address = {
        "first_name": "Leila",
        "last_name": "Karimi",
        "address_1": "12 Vali-e Asr Street",
        "address_2": "",
        "city": "Tehran",
        "postcode": "1966",
        "country": "IR",
    }
    order = {
        "id": 501,
        "number": "501",
        "status": "processing",
        "currency": "USD",
        "date_created_gmt": now,
        "date_modified_gmt": now,
        "customer_id": 0,
        "customer_note": "",
        "transaction_id": "demo-501",
        "billing": {**address, "email": "leila.karimi@example.com", "phone": "+989121110501"},
        "shipping": address,
        "line_items": [
            {
                "id": 1,
                "product_id": product_id,
                "variation_id": 0,
                "sku": variant.sku,
                "quantity": 1,
                "price": float(price),
                "total": f"{price:.2f}",
            }
        ],
    }
    body = json.dumps(order).encode()
    headers = {
        "X-WC-Webhook-Topic": "order.created",
        "X-WC-Webhook-Resource": "order",
        "X-WC-Webhook-Event": "created",
        "X-WC-Webhook-ID": "1",
        "X-WC-Webhook-Delivery-ID": "demo-delivery-501",
        "X-WC-Webhook-Signature": signature_of(WEBHOOK_SECRET, body),
    }
    try:
        receive_delivery(channel.code, body, headers)
    except DomainError as error:  # the demo's stock may not hold the unit
        logger.info("demo WooCommerce order not placed: %s", error)
