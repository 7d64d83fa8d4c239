"""Toman per channel (#17 item 3): the web shop shows its IRR prices in toman (a tenth of the
stored rial), the marketplace in rial; no cents for IRR; Persian digits in Persian."""

from decimal import Decimal

import pytest

from catalog.factories import ProductVariantFactory, VariantListingFactory
from core.factories import ChannelFactory

pytestmark = pytest.mark.django_db


def test_toman_price_list_shows_a_tenth_of_the_rial_amount(client, staff_in_role):
    shop = ChannelFactory(code="web-ir", name="Web IR", kind="web", currency="IRR",
                          irr_unit="toman")  # fmt: skip
    market = ChannelFactory(code="market-ir", name="Market IR", kind="marketplace",
                            currency="IRR")  # fmt: skip
    variant = ProductVariantFactory()
    VariantListingFactory(variant=variant, channel=shop, amount=Decimal("12500000"))
    VariantListingFactory(variant=variant, channel=market, amount=Decimal("13000000"))
    client.force_login(staff_in_role("Merchandiser"))
    url = f"/catalog/products/{variant.product.pk}/"
    persian = client.get(url, HTTP_ACCEPT_LANGUAGE="fa").content.decode()
    assert "۱٬۲۵۰٬۰۰۰ تومان" in persian  # web shop: toman
    assert "۱۳٬۰۰۰٬۰۰۰ ریال" in persian  # marketplace: rial, as it requires
    assert '<bdi dir="auto">Web IR</bdi> (تومان)' in persian  # the name isolated, then its unit
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1,250,000 Toman" in english and "13,000,000 Rial" in english
    assert "13,000,000.00" not in english  # no cents for IRR


def test_an_administrator_sets_a_channel_to_toman_in_the_admin(client, staff_in_role):
    shop = ChannelFactory(code="web-ir", name="Web IR", kind="web", currency="IRR")
    client.force_login(staff_in_role("Administrator"))
    url = f"/admin/core/channel/{shop.pk}/change/"
    form = client.get(url).content.decode()
    assert 'name="irr_unit"' in form
    response = client.post(
        url,
        {
            "code": "web-ir",
            "name": "Web IR",
            "kind": "web",
            "currency": "IRR",
            "irr_unit": "toman",
            "sells": "on",
            "is_active": "on",
            "provider_settings": "{}",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    shop.refresh_from_db()
    assert shop.irr_unit == "toman"
    assert "Toman" in client.get("/admin/core/channel/").content.decode()
