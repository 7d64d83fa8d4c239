"""Partners' image URLs become <img src> on the staff product page and in the printable
catalogue: only http(s) (or our own media) is stored, and old rows are dropped when shown."""

import pytest

from catalog.factories import ProductMediaFactory, listed_product
from catalog.import_export import import_catalog
from catalog.models import ProductMedia
from tests.catalog.test_import_export import csv_file, good_lines

pytestmark = pytest.mark.django_db

UNSAFE = ["javascript:alert(1)", " JavaScript:alert(1)", "data:image/svg+xml,<svg/onload=alert(1)>"]


@pytest.mark.parametrize("url", UNSAFE)
def test_import_refuses_an_image_url_that_is_not_http(channels, url):
    lines = good_lines()
    lines[0] = lines[0].replace("https://img.example.com/a.jpg", f'"{url}"')
    report = import_catalog(csv_file(*lines))
    assert not report.applied
    assert (2, "image_url") in {(e.line, e.column) for e in report.errors}, report.errors
    assert not ProductMedia.objects.exists()


@pytest.mark.parametrize("url", UNSAFE)
def test_product_page_shows_no_script_url_stored_before_the_rule(
    client, staff_in_role, channels, url
):
    product = listed_product({channels["web"]: 89}, name="Aria Runner")
    ProductMediaFactory(product=product, url=url, alt_text="old row")
    ProductMediaFactory(product=product, url="https://img.example.com/ok.jpg", position=1)
    client.force_login(staff_in_role("Support agent"))
    page = client.get(f"/catalog/products/{product.pk}/").content.decode()
    assert 'src="https://img.example.com/ok.jpg"' in page
    assert "alert(" not in page and 'alt="old row"' not in page
