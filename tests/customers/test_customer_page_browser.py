"""The customer 360 page in a real browser (Debian's chromium through Playwright): a merged
customer's whole history renders, and the channel filter swaps the timeline in place."""

import os
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from core.factories import StaffUserFactory, demo_channels
from customers.factories import customer_with
from customers.services import record_event, resolve_customer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def browser_page():
    # Optional: without playwright the e2e mark skips this test (tests/conftest.py).
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls
    # are still plain synchronous ones.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"), args=CHROMIUM_ARGS
        )
        context = browser.new_context()
        yield context
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def test_merged_customer_360_page_in_the_browser(live_server, client, browser_page):
    channels = {channel.code: channel for channel in demo_channels()}
    visitor = customer_with(("cookie", "c-81f"))
    sara = customer_with(("email", "sara@example.com", True), first_name="Sara", last_name="Rahimi")
    caller = customer_with(("phone", "+989121234567"), first_name="", last_name="")
    start = timezone.now() - timedelta(days=5)
    # Through the service, as partners and apps record them, so lifetime figures are kept.
    for profile, name, code, hours, properties in [
        (visitor, "product_viewed", "app", 0, {"sku": "ARIA-38"}),
        (visitor, "ad_clicked", "ads", 1, {}),
        (sara, "order_completed", "web", 24, {"order_id": "W-1", "total": "89.00"}),
        (caller, "call_logged", "phone", 48, {}),
    ]:
        record_event(
            profile,
            name,
            channel=channels[code],
            occurred_at=start + timedelta(hours=hours),
            properties=properties,
        )
    survivor = resolve_customer(
        [("cookie", "c-81f"), ("email", "sara@example.com"), ("phone", "0912 123 4567")]
    )
    assert survivor.pk == sara.pk

    client.force_login(StaffUserFactory(username="agent", roles=["Support agent"]))
    browser_page.add_cookies([{
        "name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": live_server.url,
    }])  # fmt: skip
    page = browser_page.new_page()

    # The merged-away visitor's id leads to Sara's page.
    page.goto(f"{live_server.url}/customers/{visitor.public_id}/")
    assert page.url.endswith(f"/customers/{sara.public_id}/")
    assert page.get_by_test_id("customer-name").inner_text() == "Sara Rahimi"
    assert page.get_by_test_id("orders-count").inner_text() == "1"
    assert page.get_by_test_id("events-count").inner_text() == "4"
    rows = page.locator("[data-testid=timeline] tbody tr[data-event]")
    assert rows.count() == 4
    assert rows.first.get_attribute("data-event") == "call_logged"
    assert rows.last.get_attribute("data-event") == "product_viewed"
    for kind in ("mobile_app", "ads", "web", "phone"):
        assert page.locator(f"[data-testid=timeline] .channel-icon.channel-{kind}").count() == 1
    icon = page.locator("[data-testid=timeline] .channel-icon.channel-phone").first
    assert icon.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(71, 85, 105)"
    for value in ("sara@example.com", "+989121234567", "c-81f"):
        assert page.locator("[data-panel=identities]").get_by_text(value).count() == 1

    # The channel filter swaps the timeline in place (htmx) and keeps the URL shareable.
    page.locator("[data-channel=phone]").click()
    page.wait_for_url("**channel=phone")
    page.wait_for_function(
        "document.querySelectorAll('[data-testid=timeline] tr[data-event]').length === 1"
    )
    assert rows.first.get_attribute("data-event") == "call_logged"
    assert (
        page.get_by_test_id("customer-name").count() == 1
    )  # the page was not reloaded into itself
