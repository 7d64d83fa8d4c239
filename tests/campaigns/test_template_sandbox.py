"""The template sandbox: a template written through the API, the editor page or the admin
reads plain values only. Templates that reach for models (a staff password hash through
her conversations, a channel's inbound secret through her timeline, other customers) are
refused with a 400 naming the variable, at save, at preview and at send, and no response
ever carries a secret; the allowed variables render, and are listed in the schema and on
the page."""

from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core import mail
from django.urls import reverse

from campaigns.factories import (
    CampaignFactory,
    CouponCodeFactory,
    MessageTemplateFactory,
    SegmentFactory,
)
from campaigns.models import MessageStatus, MessageTemplate
from campaigns.services import delivery, launch
from campaigns.services.template_context import message_context
from catalog.factories import ChannelFeedFactory, ProductFactory, ProductVariantFactory
from core.factories import StaffUserFactory
from customers.factories import EventFactory
from support.factories import ConversationFactory

pytestmark = pytest.mark.django_db

INBOUND_SECRET = "inbound-secret-do-not-print"
OTHER_EMAIL = "omid.other@example.com"
TRAVERSAL = "{% for c in customer.conversations.all %}{{ c.assignee.password }}{% endfor %}"
# (template, the variable the refusal names)
REACHING_FOR_MODELS = [
    (TRAVERSAL, "customer.conversations"),
    ("{{ e.channel.provider_settings }}", "e"),
    (
        "{% for e in customer.events.all %}{{ e.channel.provider_settings }}{% endfor %}",
        "customer.events",
    ),
    (
        "{% for c in customer.conversations.all %}{% for m in c.customer.merged_profiles.all %}"
        "{{ m.identities.all }}{% endfor %}{% endfor %}",
        "customer.conversations",
    ),
    ("{% for p in recommended_products %}{{ p.product.variants.all }}{% endfor %}", "p.product"),
    ("{% with c=customer %}{{ c.coupon_codes.all }}{% endwith %}", "c.coupon_codes"),
    ("{% if customer.conversations.exists %}yes{% endif %}", "customer.conversations"),
    ("{{ first_name|default:customer.events }}", "customer.events"),
    ("{{ coupon.pool.codes.all }}", "coupon.pool"),
]
# (template, what the refusal names): tags that load, include or reveal
LOADING_TAGS = [
    ("{% debug %}", "debug"),
    ("{% include 'base.html' %}", "include"),
    ("{% extends 'base.html' %}", "extends"),
    ("{% load static %}", "static"),
    ("{% load %}", "load"),
    ("{% url 'home' %}", "url"),
    ("{% regroup recommended_products by name as groups %}", "regroup"),
]


@pytest.fixture
def secrets(channels, person):
    """Sara, whose conversation is assigned to an agent with a password, whose timeline
    holds an event on a channel with an inbound secret, next to another customer."""
    agent = StaffUserFactory(username="agent-with-a-password")
    agent.set_password("correct horse battery staple")
    agent.save()
    email = channels["email"]
    email.provider_settings = {"inbound_secret": INBOUND_SECRET}
    email.save()
    sara = person("sara@example.com", first_name="Sara", consent=["email"])
    other = person(OTHER_EMAIL, first_name="Omid", consent=["email"])
    for customer in (sara, other):
        ConversationFactory(customer=customer, assignee=agent, started_channel=email)
        EventFactory(customer=customer, name="message_opened", channel=email)
    return SimpleNamespace(sara=sara, values=[agent.password, INBOUND_SECRET, OTHER_EMAIL])


def assert_no_secret(secrets, content):
    text = content if isinstance(content, str) else content.decode()
    for value in secrets.values:
        assert value not in text


@pytest.fixture
def writer(api_client_for):
    return api_client_for("campaigns:write")


@pytest.fixture
def marketer(client, staff_in_role):
    client.force_login(staff_in_role("Marketer"))
    return client


@pytest.mark.parametrize(("source", "variable"), REACHING_FOR_MODELS)
def test_the_api_refuses_a_template_that_reaches_for_models_naming_the_variable(
    writer, secrets, source, variable
):
    answer = writer.post(
        "/api/v1/campaigns/templates",
        {"name": "leak", "channel_kind": "email", "subject": "Hi", "html": source},
        format="json",
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["fields"] == {"html": [f"Unknown variable: {variable}"]}
    assert_no_secret(secrets, answer.content)
    assert not MessageTemplate.objects.filter(name="leak").exists()


@pytest.mark.parametrize(("source", "name"), LOADING_TAGS)
def test_the_api_refuses_tags_that_load_include_or_reveal(writer, source, name):
    answer = writer.post(
        "/api/v1/campaigns/templates",
        {"name": "tags", "channel_kind": "sms", "text": source},
        format="json",
    )
    assert answer.status_code == 400
    (problem,) = answer.json()["error"]["fields"]["text"]
    assert name in problem
    assert "DEBUG" not in answer.content.decode() and "sys.modules" not in answer.content.decode()


def test_a_patch_and_a_translation_are_checked_too(writer, secrets):
    template = MessageTemplateFactory(text="Hello {{ first_name }}")
    url = f"/api/v1/campaigns/templates/{template.pk}"
    answer = writer.patch(url, {"text": TRAVERSAL}, format="json")
    assert answer.status_code == 400
    assert answer.json()["error"]["fields"] == {
        "text": ["Unknown variable: customer.conversations"]
    }
    answer = writer.patch(
        url,
        {"translations": [{"language": "fa", "subject": "{{ e.channel.provider_settings }}"}]},
        format="json",
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["fields"] == {"translations.0.subject": ["Unknown variable: e"]}
    assert_no_secret(secrets, answer.content)
    template.refresh_from_db()
    assert template.text == "Hello {{ first_name }}" and not template.translations.exists()


def test_a_stored_template_that_reaches_for_models_is_refused_at_preview_and_never_sent(
    writer, secrets, channels
):
    # A row saved before the sandbox existed: the preview and the send refuse it too.
    template = MessageTemplateFactory(subject="Hi", text=TRAVERSAL, html="")
    answer = writer.post(
        f"/api/v1/campaigns/templates/{template.pk}/preview",
        {"customer": str(secrets.sara.public_id)},
        format="json",
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_template"
    assert answer.json()["error"]["fields"] == {
        "text": ["Unknown variable: customer.conversations"]
    }
    assert_no_secret(secrets, answer.content)

    campaign = CampaignFactory(
        channel=channels["email"], segment=SegmentFactory(rules={}), templates=[template]
    )
    launch.start_campaign(campaign)
    ids = list(campaign.messages.values_list("id", flat=True))
    assert delivery.send_messages(ids) == {"failed": 2}
    assert mail.outbox == []
    for message in campaign.messages.all():
        assert message.status == MessageStatus.FAILED
        assert "Unknown variable: customer.conversations" in message.status_reason


def test_the_preview_takes_only_journey_data_as_context(writer, secrets):
    template = MessageTemplateFactory(text="{{ order.order_id }} {{ first_name }}")
    url = f"/api/v1/campaigns/templates/{template.pk}/preview"
    customer = str(secrets.sara.public_id)
    refused = writer.post(
        url, {"customer": customer, "context": {"customer": {"first_name": "X"}}}, format="json"
    )
    assert refused.status_code == 400 and "context" in refused.json()["error"]["fields"]
    answer = writer.post(
        url, {"customer": customer, "context": {"order": {"order_id": "W-77"}}}, format="json"
    )
    assert answer.status_code == 200 and answer.json()["text"] == "W-77 Sara"


@pytest.mark.parametrize(("source", "variable"), REACHING_FOR_MODELS[:3])
def test_the_editor_page_preview_and_save_refuse_the_traversal(marketer, secrets, source, variable):
    preview = reverse("campaigns:template-preview")
    for customer in (secrets.sara.pk, ""):
        response = marketer.post(
            preview,
            {"channel_kind": "email", "subject": "Hi", "html": source, "customer": customer},
        )
        body = response.content.decode()
        assert 'role="alert"' in body and f"Unknown variable: {variable}" in body
        assert_no_secret(secrets, body)
    saved = marketer.post(
        reverse("campaigns:template-new"),
        {
            "name": "leak",
            "channel_kind": "email",
            "language": "en",
            "subject": "Hi",
            "html": source,
        },
    )
    assert saved.status_code == 200
    assert f"Unknown variable: {variable}" in saved.content.decode()
    assert_no_secret(secrets, saved.content)
    assert not MessageTemplate.objects.filter(name="leak").exists()


def test_the_admin_refuses_the_traversal_in_a_template_and_its_translations(admin_client, secrets):
    management = {
        "translations-TOTAL_FORMS": "1",
        "translations-INITIAL_FORMS": "0",
        "translations-MIN_NUM_FORMS": "0",
        "translations-MAX_NUM_FORMS": "1000",
        "translations-0-language": "fa",
        "translations-0-text": "{{ e.channel.provider_settings }}",
    }
    response = admin_client.post(
        "/admin/campaigns/messagetemplate/add/",
        {"name": "leak", "channel_kind": "email", "language": "en", "text": TRAVERSAL} | management,
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Unknown variable: customer.conversations" in body and "Unknown variable: e" in body
    assert_no_secret(secrets, body)
    assert not MessageTemplate.objects.filter(name="leak").exists()


def test_allowed_variables_render_in_the_preview(writer, channels, person):
    sara = person("sara@example.com", first_name="Sara", last_name="Rahimi")
    product = ProductFactory(name="Aria Runner", slug="aria-runner")
    ProductVariantFactory(product=product, sku="ARIA-RUN-BLK-38")
    ChannelFeedFactory(channel=channels["web"])
    EventFactory(
        customer=sara,
        name="order_completed",
        channel=channels["store"],
        properties={
            "order_id": "S-2001",
            "total": "120.00",
            "currency": "USD",
            "products": [{"sku": "OTHER-1", "quantity": 2, "price": "60.00"}],
        },
    )
    EventFactory(
        customer=sara,
        name="product_viewed",
        channel=channels["web"],
        properties={"sku": "ARIA-RUN-BLK-38"},
    )
    template = MessageTemplateFactory(
        channel_kind="sms",
        subject="",
        html="",
        text=(
            "{{ first_name }} {{ customer.last_name }} <{{ customer.email }}> "
            "{{ last_order.number }} {{ last_order.channel }} "
            "{% for line in last_order.products %}{{ line.quantity }}x{{ line.sku }}{% endfor %} "
            "{% for p in recommended_products %}{{ forloop.counter }}. {{ p.name }} {{ p.url }}"
            "{% endfor %} {{ cart.total|default:'-' }}"
        ),
    )
    answer = writer.post(
        f"/api/v1/campaigns/templates/{template.pk}/preview",
        {"customer": str(sara.public_id), "context": {"cart": {"total": "89.00"}}},
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    assert answer.json()["text"] == (
        "Sara Rahimi <sara@example.com> S-2001 Store 2xOTHER-1 "
        "1. Aria Runner https://shop.example.com/p/aria-runner?sku=ARIA-RUN-BLK-38 89.00"
    )


def test_the_context_holds_plain_values_only(person):
    sara = person("sara@example.com", first_name="Sara")
    EventFactory(customer=sara, name="order_completed", properties={"order_id": "W-1"})
    code = CouponCodeFactory(customer=sara)
    context = message_context(sara, coupon=code, journey_data={"order": {"order_id": "W-1"}})
    plain = (str, int, float, bool, Decimal, datetime, type(None))

    def walk(value, path):
        if callable(value):  # a lazy value: what the template would get
            value = value()
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, f"{path}.{key}")
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                walk(inner, f"{path}.{index}")
        else:
            assert isinstance(value, plain), f"{path} is a {type(value).__name__}"

    for name, value in context.items():
        walk(value, name)
    assert context["coupon"]["code"] == code.code
    assert context["last_order"]()["number"] == "W-1"


def test_the_allowed_variables_are_listed_in_the_schema_and_on_the_editor_page(marketer):
    schema = marketer.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/campaigns/templates"]["post"]
    for path in ("customer.first_name", "coupon.code", "recommended_products[].url"):
        assert path in operation["description"]
    page = marketer.get(reverse("campaigns:template-new")).content.decode()
    assert "data-variables" in page
    for path in ("customer.first_name", "coupon.code", "recommended_products[].url"):
        assert path in page
