"""Ratings reach Google: the channel's product reviews feed (Google Product Review Feeds,
schema 2.4; the Merchant product feed itself has no rating attribute) lists approved reviews
once staff approve them, fetched with the channel's Google feed token like the feed itself;
and the product's rating is written only through catalog's service."""

import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from catalog.errors import InvalidProductData
from catalog.factories import ChannelFeedFactory, listed_product
from catalog.services.ratings import set_product_rating
from core.factories import ChannelFactory
from core.review_links import review_token
from core.roles import SUPPORT_AGENT
from customers.factories import customer_with
from inventory.factories import WarehouseFactory, receive_stock
from orders.factories import placed_order
from support.models import Review

pytestmark = pytest.mark.django_db

# The order of a <review>'s children the 2.4 schema fixes (xs:sequence).
REVIEW_SEQUENCE = [
    "review_id",
    "reviewer",
    "review_timestamp",
    "content",
    "review_url",
    "ratings",
    "products",
    "collection_method",
]


@pytest.fixture
def shop(db):
    web = ChannelFactory(code="web", name="Web shop", kind="web")
    feed = ChannelFeedFactory(channel=web)
    warehouse = WarehouseFactory(code="wh-main", channels=[web])
    product = listed_product({web: 120}, name="Aria Runner", variants=1)
    variant = product.variants.get()
    variant.barcode = "4006381333931"
    variant.save()
    receive_stock(variant, warehouse, 5)
    customer = customer_with(("email", "sara@example.com", True), first_name="Sara")
    order = placed_order(customer, web, [(variant.sku, 1)])
    return {"web": web, "feed": feed, "product": product, "sku": variant.sku, "order": order,
            "customer": customer}  # fmt: skip


def write_review(shop, rating, text):
    token = review_token(shop["customer"].public_id, shop["order"].number)
    response = Client().post(
        reverse("support:review-form", args=[token]),
        {"sku": shop["sku"], "rating": str(rating), "text": text},
    )
    assert response.status_code == 302
    return Review.objects.get(sku=shop["sku"])


def google_reviews(shop, **query):
    return APIClient().get("/api/v1/reviews/web/google.xml", {"token": shop["feed"].token, **query})


def test_an_approved_review_reaches_the_google_reviews_feed(shop, staff_in_role):
    review = write_review(shop, 4, "Light & comfortable <3")
    pending = ET.fromstring(b"".join(google_reviews(shop).streaming_content))
    assert pending.findall("reviews/review") == []  # not read by staff yet

    agent = Client()
    agent.force_login(staff_in_role(SUPPORT_AGENT))
    agent.post(reverse("support:review-moderate", args=[review.pk]), {"status": "approved"})

    response = google_reviews(shop)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    document = ET.fromstring(b"".join(response.streaming_content))
    assert document.tag == "feed"
    assert document.findtext("version") == "2.4"
    assert document.findtext("publisher/name") == "Web shop"
    (item,) = document.findall("reviews/review")
    assert [child.tag for child in item] == REVIEW_SEQUENCE
    assert item.findtext("review_id") == str(review.pk)
    assert item.findtext("reviewer/name") == "Sara"
    assert item.findtext("content") == "Light & comfortable <3"
    overall = item.find("ratings/overall")
    assert (overall.text, overall.get("min"), overall.get("max")) == ("4", "1", "5")
    product = item.find("products/product")
    assert product.findtext("product_ids/gtins/gtin") == "4006381333931"
    assert product.findtext("product_ids/skus/sku") == shop["sku"]
    slug = shop["product"].slug
    assert product.findtext("product_url") == f"https://shop.example.com/p/{slug}?sku={shop['sku']}"
    assert item.find("review_url").get("type") == "group"
    assert item.findtext("collection_method") == "post_fulfillment"


def test_a_rejected_review_leaves_the_feed(shop, staff_in_role):
    review = write_review(shop, 5, "Great")
    agent = Client()
    agent.force_login(staff_in_role(SUPPORT_AGENT))
    moderate = reverse("support:review-moderate", args=[review.pk])
    agent.post(moderate, {"status": "approved"})
    agent.post(moderate, {"status": "rejected"})
    document = ET.fromstring(b"".join(google_reviews(shop).streaming_content))
    assert document.findall("reviews/review") == []


def test_the_reviews_feed_needs_the_feeds_token_or_a_catalog_key(shop, api_client_for):
    assert google_reviews(shop, token="wrong").status_code in (401, 403)
    assert APIClient().get("/api/v1/reviews/web/google.xml").status_code in (401, 403)
    assert api_client_for("support:read").get("/api/v1/reviews/web/google.xml").status_code == 403
    assert api_client_for("catalog:read").get("/api/v1/reviews/web/google.xml").status_code == 200
    unknown = api_client_for("catalog:read").get("/api/v1/reviews/nowhere/google.xml")
    assert unknown.status_code == 404


def test_the_rating_is_written_only_within_one_to_five(shop):
    product = shop["product"]
    assert set_product_rating(product.pk, average=Decimal("4.666"), count=3)
    product.refresh_from_db()
    assert (product.rating_average, product.rating_count) == (Decimal("4.67"), 3)
    with pytest.raises(InvalidProductData):
        set_product_rating(product.pk, average=6, count=1)
    assert set_product_rating(product.pk, average=5, count=0)
    product.refresh_from_db()
    assert (product.rating_average, product.rating_count) == (None, 0)
    assert not set_product_rating(10**9, average=4, count=1)  # a product gone since
