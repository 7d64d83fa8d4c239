"""The Google product reviews feed of a channel (Google's Product Review Feeds, schema 2.4:
https://developers.google.com/product-review-feeds/schema).

Google's product data (the Merchant feed in catalog.feed_formats) has no rating attribute:
product ratings reach Shopping through this separate feed, which Merchant Center fetches in
full each time (a review left out is deleted there). It holds every approved review with
words (`content` is required), each naming its product by SKU (the Merchant feed's id), GTIN
and brand, with the product page of the channel's Google feed as its `review_url`.
"""

import re
from datetime import UTC

from django.conf import settings

from catalog.selectors import products_for_review_feed
from support.models import Review, ReviewStatus

SCHEMA = "http://www.google.com/shopping/reviews/schema/product/2.4/product_reviews.xsd"
BATCH = 500
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _x(value) -> str:
    text = _XML_ILLEGAL.sub("", str(value))
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _timestamp(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def feed_reviews():
    """Approved reviews with words, oldest first, with their customers' first names."""
    return (
        Review.objects.filter(status=ReviewStatus.APPROVED)
        .exclude(text="")
        .select_related("customer")
        .order_by("created_at", "id")
    )


def review_item(review: Review, product: dict) -> str:
    name = review.customer.first_name.strip()
    reviewer = f"<name>{_x(name)}</name>" if name else '<name is_anonymous="true">Anonymous</name>'
    ids = [f"<skus><sku>{_x(review.sku)}</sku></skus>"]
    if product.get("gtin"):
        ids.insert(0, f"<gtins><gtin>{_x(product['gtin'])}</gtin></gtins>")
    if product.get("brand"):
        ids.append(f"<brands><brand>{_x(product['brand'])}</brand></brands>")
    url = product.get("url") or ""
    product_parts = "<product_ids>" + "".join(ids) + "</product_ids>"
    product_parts += (
        f"<product_name>{_x(product.get('name') or review.product_name)}</product_name>"
    )
    if url:
        product_parts += f"<product_url>{_x(url)}</product_url>"
    return (
        "<review>"
        f"<review_id>{review.pk}</review_id>"
        f"<reviewer>{reviewer}</reviewer>"
        f"<review_timestamp>{_timestamp(review.created_at)}</review_timestamp>"
        f"<content>{_x(review.text)}</content>"
        f'<review_url type="group">{_x(url)}</review_url>'
        f'<ratings><overall min="1" max="5">{review.rating}</overall></ratings>'
        f"<products><product>{product_parts}</product></products>"
        "<collection_method>post_fulfillment</collection_method>"
        "</review>\n"
    )


def stream_google_reviews(feed):
    """The document for `feed` (a channel's Google feed), piece by piece. Reviews whose
    product has no page on this channel (no product URL) are left out: `review_url` is
    required."""
    yield (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<feed xmlns:vc="http://www.w3.org/2007/XMLSchema-versioning" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:noNamespaceSchemaLocation="{SCHEMA}">\n'
        "<version>2.4</version>\n"
        f"<publisher><name>{_x(feed.channel.name or settings.SITE_URL)}</name></publisher>\n"
        "<reviews>\n"
    )
    batch = []
    for review in feed_reviews().iterator(chunk_size=BATCH):
        batch.append(review)
        if len(batch) >= BATCH:
            yield from _items(batch, feed)
            batch = []
    yield from _items(batch, feed)
    yield "</reviews>\n</feed>\n"


def _items(batch, feed):
    products = products_for_review_feed({review.sku for review in batch}, feed)
    for review in batch:
        product = products.get(review.sku)
        if product and product["url"]:
            yield review_item(review, product)
