"""A SKU typed in Persian or Arabic-Indic digits finds the product, on the staff page and the
API (#17: search accepts Persian, Arabic-Indic and Latin digits alike)."""

import pytest

from catalog import selectors
from catalog.factories import ProductFactory, ProductVariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shoe(db):
    product = ProductFactory(name="Aria Runner", description="A light running shoe")
    ProductVariantFactory(product=product, sku="W-100001")
    other = ProductFactory(name="Trail boot", description="Boots")
    ProductVariantFactory(product=other, sku="W-100002")
    return product


@pytest.mark.parametrize("typed", ["W-۱۰۰۰۰۱", "W-١٠٠٠٠١", "w-100001"])
def test_sku_in_any_digits_finds_the_product(shoe, typed):
    assert [p.name for p in selectors.search_products(typed)] == ["Aria Runner"]


def test_staff_search_and_api_find_a_sku_typed_in_persian_digits(
    client, staff_in_role, api_client_for, shoe
):
    client.force_login(staff_in_role("Support agent"))
    html = client.get("/catalog/products/", {"q": "W-۱۰۰۰۰۱"}).content.decode()
    assert "Aria Runner" in html and "Trail boot" not in html
    response = api_client_for("catalog:read").get("/api/v1/products", {"q": "W-۱۰۰۰۰۱"})
    assert response.status_code == 200
    assert [p["name"] for p in response.json()["results"]] == ["Aria Runner"]
