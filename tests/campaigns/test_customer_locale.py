"""Customers get their language (#17 item 6): a receipt to a Persian customer carries a Jalali
date, Persian digits and rial without cents; an English one the Gregorian date."""

import datetime as dt

import pytest
import time_machine

from campaigns.factories import MessageTemplateFactory
from campaigns.services.defaults import install_templates
from campaigns.services.rendering import render_message
from customers.factories import EventFactory

pytestmark = pytest.mark.django_db

NOWRUZ = dt.datetime(2026, 3, 21, 10, 5, tzinfo=dt.UTC)
ORDER = {
    "order_id": "W-1001",
    "total": "12500000.00",
    "currency": "IRR",
    "products": [{"sku": "ARIA-RUN-BLK-38", "quantity": 1, "price": "12500000.00"}],
}


@pytest.fixture
def receipt():
    return install_templates()["receipt"]


def test_receipt_to_a_persian_customer_has_a_jalali_date_and_persian_digits(person, receipt):
    sara = person("sara@example.com", first_name="Sara", locale="fa-IR")
    with time_machine.travel(NOWRUZ, tick=False):
        rendered = render_message(receipt, sara, journey_data={"order": ORDER})
    assert "۱ فروردین ۱۴۰۵" in rendered.text
    assert "۱۲٬۵۰۰٬۰۰۰ ریال" in rendered.text and "- ۱ × ARIA-RUN-BLK-38" in rendered.text
    assert rendered.language == "fa" and rendered.subject == "رسید سفارش W-1001"
    assert ".00" not in rendered.text and "March" not in rendered.text


def test_receipt_to_an_english_customer_stays_gregorian(person, receipt):
    omid = person("omid@example.com", first_name="Omid", locale="en")
    with time_machine.travel(NOWRUZ, tick=False):
        rendered = render_message(receipt, omid, journey_data={"order": ORDER})
    assert "March 21, 2026" in rendered.text and "12,500,000 Rial" in rendered.text


def test_her_last_order_date_reads_in_her_calendar(person):
    sara = person("sara@example.com", first_name="Sara", locale="fa")
    EventFactory(
        customer=sara,
        name="order_completed",
        occurred_at=NOWRUZ,
        properties={"order_id": "W-7", "total": "890000", "currency": "IRR"},
    )
    template = MessageTemplateFactory(
        language="fa",
        subject="{{ last_order.number }}",
        text="{{ last_order.occurred_at|date }} {{ last_order.total_display }}",
        html="",
    )
    rendered = render_message(template, sara)
    assert rendered.text == "۱ فروردین ۱۴۰۵ ۸۹۰٬۰۰۰ ریال"
