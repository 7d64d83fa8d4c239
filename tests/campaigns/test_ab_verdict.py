"""The campaign page tells the truth about an A/B test: a variant is called the winner only
when it did significantly better; otherwise the control is shown as kept, with both rates and
their confidence intervals."""

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.factories import CampaignFactory, MessageTemplateFactory
from campaigns.models import CampaignMessage
from campaigns.services import abtest, launch

pytestmark = pytest.mark.django_db


def campaign_with_clicks(channels, person, *, clicks_a, clicks_b):
    for i in range(103):
        person(f"verdict{i}@example.com", consent=["email"])
    campaign = CampaignFactory(
        channel=channels["email"],
        templates=[MessageTemplateFactory(), MessageTemplateFactory()],
        ab_test_share=20,
    )
    launch.start_campaign(campaign)
    campaign.refresh_from_db()
    for name, clicks in (("A", clicks_a), ("B", clicks_b)):
        ids = campaign.messages.filter(variant__name=name).values_list("pk", flat=True)[:clicks]
        CampaignMessage.objects.filter(pk__in=list(ids)).update(
            status="sent", sent_at=timezone.now(), clicked_at=timezone.now()
        )
        CampaignMessage.objects.filter(variant__name=name, campaign=campaign).exclude(
            pk__in=list(ids)
        ).update(status="sent", sent_at=timezone.now())
    abtest.decide_winner(campaign, force=True)
    return campaign


def page_of(client, staff_in_role, campaign):
    client.force_login(staff_in_role("Marketer"))
    return client.get(reverse("campaigns:campaign-detail", args=[campaign.pk])).content.decode()


def test_a_better_but_not_significant_variant_keeps_the_control(
    client, staff_in_role, channels, person
):
    # B did a little better (3 of 10 against 2 of 11): not significant, the control is kept.
    campaign = campaign_with_clicks(channels, person, clicks_a=2, clicks_b=3)
    html = page_of(client, staff_in_role, campaign)
    assert 'data-ab-verdict="not-significant"' in html
    assert "No significant difference yet (p = " in html
    assert 'data-verdict="winner"' not in html and 'data-verdict="kept"' in html
    assert "18.2% (" in html and "30.0% (" in html  # both rates with their intervals


def test_a_significantly_better_variant_is_called_the_winner(
    client, staff_in_role, channels, person
):
    campaign = campaign_with_clicks(channels, person, clicks_a=1, clicks_b=8)
    html = page_of(client, staff_in_role, campaign)
    assert 'data-ab-verdict="significant"' in html
    assert "B did significantly better than A (p = " in html
    assert 'data-verdict="winner"' in html


def test_wilson_interval_stays_within_zero_and_one():
    low, high = abtest.wilson_interval(0, 10)
    assert low == 0.0 and 0.2 < high < 0.35
    low, high = abtest.wilson_interval(10, 10)
    assert 0.65 < low < 0.8 and high == 1.0
