"""A marketer writing a new message template sees the live preview as soon as they type, before
naming it or choosing its channel (the browser's required-field check once stopped it)."""

import pytest

from core.factories import demo_channels

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_new_template_previews_while_typing_before_it_is_named(
    page, live_server, log_in, staff_in_role
):
    demo_channels()
    staff_in_role("Marketer", username="maryam")
    log_in("maryam")
    page.goto(f"{live_server.url}/campaigns/templates/new/")
    assert page.input_value("#id_name") == ""

    page.locator("#id_text").press_sequentially("Hello {{ first_name }}, spring shoes!")

    preview = page.locator("#preview .campaigns-text")
    preview.wait_for(timeout=5_000)
    assert "spring shoes!" in preview.inner_text()
    assert "{{" not in preview.inner_text()
