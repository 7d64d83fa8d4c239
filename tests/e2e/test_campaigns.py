"""A marketer drafts an A/B campaign on the staff page, in a real browser, then in Persian."""

import pytest

from campaigns.factories import MessageTemplateFactory, SegmentFactory
from campaigns.models import Campaign
from core.factories import demo_channels

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_marketer_drafts_an_ab_campaign_in_the_browser(page, live_server, log_in, staff_in_role):
    demo_channels()
    segment = SegmentFactory(name="Lapsed 90 days")
    MessageTemplateFactory(name="Come back (A)")
    MessageTemplateFactory(name="Come back (B)")
    staff_in_role("Marketer", username="maryam")
    log_in("maryam")
    page.click("[data-nav=campaigns]")
    page.click("[data-action=new-campaign]")
    page.fill("#id_name", "Win them back")
    page.select_option("#id_segment", str(segment.pk))
    page.select_option("#id_variants-0-template", label="Come back (A)")
    page.select_option("#id_variants-1-template", label="Come back (B)")
    page.fill("#id_ab_test_share", "30")
    page.click("#campaign-form button[type=submit]")
    page.wait_for_url("**/campaigns/campaigns/*/")
    assert "Win them back" in page.locator("h1").inner_text()
    campaign = Campaign.objects.get(name="Win them back")
    assert campaign.channel is None  # each customer's best channel
    assert sorted(campaign.variants.values_list("name", flat=True)) == ["A", "B"]

    page.goto(f"{live_server.url}/campaigns/campaigns/new/")
    with page.expect_navigation():
        page.select_option("#language-select", "fa")
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.locator("h1").inner_text() == "کمپین تازه"
    page.click("#campaign-form button[type=submit]")  # empty: errors, in Persian
    assert page.locator(".errorlist").count() >= 2
    assert Campaign.objects.count() == 1
