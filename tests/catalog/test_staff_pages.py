"""Staff pages: product list with search (PostgreSQL full text and the SQLite fallback),
the product page with its channels, prices, the price form per channel and registered panels,
the nav and dashboard, and roles in the admin (a Support agent cannot edit prices; a
Merchandiser can), where listings are named by SKU, channel and price."""

from decimal import Decimal
from itertools import count

import pytest
from django.db import connection
from djmoney.money import Money

from catalog import selectors
from catalog.factories import (
    BrandFactory,
    ProductFactory,
    ProductTranslationFactory,
    ProductVariantFactory,
    VariantListingFactory,
    listed_product,
)
from catalog.models import VariantListing
from catalog.staff_ui import PRODUCT_PANELS, register_product_panel
from tests.query_counts import assert_queries_do_not_grow

pytestmark = pytest.mark.django_db


@pytest.fixture
def searchable(db):
    aria = BrandFactory(name="Aria")
    runner = ProductFactory(
        name="Aria Runner", description="A light running shoe with a mesh upper", brand=aria
    )
    ProductVariantFactory(product=runner, sku="ARIA-RED-38")
    ProductTranslationFactory(product=runner, name="کفش دویدن")
    ProductFactory(name="Ceramic mug", description="Holds coffee", brand=BrandFactory(name="Kiln"))
    ProductFactory(name="Trail boot", description="Running on rocks", brand=aria)
    return runner


def names(queryset):
    return sorted(p.name for p in queryset)


def test_search_finds_by_name_brand_description_and_sku(searchable):
    assert names(selectors.search_products("runner")) == ["Aria Runner"]
    assert names(selectors.search_products("aria")) == ["Aria Runner", "Trail boot"]
    assert names(selectors.search_products("coffee")) == ["Ceramic mug"]
    assert names(selectors.search_products("ARIA-RED-38")) == ["Aria Runner"]
    assert names(selectors.search_products("nothing-like-this")) == []


@pytest.mark.postgres
def test_search_on_postgresql_is_full_text_ranked_and_prefix_matched(searchable):
    assert connection.vendor == "postgresql"
    # Word prefixes match the last word ("runn" -> running, runner) and rank by field weight:
    # a name hit (weight A) outranks a description hit (weight C).
    found = list(selectors.search_products("runn"))
    assert [p.name for p in found] == ["Aria Runner", "Trail boot"]
    assert found[0].rank > found[1].rank
    # Words are ANDed, not matched as one substring.
    assert names(selectors.search_products("aria shoe")) == ["Aria Runner"]


def test_search_matches_the_persian_translation_on_either_database(searchable):
    ProductTranslationFactory(
        product=ProductFactory(name="Wool socks"), name="جوراب پشمی", description="گرم و نرم"
    )
    assert names(selectors.search_products("دویدن")) == ["Aria Runner"]
    assert names(selectors.search_products("جوراب")) == ["Wool socks"]
    assert names(selectors.search_products("نرم")) == ["Wool socks"]  # a translated description
    assert names(selectors.search_products("کفش دویدن")) == ["Aria Runner"]


def test_product_list_page_searches_and_is_query_guarded(client, staff_in_role, searchable):
    made = count()
    client.force_login(staff_in_role("Support agent"))

    def add_products(n):
        for _ in range(n):
            ProductFactory(name=f"Filler {next(made)}")

    def product_list():
        assert client.get("/catalog/products/").status_code == 200

    assert_queries_do_not_grow(add_products, product_list, at_most=12)
    response = client.get("/catalog/products/", {"q": "runner"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "Aria Runner" in content and "Ceramic mug" not in content


def test_product_page_shows_where_it_is_listed_and_at_what_price(client, staff_in_role, channels):
    prices = {channels["web"]: 89, channels["store"]: 95, channels["web-az"]: 150}
    product = listed_product(prices, name="Aria Runner", variants=0)
    client.force_login(staff_in_role("Support agent"))
    made = count()

    def add_variants(n):
        for _ in range(n):
            variant = ProductVariantFactory(product=product, size=str(38 + next(made)))
            for channel, amount in prices.items():
                VariantListingFactory(variant=variant, channel=channel, amount=amount)

    def product_page():
        assert client.get(f"/catalog/products/{product.pk}/").status_code == 200

    assert_queries_do_not_grow(add_variants, product_page, at_most=14)
    page = client.get(f"/catalog/products/{product.pk}/").content.decode()
    for channel_name in ("Web shop", "Stores", "Web AZ"):
        assert channel_name in page
    assert str(Money(89, "USD")) in page and str(Money(95, "USD")) in page
    assert str(Money(150, "AZN")) in page
    assert "Edit in admin" not in page  # a support agent only reads


def test_other_apps_add_panels_to_the_product_page(
    client, staff_in_role, channels, tmp_path, settings
):
    template_dir = tmp_path / "templates"
    (template_dir / "stock").mkdir(parents=True)
    (template_dir / "stock" / "panel.html").write_text(
        "<h2>Stock</h2>{{ panel.units }} units of {{ product.name }}"
    )
    engine = dict(settings.TEMPLATES[0])
    engine["DIRS"] = [*engine["DIRS"], template_dir]
    settings.TEMPLATES = [engine]  # a new value, so Django rebuilds the template engines
    product = listed_product({channels["web"]: 10}, name="Aria Runner")
    register_product_panel(
        "test.stock",
        "stock/panel.html",
        lambda request, p: {"units": 7},
        perm="catalog.view_product",
    )
    register_product_panel("test.secret", "stock/panel.html", perm="auth.change_user")
    try:
        client.force_login(staff_in_role("Merchandiser"))
        page = client.get(f"/catalog/products/{product.pk}/").content.decode()
    finally:
        PRODUCT_PANELS.pop("test.stock")
        PRODUCT_PANELS.pop("test.secret")
    assert "7 units of Aria Runner" in page
    assert 'data-panel="test.secret"' not in page


def test_nav_and_dashboard_show_the_catalog(client, staff_in_role, channels):
    listed_product({channels["web"]: 10})
    client.force_login(staff_in_role("Merchandiser"))
    home = client.get("/").content.decode()
    assert 'data-nav="catalog"' in home and 'data-panel="catalog.summary"' in home
    client.force_login(staff_in_role())
    assert client.get("/catalog/products/").status_code == 403


def test_pages_render_in_persian_right_to_left(client, staff_in_role, channels):
    product = listed_product({channels["web"]: 10})
    client.force_login(staff_in_role("Merchandiser"))
    client.cookies["django_language"] = "fa"
    page = client.get(f"/catalog/products/{product.pk}/", HTTP_ACCEPT_LANGUAGE="fa")
    assert 'dir="rtl"' in page.content.decode()


def price_form(vl, amount):
    return {
        "listing": vl.listing_id,
        "variant": vl.variant_id,
        "is_listed": "on",
        "price_0": str(amount),
        "price_1": "USD",
        "compare_at_price_0": "",
        "compare_at_price_1": "USD",
    }


def test_support_agent_cannot_edit_prices_in_the_admin(client, staff_in_role, channels):
    vl = VariantListingFactory(channel=channels["web"], amount=89)
    client.force_login(staff_in_role("Support agent"))
    page = client.get(f"/admin/catalog/variantlisting/{vl.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    response = client.post(f"/admin/catalog/variantlisting/{vl.pk}/change/", price_form(vl, 1))
    assert response.status_code == 403
    vl.refresh_from_db()
    assert vl.price == Money(89, "USD")


def test_merchandiser_edits_prices_in_the_admin_in_the_channels_currency(
    client, staff_in_role, channels
):
    vl = VariantListingFactory(channel=channels["web"], amount=89)
    client.force_login(staff_in_role("Merchandiser"))
    response = client.post(f"/admin/catalog/variantlisting/{vl.pk}/change/", price_form(vl, 79))
    assert response.status_code == 302, response.content.decode()[:3000]
    vl.refresh_from_db()
    assert vl.price == Money(79, "USD")
    product = vl.variant.product
    product.refresh_from_db()
    assert product.updated_at >= vl.updated_at  # partners polling updated_since see it
    wrong = price_form(vl, 70) | {"price_1": "EUR"}
    response = client.post(f"/admin/catalog/variantlisting/{vl.pk}/change/", wrong)
    assert response.status_code == 200  # the form again, with the error
    assert VariantListing.objects.get(pk=vl.pk).price == Money(79, "USD")


def test_product_admin_has_inline_variants_listings_and_media(client, staff_in_role, channels):
    product = listed_product({channels["web"]: 10})
    client.force_login(staff_in_role("Merchandiser"))
    page = client.get(f"/admin/catalog/product/{product.pk}/change/").content.decode()
    for prefix in ("variants-TOTAL_FORMS", "listings-TOTAL_FORMS", "media-TOTAL_FORMS"):
        assert prefix in page


def price_rows(product, **cells):
    """The price form's fields: cells like price_0="89", compare_at_price_1="" or
    is_listed_0=True, by variant position."""
    variants = list(product.variants.order_by("position"))
    data = {}
    for name, value in cells.items():
        field, _sep, position = name.rpartition("_")
        key = f"{field}_{variants[int(position)].pk}"
        if field == "is_listed":
            if value:
                data[key] = "on"
        else:
            data[key] = value
    return data


def test_merchandiser_sets_each_channels_prices_on_the_product_page(
    client, staff_in_role, channels
):
    product = listed_product({channels["web"]: 89}, name="Aria Runner", variants=2)
    first, second = product.variants.order_by("position")
    client.force_login(staff_in_role("Merchandiser"))
    page = client.get(f"/catalog/products/{product.pk}/", {"prices": "web-az"}).content.decode()
    assert 'data-panel="catalog.set-prices"' in page and "Prices on Web AZ, in AZN." in page
    assert f'aria-label="Price of {first.sku} on Web AZ (AZN)"' in page

    response = client.post(
        f"/catalog/products/{product.pk}/prices/web-az/",
        price_rows(
            product,
            price_0="150",
            compare_at_price_0="180.50",
            is_listed_0=True,
            price_1="",
            compare_at_price_1="",
            is_listed_1=True,
        ),
        follow=True,
    )
    assert response.redirect_chain[-1][0] == f"/catalog/products/{product.pk}/?prices=web-az#prices"
    assert "1 price set on Web AZ." in response.content.decode()
    on_az = VariantListing.objects.get(variant=first, listing__channel=channels["web-az"])
    assert on_az.price == Money(150, "AZN") and on_az.compare_at_price == Money("180.50", "AZN")
    assert not VariantListing.objects.filter(
        variant=second, listing__channel=channels["web-az"]
    ).exists()
    assert product.listings.filter(channel=channels["web-az"]).exists()

    # On the web shop only the row that changed is written; the other keeps its price.
    untouched = VariantListing.objects.get(variant=second, listing__channel=channels["web"])
    response = client.post(
        f"/catalog/products/{product.pk}/prices/web/",
        price_rows(product, price_0="79", is_listed_0=True, price_1="89.00", is_listed_1=True),
    )
    assert response.status_code == 302
    assert VariantListing.objects.get(variant=first, listing__channel=channels["web"]).price == (
        Money(79, "USD")
    )
    assert VariantListing.objects.get(pk=untouched.pk).updated_at == untouched.updated_at


def test_price_form_names_each_bad_field_and_writes_nothing(client, staff_in_role, channels):
    product = listed_product({channels["web"]: 89}, name="Aria Runner", variants=2)
    first, second = product.variants.order_by("position")
    client.force_login(staff_in_role("Merchandiser"))
    response = client.post(
        f"/catalog/products/{product.pk}/prices/web/",
        price_rows(
            product,
            price_0="0",
            is_listed_0=True,
            price_1="50",
            compare_at_price_1="40",
            is_listed_1=True,
        ),
    )
    assert response.status_code == 400
    form = response.context["price_form"]
    assert form.errors[f"price_{first.pk}"] == ["Must be above 0."]
    assert form.errors[f"compare_at_price_{second.pk}"] == ["Must be above the price."]
    assert "Must be above the price." in response.content.decode()
    assert set(VariantListing.objects.values_list("price", flat=True)) == {Decimal("89.00")}

    response = client.post(
        f"/catalog/products/{product.pk}/prices/web/",
        price_rows(product, price_0="79.999", is_listed_0=True, price_1="", is_listed_1=True),
    )
    form = response.context["price_form"]
    assert form.errors[f"price_{first.pk}"] == ["At most 2 decimal places in USD."]
    assert form.errors[f"price_{second.pk}"] == ["A listed variant needs a price."]
    assert set(VariantListing.objects.values_list("price", flat=True)) == {Decimal("89.00")}


def test_support_agent_sees_prices_but_no_price_form(client, staff_in_role, channels):
    product = listed_product({channels["web"]: 89}, variants=1)
    client.force_login(staff_in_role("Support agent"))
    page = client.get(f"/catalog/products/{product.pk}/").content.decode()
    assert str(Money(89, "USD")) in page and "catalog.set-prices" not in page
    response = client.post(
        f"/catalog/products/{product.pk}/prices/web/", price_rows(product, price_0="1")
    )
    assert response.status_code == 403
    assert VariantListing.objects.get().price == Money(89, "USD")


def test_the_admin_names_listings_by_sku_channel_and_price(client, staff_in_role, channels):
    product = listed_product({channels["web"]: 89}, name="Aria Runner", variants=1)
    variant = product.variants.get()
    variant.sku = "ARIA-BLK-38"
    variant.save()
    vl = VariantListing.objects.get()
    assert str(vl) == "ARIA-BLK-38 on Web shop: 89.00 USD"
    client.force_login(staff_in_role("Merchandiser"))
    changelist = client.get("/admin/catalog/variantlisting/").content.decode()
    assert "Aria Runner on Web shop" in changelist and " @ " not in changelist
    variant_page = client.get(f"/admin/catalog/productvariant/{variant.pk}/change/")
    page = variant_page.content.decode()
    assert "ARIA-BLK-38 on Web shop: 89.00 USD" in page  # the inline row's name
    assert ">Aria Runner on Web shop</option>" in page  # the listing to choose
