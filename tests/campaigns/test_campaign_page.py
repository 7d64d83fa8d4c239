"""The new-campaign page: a marketer drafts (or schedules) a campaign with its A/B variants
without the admin; bad input is shown on the form, field by field, and nothing is stored."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.factories import MessageTemplateFactory, SegmentFactory
from campaigns.models import Campaign, CampaignStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer(client, staff_in_role):
    client.force_login(staff_in_role("Marketer"))
    return client


def form_data(segment, channel, variants, **extra):
    data = {
        "name": "Spring shoes",
        "segment": segment.pk,
        "channel": channel.pk if channel else "",
        "purpose": "marketing",
        "frequency_window_days": 7,
        "ab_test_share": 20,
        "ab_winner_metric": "click",
        "ab_test_hours": 4,
        "attribution_window_days": 7,
        "variants-TOTAL_FORMS": 3,
        "variants-INITIAL_FORMS": 0,
        "variants-MIN_NUM_FORMS": 0,
        "variants-MAX_NUM_FORMS": 5,
    }
    for i in range(3):
        name, template, weight = variants[i] if i < len(variants) else ("", None, 1)
        data[f"variants-{i}-name"] = name
        data[f"variants-{i}-template"] = template.pk if template else ""
        data[f"variants-{i}-weight"] = weight
    return {**data, **extra}


def test_marketer_drafts_an_ab_campaign_from_the_page(marketer, channels):
    segment = SegmentFactory()
    first, second = MessageTemplateFactory(), MessageTemplateFactory()
    assert b'data-action="new-campaign"' in marketer.get(reverse("campaigns:home")).content
    page = marketer.get(reverse("campaigns:campaign-new"))
    assert page.status_code == 200 and b"Best channel per customer" in page.content
    response = marketer.post(
        reverse("campaigns:campaign-new"),
        form_data(segment, channels["email"], [("A", first, 1), ("", second, 3)]),
    )
    campaign = Campaign.objects.get(name="Spring shoes")
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:campaign-detail", args=[campaign.pk])
    assert campaign.status == CampaignStatus.DRAFT and campaign.channel == channels["email"]
    assert campaign.ab_test_share == 20
    variants = list(campaign.variants.order_by("name").values_list("name", "template", "weight"))
    assert variants == [("A", first.pk, 1), ("B", second.pk, 3)]  # an unnamed row is named


def test_a_send_time_schedules_it(marketer, channels):
    segment, template = SegmentFactory(), MessageTemplateFactory()
    when = timezone.localtime() + timedelta(days=1)
    marketer.post(
        reverse("campaigns:campaign-new"),
        form_data(
            segment, None, [("A", template, 1)],
            send_at=when.strftime("%Y-%m-%dT%H:%M"), in_customer_time_zone="on",
        ),
    )  # fmt: skip
    campaign = Campaign.objects.get()
    assert campaign.status == CampaignStatus.SCHEDULED and campaign.channel is None
    assert campaign.in_customer_time_zone
    assert abs(campaign.scheduled_at - when) < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"variants": []}, b"Choose a template for at least one variant."),
        ({"variants": "same names"}, b"Variant names must differ."),
        ({"quiet_hours_start": "22:00"}, b"Give both ends of the quiet hours, or neither."),
        ({"send_at": "2001-01-01T10:00"}, b"Choose a time in the future"),
        ({"ab_test_share": 0}, b"greater than or equal to 1"),
    ],
)
def test_bad_input_is_named_on_the_form_and_nothing_is_stored(marketer, channels, change, message):
    segment, template = SegmentFactory(), MessageTemplateFactory()
    variants = change.pop("variants", [("A", template, 1)])
    if variants == "same names":
        variants = [("A", template, 1), ("A", MessageTemplateFactory(), 1)]
    response = marketer.post(
        reverse("campaigns:campaign-new"), form_data(segment, None, variants, **change)
    )
    assert response.status_code == 200
    assert message in response.content
    assert not Campaign.objects.exists()


def test_only_those_who_may_add_campaigns_reach_the_page(client, staff_in_role):
    client.force_login(staff_in_role("Support agent"))
    assert client.get(reverse("campaigns:campaign-new")).status_code == 403
