"""Erasure reaches every copy: a customer who touched every app is erased through the API,
then every text, JSON and binary column of every table is searched for her email, phone and
names, and a replay of her earlier idempotent requests no longer answers with her data."""

import json

import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.db import models
from django.db.models.functions import Cast

from campaigns.factories import CampaignFactory, CouponPoolFactory, MessageTemplateFactory
from campaigns.models import Suppression
from campaigns.services.coupons import issue_code
from campaigns.services.launch import start_campaign
from campaigns.services.tracking import suppression_digest
from campaigns.tasks import send_chunk
from catalog.factories import listed_product
from core.factories import demo_channels
from core.models import IdempotencyRecord, OutboxEvent
from core.providers import delivery_reported
from core.services.outbox import publish
from customers.checks import customer_erasers_registered
from customers.links import PRIVACY_HANDLERS
from customers.models import Customer, CustomerMerge
from inventory.factories import WarehouseFactory, receive_stock
from orders.models import Order
from support.services import InboundMessage, add_note, assign, receive_inbound

from .conftest import post_json

pytestmark = pytest.mark.django_db

FIRST = "Zofiqa"
LAST = "Quellbrunnova"
EMAIL = "zofiqa.quellbrunnova@example.net"
EMAIL_AS_TYPED = "Zofiqa.Quellbrunnova@Example.NET"
PHONE = "+989125557319"
PHONE_AS_TYPED = "0912 555 7319"
NEEDLES = [FIRST, LAST, EMAIL, PHONE, PHONE_AS_TYPED]

IDENTIFY = {
    "identities": [
        {"kind": "email", "value": EMAIL_AS_TYPED, "verified": True},
        {"kind": "phone", "value": PHONE_AS_TYPED},
    ],
    "traits": {"first_name": FIRST, "last_name": LAST},
}


def rows_holding(needle: str) -> list[str]:
    """`app.Model.field` of every row, in every table, whose text, JSON or binary value
    holds `needle` (case-insensitive)."""
    found = []
    for model in apps.get_models():
        if not model._meta.managed or model._meta.proxy:
            continue
        for field in model._meta.concrete_fields:
            name = f"{model._meta.label}.{field.name}"
            if isinstance(field, (models.CharField, models.TextField)):
                count = model.objects.filter(**{f"{field.attname}__icontains": needle}).count()
            elif isinstance(field, models.JSONField):
                count = (
                    model.objects.annotate(_as_text=Cast(field.attname, models.TextField()))
                    .filter(_as_text__icontains=needle)
                    .count()
                )
            elif isinstance(field, models.BinaryField):
                values = model.objects.exclude(**{field.attname: None}).values_list(
                    field.attname, flat=True
                )
                count = sum(
                    needle.lower() in bytes(value).decode("utf-8", "replace").lower()
                    for value in values
                )
            else:
                continue
            found += [name] * count
    return found


@pytest.fixture
def shop(db):
    channels = {channel.code: channel for channel in demo_channels()}
    product = listed_product({channels["web"]: 120}, variants=1, name="Aria Runner")
    variant = product.variants.get()
    receive_stock(variant, WarehouseFactory(channels=[channels["web"]]), 5)
    return channels, variant


def order_body(variant):
    return {
        "channel": "web",
        "customer": {"identities": [{"kind": "email", "value": EMAIL}]},
        "lines": [{"sku": variant.sku, "quantity": 1}],
        "shipping": {"name": f"{FIRST} {LAST}", "phone": PHONE_AS_TYPED, "address": "7 Lane",
                     "city": "Tehran", "country": "IR"},
        "notes": f"Ring {FIRST} first",
    }  # fmt: skip


def zofiqa_everywhere(client, channels, variant, agent):
    """Zofiqa as the apps met her: an anonymous visitor merged into her profile, events,
    a cart, an order shipped to her phone, a conversation, a campaign email that bounced,
    a coupon, a webhook event, and her privacy export. Every POST carries an
    Idempotency-Key, as partners send them."""
    cookie = {"kind": "cookie", "value": "zq-cookie-5521"}
    post_json(client, "/api/v1/track", {"identities": [cookie], "event": "page_viewed",
              "properties": {"url": f"/shoes?email={EMAIL}"}}, HTTP_IDEMPOTENCY_KEY="t-1")  # fmt: skip
    identified = post_json(client, "/api/v1/identify", IDENTIFY, HTTP_IDEMPOTENCY_KEY="i-1")
    assert identified.status_code == 200, identified.content
    customer_id = identified.json()["customer"]["id"]
    merged = post_json(client, "/api/v1/identify", {"identities": [cookie, {"kind": "email", "value": EMAIL}]},
                       HTTP_IDEMPOTENCY_KEY="i-2")  # fmt: skip
    assert merged.json()["customer"]["id"] == customer_id
    assert CustomerMerge.objects.filter(survivor__public_id=customer_id).exists()
    post_json(client, "/api/v1/track", {"identities": [{"kind": "phone", "value": PHONE_AS_TYPED}],
              "event": "product_viewed", "properties": {"sku": variant.sku, "coupon": PHONE_AS_TYPED,
                                                        "name": f"{FIRST} {LAST}"}},
              HTTP_IDEMPOTENCY_KEY="t-2")  # fmt: skip
    cart = post_json(client, "/api/v1/carts/", {"identities": [{"kind": "email", "value": EMAIL}],
                     "channel": "web"}, HTTP_IDEMPOTENCY_KEY="c-1").json()  # fmt: skip
    post_json(client, f"/api/v1/carts/{cart['id']}/lines", {"sku": variant.sku, "quantity": 1},
              HTTP_IDEMPOTENCY_KEY="c-2")  # fmt: skip
    order = post_json(client, "/api/v1/orders/", order_body(variant), HTTP_IDEMPOTENCY_KEY="o-1")
    assert order.status_code == 201, order.content

    conversation = receive_inbound(InboundMessage(
        channel=channels["email"], identities=[{"kind": "email", "value": EMAIL}],
        subject=f"Order for {FIRST} {LAST}", text=f"Call me on {PHONE}, {FIRST}",
        address=EMAIL, external_id="<zq-1@mail>",
    )).message.conversation  # fmt: skip
    assign(conversation, agent)
    add_note(conversation, None, f"@{agent.username} {FIRST} {LAST} called from {PHONE}")

    post_json(client, f"/api/v1/customers/{customer_id}/consents",
              {"channel": "email", "purpose": "marketing", "status": "granted"},
              HTTP_IDEMPOTENCY_KEY="k-1")  # fmt: skip
    campaign = CampaignFactory(channel=channels["email"], templates=[MessageTemplateFactory()])
    start_campaign(campaign)
    send_chunk(list(campaign.messages.values_list("id", flat=True)))
    sent = campaign.messages.get()
    assert sent.status == "sent" and sent.to == EMAIL
    delivery_reported.send(
        sender=None,
        channel=channels["email"],
        provider_message_id=sent.provider_message_id,
        status="bounced",
        detail={"smtp": f"550 5.1.1 <{EMAIL}>: no such user"},
    )
    assert Suppression.objects.filter(address=EMAIL).exists()
    issue_code(CouponPoolFactory(code_kind="unique", prefix="ZQ"), sent.customer)
    # A partner-facing event that carries her contact (as a "customer_updated" would).
    publish("customer_updated", {"customer_id": customer_id, "email": EMAIL, "phone": PHONE})

    # A staff member edited her profile in the admin: its history names her.
    LogEntry.objects.log_actions(
        agent.pk, Customer.objects.filter(public_id=customer_id), CHANGE, single_object=True
    )

    exported = client.post(f"/api/v1/customers/{customer_id}/export", HTTP_IDEMPOTENCY_KEY="e-1")
    assert exported.status_code == 200 and EMAIL in exported.content.decode()
    return customer_id


def test_erasure_leaves_her_email_phone_and_names_in_no_table(shop, api_client_for, staff_in_role):
    channels, variant = shop
    client = api_client_for("customers:write", "orders:write")
    agent = staff_in_role("Support agent", username="agent_kian")
    customer_id = zofiqa_everywhere(client, channels, variant, agent)
    for needle in NEEDLES:  # the search would notice a leak
        assert rows_holding(needle), needle
    assert "core.IdempotencyRecord.response_body" in rows_holding(PHONE)
    assert "core.OutboxEvent.payload" in rows_holding(EMAIL)
    assert "admin.LogEntry.object_repr" in rows_holding(LAST)
    orders_before = Order.objects.count()

    erased = client.post(f"/api/v1/customers/{customer_id}/erase")

    assert erased.status_code == 200, erased.content
    leaks = {needle: rows_holding(needle) for needle in NEEDLES}
    assert leaks == {needle: [] for needle in NEEDLES}
    # Replaying her identify answers truthfully without her data, and runs nothing again.
    replay = post_json(client, "/api/v1/identify", IDENTIFY, HTTP_IDEMPOTENCY_KEY="i-1")
    assert replay.status_code == 410 and replay["Idempotent-Replayed"] == "true"
    assert replay.json()["error"]["code"] == "erased"
    body = replay.content.decode()
    assert not [needle for needle in NEEDLES if needle.lower() in body.lower()]
    assert IdempotencyRecord.objects.filter(key="i-1", status_code=410).exists()
    # The order's stored answer is gone too, and replaying it does not place it twice.
    replayed_order = post_json(
        client, "/api/v1/orders/", order_body(variant), HTTP_IDEMPOTENCY_KEY="o-1"
    )
    assert (
        replayed_order.status_code == 410 and "applied" in replayed_order.json()["error"]["message"]
    )
    assert Order.objects.count() == orders_before
    # Pending webhooks keep their ids, her contact is gone; her address stays suppressed.
    updated = OutboxEvent.objects.get(topic="customer_updated").payload
    assert updated == {"customer_id": customer_id, "email": "[erased]", "phone": "[erased]"}
    assert Suppression.objects.filter(address=suppression_digest(EMAIL)).exists()


def test_stored_answers_of_other_customers_are_kept(shop, api_client_for):
    client = api_client_for("customers:write")
    other = {"identities": [{"kind": "email", "value": "kaveh.other@example.org"}],
             "traits": {"first_name": FIRST}}  # fmt: skip
    first = post_json(client, "/api/v1/identify", other, HTTP_IDEMPOTENCY_KEY="other-1")
    zofiqa = post_json(client, "/api/v1/identify", IDENTIFY, HTTP_IDEMPOTENCY_KEY="i-1").json()

    client.post(f"/api/v1/customers/{zofiqa['customer']['id']}/erase")

    # Another customer who shares her first name is not her: his answer still replays.
    replay = post_json(client, "/api/v1/identify", other, HTTP_IDEMPOTENCY_KEY="other-1")
    assert replay.status_code == 200
    assert json.loads(replay.content) == json.loads(first.content)


def test_an_app_with_customer_rows_but_no_eraser_is_a_startup_warning():
    campaigns = PRIVACY_HANDLERS.pop("campaigns")
    try:
        warnings = customer_erasers_registered()
    finally:
        PRIVACY_HANDLERS["campaigns"] = campaigns
    assert [warning.id for warning in warnings] == ["customers.W002"]
    assert "campaigns" in warnings[0].msg
    assert customer_erasers_registered() == []
