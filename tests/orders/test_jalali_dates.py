"""An order placed on 1 Farvardin 1405 (21 March 2026) reads so: Jalali with Persian digits in
Persian, Gregorian in English, and Gregorian in Persian for a staff member who chose it; its
amounts without cents for IRR."""

import datetime as dt

import pytest

from core.models import StaffPreferences
from orders.factories import placed_order
from orders.models import Order

NOWRUZ = dt.datetime(2026, 3, 21, 10, 5, tzinfo=dt.UTC)


@pytest.fixture
def nowruz_order(shop, customer):
    order = placed_order(customer, shop.channels["web"], [(shop.sku("black"), 1)])
    Order.objects.filter(pk=order.pk).update(placed_at=NOWRUZ)
    return order


@pytest.fixture
def lead(client, staff_in_role):
    user = staff_in_role("Support lead")
    client.force_login(user)
    client.user = user
    return client


def test_order_placed_on_1_farvardin_shows_that_date(lead, nowruz_order):
    url = f"/orders/{nowruz_order.number}/"
    persian = lead.get(url, HTTP_ACCEPT_LANGUAGE="fa").content.decode()
    assert "۱۴۰۵/۱/۱" in persian
    assert (
        'datetime="2026-03-21T10:05:00+00:00"'
        in lead.get("/orders/", HTTP_ACCEPT_LANGUAGE="fa").content.decode()
    )
    english = lead.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "03/21/2026" in english and "1405" not in english
    StaffPreferences.objects.create(user=lead.user, calendar="gregorian")
    chosen = lead.get(url, HTTP_ACCEPT_LANGUAGE="fa").content.decode()
    assert "۲۰۲۶/۳/۲۱" in chosen and "۱۴۰۵/۱/۱" not in chosen


def test_order_list_shows_jalali_dates_and_persian_digits(lead, nowruz_order):
    html = lead.get("/orders/", HTTP_ACCEPT_LANGUAGE="fa").content.decode()
    assert "۱۴۰۵/۱/۱" in html
