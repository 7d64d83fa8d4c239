"""The order list's search reads an order number typed in Persian or Arabic-Indic digits as the
number it is (#17: inputs accept Persian, Arabic-Indic and Latin digits alike)."""

import pytest

from core.l10n import localise_digits
from orders.factories import placed_order

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("digits", ["persian", "arabic_indic"])
def test_order_number_typed_in_persian_or_arabic_digits_is_found(
    client, staff_in_role, shop, customer, digits
):
    wanted = placed_order(customer, shop.channels["web"], [(shop.sku("black"), 1)])
    other = placed_order(customer, shop.channels["web"], [(shop.sku("red"), 1)])
    client.force_login(staff_in_role("Support lead"))
    typed = localise_digits(wanted.number, digits)
    assert typed != wanted.number
    html = client.get("/orders/", {"q": f" {typed} "}).content.decode()
    assert wanted.number in html
    assert other.number not in html
