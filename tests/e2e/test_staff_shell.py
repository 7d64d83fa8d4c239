"""A staff member logs in, finds the channels, and switches the whole shell to Persian."""

import pytest

from core.factories import demo_channels

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_staff_logs_in_browses_channels_and_switches_to_persian(
    page, live_server, log_in, staff_in_role
):
    demo_channels()
    staff_in_role("Merchandiser", username="mina")
    log_in("mina")
    page.click("[data-nav=channels]")
    assert page.locator("table tbody tr").count() == 14
    assert page.get_attribute("html", "dir") == "ltr"

    with page.expect_navigation():
        page.select_option("#language-select", "fa")
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.locator("h1").inner_text() == "کانال‌ها"
    assert "بله" in page.locator("table tbody").inner_text()  # yes/no translated too
    # Right-to-left for real: the navigation starts at the right edge of the page.
    brand = page.locator(".brand").bounding_box()
    assert brand["x"] > 640
