"""Channel feeds on real generated output, parsed back: Google XML, Meta CSV, marketplace CSV,
the printable catalogue; refusals with reasons; regeneration on change; partner access."""

import csv
import io
import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from catalog import services
from catalog.availability import register_availability_provider
from catalog.factories import (
    BrandFactory,
    ChannelFeedFactory,
    ProductMediaFactory,
    ProductVariantFactory,
    VariantListingFactory,
    listed_product,
)
from catalog.models import FeedFormat, FeedRun
from catalog.services import feeds

pytestmark = pytest.mark.django_db
G = "{http://base.google.com/ns/1.0}"


def fetch(client, url, **params):
    """GET a feed file. A feed not built yet answers 503 and queues its build, which runs
    (tasks are eager here, as in the embedded mode) once that answer has been sent: the
    second GET gets the file."""
    response = client.get(url, params)
    if response.status_code == 503:
        response = client.get(url, params)
    assert response.status_code == 200, response.content if not response.streaming else ""
    return b"".join(response.streaming_content).decode("utf-8"), response


def test_google_feed_has_every_required_field(api_client_for, channels):
    product = listed_product({channels["web"]: 89}, name="Aria Runner", variants=2)
    vl = product.variants.first().listings.get()
    vl.compare_at_price = vl.price * 2
    vl.save()
    ChannelFeedFactory(channel=channels["web"], format=FeedFormat.GOOGLE)
    text, response = fetch(api_client_for("catalog:read"), "/api/v1/feeds/web/google.xml")
    assert response["Content-Type"].startswith("application/xml")
    root = ET.fromstring(text)
    items = root.findall("./channel/item")
    assert len(items) == 2
    for item in items:
        fields = {child.tag.removeprefix(G): child.text for child in item}
        for required in (
            "id",
            "title",
            "description",
            "link",
            "image_link",
            "availability",
            "price",
            "gtin",
            "brand",
            "condition",
        ):
            assert fields.get(required), required
        assert fields["availability"] == "in_stock"
        assert fields["link"].startswith("https://shop.example.com/p/aria-runner")
        assert fields["condition"] == "new"
    on_sale = {i.findtext(f"{G}id"): i for i in items}[product.variants.first().sku]
    assert on_sale.findtext(f"{G}price") == "178.00 USD"
    assert on_sale.findtext(f"{G}sale_price") == "89.00 USD"


def test_google_feed_refuses_items_with_reasons(api_client_for, channels, staff_in_role, client):
    ChannelFeedFactory(channel=channels["web"], format=FeedFormat.GOOGLE)
    good = listed_product({channels["web"]: 10}, name="Good", variants=1)
    long_title = listed_product({channels["web"]: 10}, name="x" * 151, variants=1)
    no_image = listed_product({channels["web"]: 10}, name="No image", variants=1)
    no_image.media.all().delete()
    no_brand_no_gtin = listed_product(
        {channels["web"]: 10}, name="Anonymous", variants=1, brand=None
    )
    no_brand_no_gtin.variants.update(barcode="")
    long_description = listed_product({channels["web"]: 10}, name="Wordy", variants=1)
    long_description.description = "y" * 5001
    long_description.save()
    free = listed_product({channels["web"]: 0}, name="Free", variants=1)

    api = api_client_for("catalog:read")
    text, response = fetch(api, "/api/v1/feeds/web/google.xml")
    ids = [i.findtext(f"{G}id") for i in ET.fromstring(text).iter("item")]
    assert ids == [good.variants.get().sku]
    assert response["X-Feed-Refused"] == "5"

    report, _ = fetch(api, "/api/v1/feeds/web/google-refusals.json")
    reasons = {row["id"]: " ".join(row["reasons"]) for row in json.loads(report)["refusals"]}
    assert "title_too_long: 151 characters, at most 150" in reasons[long_title.variants.get().sku]
    assert "image_missing" in reasons[no_image.variants.get().sku]
    assert "identifier_missing" in reasons[no_brand_no_gtin.variants.get().sku]
    assert "description_too_long: 5001" in reasons[long_description.variants.get().sku]
    assert "price_missing" in reasons[free.variants.get().sku]
    csv_report, _ = fetch(api, "/api/v1/feeds/web/google-refusals.csv")
    rows = list(csv.DictReader(io.StringIO(csv_report)))
    assert {r["id"] for r in rows} == set(reasons)

    # Staff see the same refusals on the feeds page.
    client.force_login(staff_in_role("Merchandiser"))
    page = client.get("/catalog/feeds/").content.decode()
    assert "title_too_long" in page and long_title.variants.get().sku in page


def test_meta_csv_parses_back_with_required_columns(api_client_for, channels):
    ChannelFeedFactory(channel=channels["instagram"], format=FeedFormat.META)
    listed_product({channels["instagram"]: 30}, name="Scarf", variants=3)
    no_brand = listed_product({channels["instagram"]: 30}, name="Plain", variants=1, brand=None)
    text, response = fetch(api_client_for("catalog:read"), "/api/v1/feeds/instagram/meta.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 3
    for row in rows:
        for column in (
            "id",
            "title",
            "description",
            "availability",
            "condition",
            "price",
            "link",
            "image_link",
            "brand",
        ):
            assert row[column], column
        assert row["availability"] == "in stock"
        assert row["price"] == "30.00 USD"
    run = FeedRun.objects.get(feed__format=FeedFormat.META)
    assert run.refused_count == 1
    assert run.refusals_sample[0]["id"] == no_brand.variants.get().sku
    assert "brand_missing" in run.refusals_sample[0]["reasons"][0]


def test_marketplace_csv_in_rials_needs_gtin_and_weight(api_client_for, channels):
    ChannelFeedFactory(channel=channels["marketplace"], format=FeedFormat.MARKETPLACE)
    good = listed_product({channels["marketplace"]: 4_500_000}, name="Kettle", variants=1)
    heavy = listed_product({channels["marketplace"]: 4_500_000}, name="No weight", variants=1)
    heavy.variants.update(weight_grams=None)
    text, _ = fetch(api_client_for("catalog:read"), "/api/v1/feeds/marketplace/marketplace.csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["sku"] for r in rows] == [good.variants.get().sku]
    assert rows[0]["price"] == "4500000.00" and rows[0]["currency"] == "IRR"
    assert rows[0]["gtin"] == good.variants.get().barcode
    assert rows[0]["quantity"] == "1"  # the default provider: listed means in stock
    report = json.loads(
        fetch(
            api_client_for("catalog:read"), "/api/v1/feeds/marketplace/marketplace-refusals.json"
        )[0]
    )
    assert "weight_missing" in report["refusals"][0]["reasons"][0]


class _Cards(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cards, self.images = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "article":
            self.cards.append(attrs["data-sku"])
        if tag == "img":
            self.images.append(attrs)


def test_printable_catalogue_is_an_html_page_with_a_card_per_variant(
    client, staff_in_role, channels
):
    ChannelFeedFactory(channel=channels["catalogue"], format=FeedFormat.CATALOGUE)
    product = listed_product({channels["catalogue"]: 45}, name="Aria Runner", variants=2)
    client.force_login(staff_in_role("Merchandiser"))
    text, response = fetch(client, "/api/v1/feeds/catalogue/catalogue.html")
    assert response["Content-Type"].startswith("text/html")
    assert text.startswith("<!doctype html>") and "@page" in text
    parser = _Cards()
    parser.feed(text)
    assert sorted(parser.cards) == sorted(product.variants.values_list("sku", flat=True))
    assert all(img["alt"] for img in parser.images)
    assert "45.00 USD" in text
    assert "margin-left" not in text  # logical properties only: prints right in RTL too


def test_availability_comes_from_the_registered_provider(api_client_for, channels):
    ChannelFeedFactory(channel=channels["web"], format=FeedFormat.GOOGLE)
    product = listed_product({channels["web"]: 10}, variants=2)
    sold_out = product.variants.first()
    register_availability_provider(
        lambda variants, channel: {v.pk: (0 if v.pk == sold_out.pk else 7) for v in variants}
    )
    text, _ = fetch(api_client_for("catalog:read"), "/api/v1/feeds/web/google.xml")
    availability = {
        i.findtext(f"{G}id"): i.findtext(f"{G}availability")
        for i in ET.fromstring(text).iter("item")
    }
    assert availability[sold_out.sku] == "out_of_stock"
    assert set(availability.values()) == {"out_of_stock", "in_stock"}


def test_feed_token_opens_the_feed_without_a_key(client, channels):
    feed = ChannelFeedFactory(channel=channels["web"], format=FeedFormat.GOOGLE)
    listed_product({channels["web"]: 10}, variants=1)
    feeds.generate_feed(feed)
    assert client.get("/api/v1/feeds/web/google.xml").status_code in (401, 403)
    assert client.get("/api/v1/feeds/web/google.xml", {"token": "wrong"}).status_code in (401, 403)
    response = client.get("/api/v1/feeds/web/google.xml", {"token": feed.token})
    assert response.status_code == 200
    ET.fromstring(b"".join(response.streaming_content))


def test_unknown_feeds_are_404(api_client_for, channels):
    api = api_client_for("catalog:read")
    assert api.get("/api/v1/feeds/web/google.xml").status_code == 404
    ChannelFeedFactory(channel=channels["web"], format=FeedFormat.GOOGLE)
    assert api.get("/api/v1/feeds/web/rss.txt").status_code == 404


def test_feeds_regenerate_after_a_product_change_commits(
    channels, django_capture_on_commit_callbacks
):
    feed = ChannelFeedFactory(channel=channels["web"], format=FeedFormat.GOOGLE)
    product = listed_product({channels["web"]: 10}, name="Aria Runner", variants=1)
    feeds.generate_feed(feed)
    with django_capture_on_commit_callbacks(execute=True):
        services.set_listing(product, channels["web"], title="Aria Runner 2")
    run = feeds.latest_run(feed)
    assert FeedRun.objects.filter(feed=feed, status="done").count() == 2
    with feeds.feed_storage().open(run.file) as stored:
        text = stored.read().decode()
    assert "Aria Runner 2" in text and run.item_count == 1


def test_feed_generation_streams_rows_in_chunks(channels):
    """The generator yields the head before reading any row: the document is never built
    whole in memory."""
    feed = ChannelFeedFactory(channel=channels["web"], format=FeedFormat.GOOGLE)
    brand = BrandFactory()
    for n in range(5):
        variant = ProductVariantFactory(product__brand=brand, product__name=f"P{n}")
        ProductMediaFactory(product=variant.product)
        VariantListingFactory(variant=variant, channel=channels["web"])
    stream = feeds.stream_feed(feed)
    assert next(stream).startswith("<?xml")
    rows = list(feeds.feed_rows(feed, chunk=2))
    assert len(rows) == 5
