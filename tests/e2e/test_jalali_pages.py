"""Persian in the browser (#17 items 1-2): an order placed on 1 Farvardin 1405 reads so on its
page and on the customer's page, and the ledger's date filter takes a Jalali date from its
picker (static JS, under the CSP) and filters by it. Screenshots go to test-artifacts/."""

import datetime as dt

import pytest

from customers.models import Customer
from orders.factories import placed_order
from orders.models import Order
from tests.e2e.conftest import ARTIFACTS
from tests.orders.conftest import customer, shop  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NOWRUZ = dt.datetime(2026, 3, 21, 10, 5, tzinfo=dt.UTC)


def test_order_and_customer_pages_and_the_date_picker_in_persian(
    page,
    live_server,
    log_in,
    staff_in_role,
    shop,
    customer,  # noqa: F811
):
    order = placed_order(customer, shop.channels["web"], [(shop.sku("black"), 2)])
    Order.objects.filter(pk=order.pk).update(placed_at=NOWRUZ)
    Customer.objects.filter(pk=customer.pk).update(first_seen_at=NOWRUZ)
    staff_in_role("Administrator", username="nasrin")
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in("nasrin")
    with page.expect_navigation():
        page.select_option("#language-select", "fa")

    page.goto(f"{live_server.url}/orders/{order.number}/")
    body = page.inner_text("main")
    assert "۱۴۰۵/۱/۱" in body and "2026" not in body
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "jalali-order-fa.png"), full_page=True)

    page.goto(f"{live_server.url}/customers/{customer.public_id}/")
    assert "۱۴۰۵/۱/۱" in page.inner_text("main")
    page.screenshot(path=str(ARTIFACTS / "jalali-customer-fa.png"), full_page=True)

    # The ledger's "until" filter: type a day of Farvardin, pick the 1st in the picker.
    page.goto(f"{live_server.url}/inventory/ledger/")
    assert page.locator("[data-movement]").count() > 0  # stock received today
    until = page.locator("#id_until")
    until.fill("۱۴۰۵/۰۱/۱۰")
    until.blur()
    until.focus()
    picker = page.locator(".jalali-picker").nth(1)
    picker.wait_for(state="visible")
    assert "فروردین ۱۴۰۵" in picker.inner_text()
    page.screenshot(path=str(ARTIFACTS / "jalali-picker-fa.png"))
    picker.locator('[data-jalali-day="1405/01/01"]').click()
    assert until.input_value() == "۱۴۰۵/۰۱/۰۱"
    with page.expect_navigation():
        page.click("form.stock-toolbar button[type=submit]")
    assert page.locator("#id_until").input_value() == "۱۴۰۵/۰۱/۰۱"
    assert page.locator("[data-movement]").count() == 0  # nothing moved before Nowruz
    assert not page.locator(".stock-toolbar .error").count()
    assert not errors, errors
