"""Every inbound adapter through its real door: realistic payloads, signatures, retries."""

import pytest
from rest_framework.test import APIClient

from customers.factories import customer_with
from customers.normalise import IdentityKey
from customers.selectors import customer_for_identity, timeline_for
from support.models import Conversation, Message

pytestmark = pytest.mark.django_db

RAW_EMAIL = b"""From: Sara Rahimi <Sara@Example.com>
To: support@shop.example
Subject: My order has not arrived
Message-ID: <CAF1234567@mail.example.com>
Date: Mon, 23 Nov 2026 10:15:00 +0330
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

Hello, my order W-1001 has not arrived yet.

--b1
Content-Type: text/html; charset=utf-8

<p onclick="steal()">Hello, my order <b>W-1001</b> has not arrived yet.</p><script>alert(1)</script>

--b1--
"""


def whatsapp_payload(
    message_id="wamid.HBgMOTg5MTIxMjM0NTY3FQIAEhggQjE", text="Is size 38 in stock?"
):
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": "106540352242922",
                            },
                            "contacts": [
                                {"profile": {"name": "Reza Karimi"}, "wa_id": "989121112233"}
                            ],
                            "messages": [
                                {
                                    "from": "989121112233",
                                    "id": message_id,
                                    "timestamp": "1795420000",
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }


def telegram_update(update_id=10001, message_id=55, text="سلام، سفارش من کجاست؟"):
    return {
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "from": {
                "id": 424242,
                "is_bot": False,
                "first_name": "Ali",
                "last_name": "Ahmadi",
                "username": "ali_a",
                "language_code": "fa",
            },
            "chat": {"id": 424242, "first_name": "Ali", "type": "private"},
            "date": 1795420000,
            "text": text,
        },
    }


def meta_messaging(
    obj, mid="m_AbCdEf123", sender="17841400000000001", text="The left shoe sole came off"
):
    return {
        "object": obj,
        "entry": [
            {
                "id": "17841405822304914",
                "time": 1795420000000,
                "messaging": [
                    {
                        "sender": {"id": sender},
                        "recipient": {"id": "17841405822304914"},
                        "timestamp": 1795420000000,
                        "message": {
                            "mid": mid,
                            "text": text,
                            "attachments": [
                                {
                                    "type": "image",
                                    "payload": {"url": "https://lookaside.example/photo.jpg"},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }


def test_raw_email_creates_customer_conversation_and_sanitised_message(webhooks):
    response = webhooks.post("email", RAW_EMAIL, content_type="message/rfc822")
    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 1
    customer = customer_for_identity(IdentityKey("email", "sara@example.com"))
    assert customer is not None and customer.first_name == "Sara"
    message = Message.objects.get()
    assert message.external_id == "<CAF1234567@mail.example.com>"
    assert "W-1001" in message.text
    assert "<script>" not in message.html and "onclick" not in message.html
    assert "<b>W-1001</b>" in message.html
    conversation = message.conversation
    assert conversation.subject == "My order has not arrived"
    assert conversation.customer == customer and conversation.started_channel.kind == "email"
    assert timeline_for(customer).filter(name="message_received").count() == 1


def test_email_provider_json_shape(webhooks):
    payload = {
        "FromName": "Leyla Aliyeva",
        "From": "leyla@example.az",
        "FromFull": {"Email": "leyla@example.az", "Name": "Leyla Aliyeva"},
        "Subject": "Exchange",
        "MessageID": "73e6d360-66eb-11e1-8e72-a8904824019b",
        "TextBody": "Can I exchange the blue pair?",
        "HtmlBody": "<p>Can I exchange the <i>blue</i> pair?</p>",
        "Headers": [{"Name": "Message-ID", "Value": "<leyla-1@example.az>"}],
        "Attachments": [
            {"Name": "receipt.pdf", "ContentType": "application/pdf", "ContentLength": 1024}
        ],
    }
    response = webhooks.post("email", payload)
    assert response.status_code == 200, response.content
    message = Message.objects.get()
    assert message.external_id == "<leyla-1@example.az>"
    assert message.attachments[0]["filename"] == "receipt.pdf"
    assert message.conversation.customer.last_name == "Aliyeva"


def test_sms_json_and_retry_deduplicated(webhooks):
    payload = {
        "id": "SM123",
        "from": "+989121234567",
        "to": "+98100",
        "text": "Where is my parcel?",
    }
    first = webhooks.post("sms", payload)
    again = webhooks.post("sms", payload)
    assert first.status_code == again.status_code == 200
    assert (first.json()["accepted"], again.json()["accepted"]) == (1, 0)
    assert again.json()["duplicates"] == 1
    assert again.json()["messages"] == first.json()["messages"]
    assert Message.objects.count() == 1 and Conversation.objects.count() == 1


def test_sms_twilio_form(webhooks):
    body = b"MessageSid=SM9&From=%2B989121234567&To=%2B98100&Body=Hi+there"
    response = webhooks.post("sms", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200, response.content
    assert Message.objects.get().text == "Hi there"


def test_whatsapp_cloud_api_message_and_status(webhooks, channels):
    response = webhooks.post("whatsapp", whatsapp_payload())
    assert response.status_code == 200, response.content
    message = Message.objects.get()
    assert message.address == "+989121112233"
    customer = message.conversation.customer
    assert customer.first_name == "Reza"
    assert customer_for_identity(IdentityKey("whatsapp", "+989121112233")) == customer
    # a retry of the same delivery stores nothing
    assert webhooks.post("whatsapp", whatsapp_payload()).json()["duplicates"] == 1
    assert Message.objects.count() == 1


def test_telegram_update_and_forged_secret(webhooks):
    assert webhooks.post("telegram", telegram_update(), secret="wrong").status_code == 401
    response = webhooks.post("telegram", telegram_update())
    assert response.status_code == 200, response.content
    message = Message.objects.get()
    assert message.external_id == "424242:55"
    assert message.conversation.customer.first_name == "Ali"
    assert webhooks.post("telegram", telegram_update(update_id=10002)).json()["duplicates"] == 1


@pytest.mark.parametrize("kind,obj", [("instagram", "instagram"), ("messenger", "page")])
def test_meta_graph_messaging(webhooks, kind, obj):
    response = webhooks.post(kind, meta_messaging(obj))
    assert response.status_code == 200, response.content
    message = Message.objects.get()
    assert message.channel.kind == kind
    assert message.attachments[0]["type"] == "image"
    assert customer_for_identity(IdentityKey(kind, "17841400000000001")) is not None
    assert webhooks.post(kind, meta_messaging(obj)).json()["duplicates"] == 1


def test_webchat_visitor_typing_an_email_stays_a_visitor_with_a_claim(webhooks):
    """A typed email proves nothing (tests/support/test_webchat_identity.py has the rest)."""
    known = customer_with(("email", "nina@example.com"), first_name="Nina")
    payload = {"id": "chat-1", "visitor_id": "c-81f", "email": "nina@example.com", "text": "Hi!"}
    response = webhooks.post("webchat", payload)
    assert response.status_code == 200, response.content
    message = Message.objects.get()
    assert message.conversation.customer != known
    assert message.claimed_identities == [{"kind": "email", "value": "nina@example.com"}]


@pytest.mark.parametrize(
    "kind,payload",
    [
        ("email", {"From": "x@example.com", "TextBody": "hi"}),
        ("sms", {"id": "1", "from": "+989121234567", "text": "hi"}),
        ("whatsapp", whatsapp_payload()),
        ("instagram", meta_messaging("instagram")),
        ("messenger", meta_messaging("page")),
        ("webchat", {"id": "1", "visitor_id": "v", "text": "hi"}),
    ],
)
def test_forged_signature_is_refused_in_the_error_format(webhooks, kind, payload):
    response = webhooks.post(kind, payload, secret="forged")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert Message.objects.count() == 0


def test_missing_signature_is_refused(channels):
    response = APIClient().post("/api/v1/inbound/sms", {"id": "1"}, format="json")
    assert response.status_code == 401


def test_bad_payload_names_the_field(webhooks):
    response = webhooks.post("sms", {"id": "SM1", "from": "+989121234567"})
    assert response.status_code == 400
    assert "text" in response.json()["error"]["fields"]
    response = webhooks.post("sms", b"not json")
    assert response.status_code == 400


def test_unknown_channel_kind_is_404(webhooks):
    response = webhooks.post("pigeon", {"x": 1})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_channel"


def test_meta_subscription_verification(webhooks):
    client = webhooks.client
    ok = client.get(
        "/api/v1/inbound/whatsapp",
        {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"},
    )
    assert ok.status_code == 200 and ok.content == b"1158201444"
    bad = client.get(
        "/api/v1/inbound/whatsapp",
        {"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"},
    )
    assert bad.status_code == 401
