"""The home dashboard and every report in the browser, in English and in Persian, as a role
that may read them: each page draws at least one chart (a canvas Chart.js gave a size) with
no console error, under the enforced CSP. Screenshots go to test-artifacts/."""

from datetime import timedelta

import pytest
from django.utils import timezone
from djmoney.money import Money

from catalog.factories import CategoryFactory, ProductFactory, ProductVariantFactory
from core.factories import demo_channels
from core.roles import MARKETER, SUPPORT_AGENT
from customers.factories import CustomerFactory
from inventory.factories import LocationFactory
from orders.models import Return, ReturnLine
from support.factories import MessageFactory
from tests.customers.report_data import sale, touch
from tests.e2e.conftest import ARTIFACTS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAGES = {
    MARKETER: ["/", "/reports/acquisition/", "/reports/ropo/", "/reports/journeys/",
               "/reports/returns/", "/reports/retention/", "/reports/campaigns/"],
    SUPPORT_AGENT: ["/", "/reports/support/"],
}  # fmt: skip


@pytest.fixture
def figures():
    """A few days of sales in several channels, a store purchase after a web view, a
    return, customers of one and two channels, and messages to the inbox."""
    channels = {channel.code: channel for channel in demo_channels()}
    variant = ProductVariantFactory(
        product=ProductFactory(name="Aria runner", category=CategoryFactory(name="Shoes"))
    )
    store = LocationFactory(code="tehran-1", name="Tehran store")
    now = timezone.now()
    for number in range(6):
        customer = CustomerFactory(
            created_at=now - timedelta(days=20 + number),
            channels_used=["web", "store"][: 1 + number % 2],
        )
        touch(customer, channels["instagram"], now - timedelta(days=9 + number))
        touch(customer, channels["web"], now - timedelta(days=5 + number), "product_viewed",
              sku=variant.sku)  # fmt: skip
        touch(customer, channels["web"], now - timedelta(days=2 + number), "order_completed",
              order_id=f"W-{number}", total="40", currency="USD")  # fmt: skip
        order = sale(customer, channels["store"], now - timedelta(days=2 + number),
                     [(variant, 2)], store=store)  # fmt: skip
        sale(customer, channels["web"], now - timedelta(days=1 + number), [(variant, 1)])
    returned = Return.objects.create(
        order=order, customer=order.customer, channel=channels["store"], location=store,
        refund_amount=Money(0, "USD"),
    )  # fmt: skip
    ReturnLine.objects.create(
        return_request=returned,
        order_line=order.lines.first(),
        quantity=1,
        reason="size",
        restock=True,
        refund_amount=Money(0, "USD"),
    )
    for _number in range(3):
        MessageFactory(created_at=now - timedelta(days=1))


@pytest.mark.parametrize("language", ["en", "fa"])
def test_dashboards_and_reports_draw_their_charts(
    page, live_server, log_in, staff_in_role, figures, language
):
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    for role, paths in PAGES.items():
        username = f"{role.lower().replace(' ', '_')}_{language}"
        staff_in_role(role, username=username)
        page.context.clear_cookies()
        log_in(username)
        if language == "fa":
            with page.expect_navigation():
                page.select_option("#language-select", "fa")
        for path in paths:
            page.goto(f"{live_server.url}{path}")
            drawn = page.locator('figure.chart[data-drawn="true"] canvas')
            drawn.first.wait_for(state="visible")
            box = drawn.first.bounding_box()
            assert box and box["width"] > 0 and box["height"] > 0, path
            if language == "fa":
                assert page.get_attribute("html", "dir") == "rtl"
            ARTIFACTS.mkdir(exist_ok=True)
            name = path.strip("/").replace("/", "-") or "home"
            page.screenshot(path=str(ARTIFACTS / f"chart-{role}-{name}-{language}.png"))
    assert not errors, errors
