"""Staff pages: campaign list and results, segment builder with its live count, template
editor with live preview, journeys, attribution; the marketer role sees them, others do not."""

import json

import pytest
from django.urls import reverse

from campaigns.factories import (
    CampaignFactory,
    CampaignMessageFactory,
    CouponPoolFactory,
    MessageTemplateFactory,
    SegmentFactory,
)
from campaigns.models import Segment
from campaigns.services.coupons import issue_code
from campaigns.services.defaults import install_defaults
from campaigns.services.delivery import enqueue_due
from customers.factories import CustomerFactory
from tests.query_counts import assert_queries_do_not_grow

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer(client, staff_in_role):
    client.force_login(staff_in_role("Marketer"))
    return client


def test_pages_answer_for_a_marketer_with_few_queries(
    marketer, channels, django_assert_max_num_queries
):
    install_defaults()
    campaign = CampaignFactory(channel=channels["email"])
    for _ in range(4):
        CampaignFactory(channel=channels["email"])
    pages = [
        reverse("campaigns:home"),
        reverse("campaigns:campaign-detail", args=[campaign.pk]),
        reverse("campaigns:segment-list"),
        reverse("campaigns:segment-new"),
        reverse("campaigns:template-list"),
        reverse("campaigns:template-new"),
        reverse("campaigns:journey-list"),
        reverse("campaigns:attribution"),
    ]
    for url in pages:
        with django_assert_max_num_queries(20):
            response = marketer.get(url)
        assert response.status_code == 200, url
    # The lists: a row more must not be a query more.
    lists = {
        reverse("campaigns:home"): lambda: CampaignFactory(channel=channels["email"]),
        reverse("campaigns:segment-list"): lambda: SegmentFactory(rules={}),
        reverse("campaigns:template-list"): MessageTemplateFactory,
    }
    for url, make in lists.items():

        def add_rows(n, make=make):
            for _ in range(n):
                make()

        def fetch(url=url):
            assert marketer.get(url).status_code == 200, url

        assert_queries_do_not_grow(add_rows, fetch, at_most=20)
    home = marketer.get(reverse("home"))
    assert b'data-nav="campaigns"' in home.content


def test_support_agents_do_not_see_campaigns(client, staff_in_role):
    client.force_login(staff_in_role("Support agent"))
    assert client.get(reverse("campaigns:home")).status_code == 403


def test_segment_builder_saves_rules_and_counts_live(marketer, person, channels):
    person("a@example.com", consent=["email"])
    person("b@example.com")
    rules = {"consent": "email", "purpose": "marketing"}
    count = marketer.post(reverse("campaigns:segment-count"), {"rules": json.dumps(rules)})
    assert b'data-count="1"' in count.content
    bad = marketer.post(reverse("campaigns:segment-count"), {"rules": '{"wat": 1}'})
    assert b"Unknown rule" in bad.content
    response = marketer.post(
        reverse("campaigns:segment-new"),
        {"name": "Opted in", "description": "", "rules": json.dumps(rules)},
    )
    assert response.status_code == 302
    segment = Segment.objects.get(name="Opted in")
    assert segment.rules == rules and segment.compiled_description
    page = marketer.get(reverse("campaigns:segment-edit", args=[segment.pk]))
    assert b'data-count="1"' in page.content
    refused = marketer.post(
        reverse("campaigns:segment-new"), {"name": "Broken", "rules": '{"orders": {"x": 1}}'}
    )
    assert refused.status_code == 200 and b"Unknown key" in refused.content


def test_template_editor_previews_live_with_sms_segments(marketer, person):
    sara = person("s@example.com", first_name="Sara")
    response = marketer.post(
        reverse("campaigns:template-preview"),
        {"channel_kind": "sms", "text": "Hi {{ first_name }}! " + "x" * 160, "customer": sara.pk},
    )
    assert b"Hi Sara!" in response.content and b'data-segments="2"' in response.content
    broken = marketer.post(reverse("campaigns:template-preview"), {"text": "{% if %}"})
    assert b'role="alert"' in broken.content
    saved = marketer.post(
        reverse("campaigns:template-new"),
        {
            "name": "hello",
            "channel_kind": "email",
            "language": "en",
            "subject": "Hi",
            "text": "Hello {{ first_name }}",
            "html": "",
        },
    )
    assert saved.status_code == 302


def test_template_editor_shows_the_preview_on_opening_without_typing(marketer):
    template = MessageTemplateFactory(
        channel_kind="sms", subject="", html="", text="Hi {{ first_name }}, spring shoes!"
    )
    page = marketer.get(reverse("campaigns:template-edit", args=[template.pk]))
    assert page.status_code == 200
    preview = page.content.decode().split('<div id="preview"', 1)[1].split("</div>", 1)[0]
    assert 'class="campaigns-text"' in preview and "spring shoes!" in preview
    assert "{{" not in preview and "data-segments=" in preview
    # A refused save keeps what was typed, and previews it too.
    refused = marketer.post(
        reverse("campaigns:template-edit", args=[template.pk]),
        {"name": "", "channel_kind": "sms", "language": "en", "text": "Bye {{ first_name }}"},
    )
    assert refused.status_code == 200
    preview = refused.content.decode().split('<div id="preview"', 1)[1].split("</div>", 1)[0]
    assert "Bye " in preview and "{{" not in preview


def test_template_preview_keeps_the_emails_html_inside_its_frame(marketer):
    # Rendered HTML is marked safe: unescaped in srcdoc, its first quote ended the attribute
    # and the rest of the email became part of the staff page.
    template = MessageTemplateFactory(
        channel_kind="email",
        text="Hi",
        html='<p><a href="https://shop.example.com/cart">Back to your cart</a></p>',
    )
    for page in (
        marketer.get(reverse("campaigns:template-edit", args=[template.pk])),
        marketer.post(reverse("campaigns:template-preview"), {"text": "Hi", "html": template.html}),
    ):
        html = page.content.decode()
        assert '<a href="https://shop.example.com/cart">' not in html
        assert 'srcdoc="&lt;p&gt;&lt;a href=&quot;https://shop.example.com/cart&quot;&gt;' in html


def test_campaign_page_sends_and_shows_results(marketer, person, channels):
    person("r@example.com", consent=["email"])
    campaign = CampaignFactory(
        channel=channels["email"],
        segment=SegmentFactory(rules={}),
        templates=[MessageTemplateFactory()],
    )
    url = reverse("campaigns:campaign-detail", args=[campaign.pk])
    marketer.post(url, {"action": "send"})

    enqueue_due()
    page = marketer.get(url)
    assert page.status_code == 200
    campaign.refresh_from_db()
    assert campaign.status == "sending" and campaign.messages.filter(status="sent").count() == 1


def test_the_customer_page_shows_her_messages_and_coupons(marketer, channels):
    customer = CustomerFactory()
    CampaignMessageFactory(customer=customer, channel=channels["email"])
    code = issue_code(CouponPoolFactory(prefix="PANEL", code_kind="unique"), customer)
    page = marketer.get(reverse("customers:detail", args=[customer.public_id]))
    assert page.status_code == 200
    assert b"Messages and coupons" in page.content and code.code.encode() in page.content


def test_segment_rules_count_as_they_are_typed_and_bad_json_is_explained(marketer):
    page = marketer.get(reverse("campaigns:segment-new")).content.decode()
    # The rules box itself asks for the count, a moment after each change (debounced).
    rules_box = page.split('id="id_rules"')[0].rsplit("<textarea", 1)[1]
    assert f'hx-post="{reverse("campaigns:segment-count")}"' in rules_box
    assert 'hx-trigger="input changed delay:400ms, change"' in rules_box
    assert 'hx-target="#segment-count"' in rules_box

    typo = '{"all": [{"consent": "email",}]}'
    answer = marketer.post(reverse("campaigns:segment-count"), {"rules": typo}).content.decode()
    assert "line 1, column 30" in answer
    assert "a name must be written in double quotes" in answer
    assert "Expecting" not in answer
    saved = marketer.post(reverse("campaigns:segment-new"), {"name": "Typo", "rules": typo})
    assert "a name must be written in double quotes" in saved.content.decode()
    assert not Segment.objects.filter(name="Typo").exists()


@pytest.mark.parametrize("days", ["x", "%00", "-5", "99999999999999999999", "1e3"])
def test_attribution_page_reads_a_bad_days_as_the_default_never_a_500(marketer, days):
    # The API refuses it naming `days`; the page, a filter in the URL, shows its default.
    response = marketer.get(f"{reverse('campaigns:attribution')}?days={days}")
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert response.context["days"] in (1, 30, 3650)
