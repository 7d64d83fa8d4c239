"""Messenger and Instagram through Meta's Send API: an inbox reply reaches a local server
speaking the Send API (recipient.id, messaging_type RESPONSE, the page token); after 24 hours
only with the HUMAN_AGENT tag where the page has it, else refused without a call; receipts
by mids and watermarks move the replies to delivered and read, never back."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from core.providers import OutboundMessage, ProviderError
from core.providers.meta import InstagramProvider, MessengerProvider
from customers.models import Identity
from support.models import DeliveryStatus, Direction, Message
from tests.providers.meta_server import meta_receipt
from tests.support.conftest import Webhooks

pytestmark = pytest.mark.django_db

PSID = "6283910029384756"
IGSID = "17841400000000001"


def messaging(obj, sender, ago=timedelta(0), mid="m_in_1", text="Is the red one back?"):
    moment = int((time.time() - ago.total_seconds()) * 1000)
    return {
        "object": obj,
        "entry": [
            {
                "id": "PAGE-1",
                "time": moment,
                "messaging": [
                    {
                        "sender": {"id": sender},
                        "recipient": {"id": "PAGE-1"},
                        "timestamp": moment,
                        "message": {"mid": mid, "text": text},
                    }
                ],
            }
        ],
    }


def inbound_conversation(kind, obj, sender, ago=timedelta(0)):
    response = Webhooks().post(kind, messaging(obj, sender, ago))
    assert response.status_code == 200, response.content
    return Message.objects.get(pk=response.json()["messages"][0]).conversation


def answer(client, conversation, text, capture):
    with capture(execute=True):
        response = client.post(
            f"/support/c/{conversation.pk}/reply", {"mode": "reply", "text": text}
        )
    assert response.status_code in (200, 302), response.content
    return (
        Message.objects.filter(conversation=conversation, direction=Direction.OUTBOUND)
        .order_by("-id")
        .first()
    )


def test_messenger_reply_is_a_response_to_the_psid(
    client, agent, messenger_channel, meta_server, django_capture_on_commit_callbacks
):
    conversation = inbound_conversation("messenger", "page", PSID, ago=timedelta(hours=3))
    reply = answer(client, conversation, "Back on Monday.", django_capture_on_commit_callbacks)
    [request] = meta_server.received
    assert request["path"] == "/v21.0/me/messages"
    assert request["headers"]["Authorization"] == f"Bearer {meta_server.page_token}"
    assert request["json"] == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "Back on Monday."},
    }
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT
    assert reply.provider_message_id == meta_server.accepted[0]["id"]


def test_messenger_after_24_hours_without_the_tag_is_refused_without_a_call(
    client, agent, messenger_channel, meta_server, django_capture_on_commit_callbacks
):
    conversation = inbound_conversation("messenger", "page", PSID, ago=timedelta(days=2))
    reply = answer(client, conversation, "Back on Monday.", django_capture_on_commit_callbacks)
    reply.refresh_from_db()
    assert meta_server.received == []
    assert reply.delivery_status == DeliveryStatus.FAILED and reply.error_code == "2018278"
    page = client.get(f"/support/c/{conversation.pk}/").content.decode()
    assert f'data-window-closed="{reply.pk}"' in page
    assert "no approved template to send" in page


def test_instagram_after_24_hours_goes_with_the_human_agent_tag(
    client, agent, instagram_channel, meta_server, django_capture_on_commit_callbacks
):
    conversation = inbound_conversation("instagram", "instagram", IGSID, ago=timedelta(days=3))
    reply = answer(client, conversation, "Sorry for the wait!", django_capture_on_commit_callbacks)
    [request] = meta_server.received
    assert request["json"] == {
        "recipient": {"id": IGSID},
        "messaging_type": "MESSAGE_TAG",
        "tag": "HUMAN_AGENT",
        "message": {"text": "Sorry for the wait!"},
    }
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT


def test_instagram_unavailable_user_is_marked_unreachable(
    client, agent, instagram_channel, meta_server, django_capture_on_commit_callbacks
):
    conversation = inbound_conversation("instagram", "instagram", IGSID)
    meta_server.unavailable.add(IGSID)
    reply = answer(client, conversation, "Hello", django_capture_on_commit_callbacks)
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.FAILED and reply.error_code == "551"
    assert Identity.objects.get(kind="instagram", value=IGSID).unreachable_at is not None
    answer(client, conversation, "Hello again", django_capture_on_commit_callbacks)
    assert len(meta_server.received) == 1  # not tried again


def test_delivery_and_read_receipts_by_mid_and_watermark(
    client, agent, messenger_channel, meta_server, django_capture_on_commit_callbacks
):
    conversation = inbound_conversation("messenger", "page", PSID)
    first = answer(client, conversation, "One", django_capture_on_commit_callbacks)
    second = answer(client, conversation, "Two", django_capture_on_commit_callbacks)
    first.refresh_from_db()
    second.refresh_from_db()
    webhooks = Webhooks()
    response = webhooks.post(
        "messenger", meta_receipt("page", PSID, delivery_mids=[first.provider_message_id])
    )
    assert response.status_code == 200 and response.json()["statuses"] >= 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.delivery_status == DeliveryStatus.DELIVERED
    assert second.delivery_status == DeliveryStatus.SENT
    # read up to now: both are read
    watermark = int(timezone.now().timestamp() * 1000)
    webhooks.post("messenger", meta_receipt("page", PSID, read_watermark=watermark))
    for message in (first, second):
        message.refresh_from_db()
        assert message.delivery_status == DeliveryStatus.READ and message.read_at
    # a late delivery receipt does not step back
    webhooks.post(
        "messenger",
        meta_receipt("page", PSID, delivery_mids=[second.provider_message_id], watermark=watermark),
    )
    second.refresh_from_db()
    assert second.delivery_status == DeliveryStatus.READ
    # an old watermark marks nothing sent after it
    third = answer(client, conversation, "Three", django_capture_on_commit_callbacks)
    webhooks.post("messenger", meta_receipt("page", PSID, read_watermark=watermark - 60_000))
    third.refresh_from_db()
    assert third.delivery_status == DeliveryStatus.SENT


@pytest.mark.parametrize(
    ("setup", "scope", "code"),
    [
        (lambda s: s.invalid_recipients.add(PSID), ProviderError.RECIPIENT, "2018001"),
        (lambda s: s.unavailable.add(PSID), ProviderError.RECIPIENT, "551"),
        (lambda s: s.window_closed.add(PSID), ProviderError.MESSAGE, "2018278"),
        (lambda s: setattr(s, "fail_next_with_429", 1), ProviderError.RETRY, "613"),
    ],
)
def test_errors_are_mapped_once(messenger_channel, meta_server, setup, scope, code):
    setup(meta_server)
    message = OutboundMessage(
        to=PSID, text="hi", idempotency_key="k1", last_inbound_at=timezone.now()
    )
    with pytest.raises(ProviderError) as error:
        MessengerProvider(messenger_channel).send(message)
    assert error.value.scope == scope and error.value.code == code


def test_files_as_attachments_on_messenger_and_links_on_instagram(
    messenger_channel, instagram_channel, meta_server
):
    files = [
        {"url": "https://shop.example/p.jpg", "content_type": "image/jpeg"},
        {"url": "https://shop.example/i.pdf", "content_type": "application/pdf"},
    ]
    now = timezone.now()
    MessengerProvider(messenger_channel).send(
        OutboundMessage(
            to=PSID, text="Here", idempotency_key="k1", attachments=files, last_inbound_at=now
        )
    )
    InstagramProvider(instagram_channel).send(
        OutboundMessage(
            to=IGSID, text="Here", idempotency_key="k2", attachments=files, last_inbound_at=now
        )
    )
    messages = [body["message"] for body in meta_server.bodies()]
    assert messages == [
        {"text": "Here"},
        {"attachment": {"type": "image", "payload": {"url": "https://shop.example/p.jpg"}}},
        {"attachment": {"type": "file", "payload": {"url": "https://shop.example/i.pdf"}}},
        {"text": "Here\nhttps://shop.example/i.pdf"},
        {"attachment": {"type": "image", "payload": {"url": "https://shop.example/p.jpg"}}},
    ]
