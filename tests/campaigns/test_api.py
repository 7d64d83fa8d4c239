"""The campaigns API through real keys: segments with live counts, templates and previews,
campaigns (create, send, results), coupons (pools, codes, validate), journeys, attribution,
audience export; bad input names the field."""

import pytest

from campaigns.factories import (
    CampaignFactory,
    CouponPoolFactory,
    MessageTemplateFactory,
    SegmentFactory,
)
from campaigns.models import Campaign, CampaignMessage
from campaigns.services.defaults import install_defaults
from tests.query_counts import assert_queries_do_not_grow

pytestmark = pytest.mark.django_db


@pytest.fixture
def writer(api_client_for):
    return api_client_for("campaigns:write")


@pytest.fixture
def reader(api_client_for):
    return api_client_for("campaigns:read")


def test_segment_rules_in_live_count_out(writer, person, channels):
    person("a@example.com", consent=["email"])
    person("b@example.com")
    answer = writer.post(
        "/api/v1/campaigns/segments",
        {"name": "Email opt-ins", "rules": {"consent": "email", "purpose": "marketing"}},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert (
        body["count"] == 1
        and body["compiled_description"] == "consents to marketing messages by Email"
    )
    detail = writer.get(f"/api/v1/campaigns/segments/{body['id']}").json()
    assert detail["count"] == 1
    counted = writer.post("/api/v1/campaigns/segments/count", {"rules": {}}, format="json")
    assert counted.json()["count"] == 2


def test_bad_rules_get_a_400_naming_the_field(writer):
    answer = writer.post(
        "/api/v1/campaigns/segments",
        {"name": "Bad", "rules": {"event": "x", "within_days": "soon"}, "colour": "red"},
        format="json",
    )
    assert answer.status_code == 400
    fields = answer.json()["error"]["fields"]
    assert "colour" in fields
    answer = writer.post(
        "/api/v1/campaigns/segments",
        {"name": "Bad", "rules": {"event": "x", "within_days": "soon"}},
        format="json",
    )
    assert answer.status_code == 400 and "rules" in answer.json()["error"]["fields"]


def test_reads_need_read_and_writes_need_write(reader):
    assert reader.get("/api/v1/campaigns/segments").status_code == 200
    answer = reader.post("/api/v1/campaigns/segments", {"name": "x", "rules": {}}, format="json")
    assert answer.status_code == 403


def test_template_with_a_persian_translation_and_sms_preview(writer, person):
    answer = writer.post(
        "/api/v1/campaigns/templates",
        {
            "name": "sms-hello",
            "channel_kind": "sms",
            "text": "Hi {{ first_name }}!",
            "translations": [{"language": "fa", "text": "سلام {{ first_name }}، خوش آمدید!"}],
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    sara = person("s@example.com", locale="fa-IR", first_name="سارا")
    preview = writer.post(
        f"/api/v1/campaigns/templates/{answer.json()['id']}/preview",
        {"customer": str(sara.public_id)},
        format="json",
    ).json()
    assert preview["language"] == "fa" and preview["text"] == "سلام سارا، خوش آمدید!"
    assert preview["sms"] == {"encoding": "UCS-2", "length": 21, "segments": 1}
    broken = writer.post(
        "/api/v1/campaigns/templates",
        {"name": "broken", "channel_kind": "email", "text": "{% if %}"},
        format="json",
    )
    assert broken.status_code == 400 and "text" in broken.json()["error"]["fields"]
    unknown = writer.post(
        "/api/v1/campaigns/templates", {"name": "x", "channel_kind": "pigeon"}, format="json"
    )
    assert "channel_kind" in unknown.json()["error"]["fields"]


def test_create_send_and_read_results(writer, person, channels, django_capture_on_commit_callbacks):
    for i in range(3):
        person(f"c{i}@example.com", consent=["email"])
    segment = SegmentFactory(rules={"consent": "email", "purpose": "marketing"})
    template = MessageTemplateFactory()
    answer = writer.post(
        "/api/v1/campaigns/campaigns",
        {
            "name": "Spring shoes",
            "segment": segment.pk,
            "channel": "email",
            "variants": [{"name": "A", "template": template.pk}],
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    campaign_id = answer.json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        sent = writer.post(f"/api/v1/campaigns/campaigns/{campaign_id}/send")
    assert sent.status_code == 202
    results = writer.get(f"/api/v1/campaigns/campaigns/{campaign_id}/results").json()
    assert results["total"]["sent"] == 3 and results["variants"][0]["variant"] == "A"
    again = writer.post(f"/api/v1/campaigns/campaigns/{campaign_id}/send")
    assert again.status_code == 409 and again.json()["error"]["code"] == "illegal_transition"
    assert CampaignMessage.objects.filter(campaign_id=campaign_id).count() == 3


def test_a_campaign_needs_variants_and_a_known_channel(writer):
    segment = SegmentFactory()
    answer = writer.post(
        "/api/v1/campaigns/campaigns",
        {"name": "x", "segment": segment.pk, "channel": "nowhere", "variants": []},
        format="json",
    )
    assert answer.status_code == 400
    assert {"channel", "variants"} <= set(answer.json()["error"]["fields"])


def test_schedule_in_the_customers_time_zone(writer):
    campaign = CampaignFactory()
    answer = writer.post(
        f"/api/v1/campaigns/campaigns/{campaign.pk}/schedule",
        {"send_at": "2030-01-01T09:00:00Z", "in_customer_time_zone": True},
        format="json",
    )
    assert answer.status_code == 200 and answer.json()["status"] == "scheduled"
    assert Campaign.objects.get(pk=campaign.pk).in_customer_time_zone


def test_coupon_pools_codes_and_validation(writer, person, channels):
    answer = writer.post(
        "/api/v1/campaigns/coupon-pools",
        {
            "name": "Spring",
            "code_kind": "shared",
            "prefix": "spring15",
            "discount_kind": "percentage",
            "discount_value": "15",
            "minimum_spend": "50",
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    ok = writer.post(
        "/api/v1/campaigns/coupons/validate", {"code": "SPRING15", "subtotal": "100"}, format="json"
    ).json()
    assert ok["valid"] is True and ok["discount"] == "15.00"
    low = writer.post(
        "/api/v1/campaigns/coupons/validate", {"code": "SPRING15", "subtotal": "10"}, format="json"
    ).json()
    assert low["valid"] is False and "minimum spend" in low["reason"]
    bad = writer.post(
        "/api/v1/campaigns/coupon-pools",
        {
            "name": "Bad",
            "code_kind": "shared",
            "prefix": "X",
            "discount_kind": "percentage",
            "discount_value": "150",
        },
        format="json",
    )
    assert bad.status_code == 400 and "discount_value" in bad.json()["error"]["fields"]
    unique = CouponPoolFactory(prefix="U", code_kind="unique")
    sara = person("u@example.com")
    first = writer.post(
        f"/api/v1/campaigns/coupon-pools/{unique.pk}/codes",
        {"customer": str(sara.public_id)},
        format="json",
    ).json()
    second = writer.post(
        f"/api/v1/campaigns/coupon-pools/{unique.pk}/codes",
        {"customer": str(sara.public_id)},
        format="json",
    ).json()
    assert first["codes"] == second["codes"]
    printed = writer.post(
        f"/api/v1/campaigns/coupon-pools/{unique.pk}/codes", {"count": 5}, format="json"
    ).json()
    assert printed["made"] == 5


def test_lists_are_guarded_against_n_plus_one(reader, channels, django_assert_max_num_queries):
    install_defaults()
    made = {
        "/api/v1/campaigns/campaigns": lambda: CampaignFactory(channel=channels["email"]),
        "/api/v1/campaigns/templates": MessageTemplateFactory,
        "/api/v1/campaigns/segments": lambda: SegmentFactory(rules={}),
        "/api/v1/campaigns/coupon-pools": CouponPoolFactory,
    }
    for url, make in made.items():

        def add_rows(n, make=make):
            for _ in range(n):
                make()

        def fetch(url=url):
            assert reader.get(url, {"page_size": 50}).status_code == 200, url

        assert_queries_do_not_grow(add_rows, fetch, at_most=8)
    # Journeys have no factory: the installed defaults, under the ceiling.
    with django_assert_max_num_queries(8):
        assert reader.get("/api/v1/campaigns/journeys").status_code == 200


def test_audience_export_and_attribution(reader, person, channels):
    person("x@example.com")
    segment = SegmentFactory(rules={})
    answer = reader.get(f"/api/v1/campaigns/segments/{segment.pk}/audience.csv")
    assert answer.status_code == 200 and answer["Content-Type"] == "text/csv"
    assert answer.content.decode().splitlines()[0] == "email,phone"
    attribution = reader.get("/api/v1/campaigns/attribution?model=first_touch&days=7")
    assert attribution.status_code == 200 and attribution.json()["model"] == "first_touch"
    bad = reader.get("/api/v1/campaigns/attribution?model=whatever")
    assert bad.status_code == 400 and "model" in bad.json()["error"]["fields"]
    bad = reader.get("/api/v1/campaigns/attribution?days=soon")
    assert bad.status_code == 400 and "days" in bad.json()["error"]["fields"]
