"""Telegram through the Bot API: an inbound update answered from the inbox reaches a local
server speaking the Bot API as sendMessage to the customer's chat; flood control is waited
out and sent once; a user who blocked the bot is marked unreachable and not tried again."""

import time

import pytest
from celery.exceptions import Retry

from core.providers import OutboundMessage, ProviderError
from core.providers.telegram import TelegramProvider, chunks
from customers.models import Identity
from support.models import DeliveryStatus, Direction, Message
from support.tasks import send_outbound_message
from tests.support.conftest import Webhooks

pytestmark = pytest.mark.django_db

CHAT = "424242"


def telegram_update(update_id=20001, message_id=77, text="سلام، سفارشم کجاست؟"):
    return {
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "from": {"id": int(CHAT), "is_bot": False, "first_name": "Ali", "last_name": "Ahmadi"},
            "chat": {"id": int(CHAT), "first_name": "Ali", "type": "private"},
            "date": int(time.time()),
            "text": text,
        },
    }


def inbound_conversation():
    response = Webhooks().post("telegram", telegram_update())
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


def test_inbox_reply_reaches_the_bot_api_as_send_message_to_the_chat(
    client, agent, telegram_channel, telegram_server, django_capture_on_commit_callbacks
):
    conversation = inbound_conversation()
    reply = answer(
        client, conversation, "Your order ships today.", django_capture_on_commit_callbacks
    )
    assert [r["method"] for r in telegram_server.received] == ["sendMessage"]
    assert telegram_server.received[0]["path"] == f"/bot{telegram_server.token}/sendMessage"
    assert telegram_server.received[0]["json"] == {
        "chat_id": CHAT,
        "text": "Your order ships today.",
    }
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT
    message_id = telegram_server.accepted[0]["message_id"]
    assert reply.provider_message_id == f"{CHAT}:{message_id}"
    # the task delivered again sends nothing more: the row was claimed once
    send_outbound_message.delay(reply.pk)
    assert len(telegram_server.received) == 1


def test_flood_control_waits_retry_after_and_sends_once(
    client, agent, telegram_channel, telegram_server, django_capture_on_commit_callbacks
):
    conversation = inbound_conversation()
    telegram_server.fail_next_with_429 = 1
    telegram_server.retry_after = 30
    reply = answer(client, conversation, "One moment please.", django_capture_on_commit_callbacks)
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.QUEUED
    assert reply.error_code == "429" and "retry after 30" in reply.last_error
    # the retry waits what Telegram asked for (more than our first 5 s backoff)
    telegram_server.fail_next_with_429 = 1
    with pytest.raises(Retry) as retry:
        send_outbound_message.delay(reply.pk)
    assert retry.value.when == 30
    send_outbound_message.delay(reply.pk)  # the retry
    send_outbound_message.delay(reply.pk)  # and a duplicate of it
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT and reply.error_code == ""
    assert len(telegram_server.accepted) == 1
    assert [r["status"] for r in telegram_server.received] == [429, 429, 200]


def test_blocked_bot_marks_the_identity_unreachable_and_stops_replies(
    client, agent, telegram_channel, telegram_server, django_capture_on_commit_callbacks
):
    conversation = inbound_conversation()
    telegram_server.blocked.add(CHAT)
    reply = answer(client, conversation, "Are you there?", django_capture_on_commit_callbacks)
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.FAILED
    assert reply.error_code == "403" and "blocked" in reply.last_error
    identity = Identity.objects.get(kind="telegram", value=CHAT)
    assert identity.unreachable_at is not None and "blocked" in identity.unreachable_reason
    page = client.get(f"/support/c/{conversation.pk}/").content.decode()
    assert "bot was blocked by the user" in page  # the agent reads why
    # a second reply is refused before any call: the customer is not reachable there
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/support/c/{conversation.pk}/reply", {"mode": "reply", "text": "Hello?"}
        )
    assert response.status_code in (200, 302)
    assert Message.objects.filter(direction=Direction.OUTBOUND).count() == 1
    assert len(telegram_server.received) == 1


@pytest.mark.parametrize(
    ("switch", "scope", "code"),
    [
        ("unknown_chats", ProviderError.RECIPIENT, "400"),
        ("blocked", ProviderError.RECIPIENT, "403"),
        ("fail_next_with_500", ProviderError.RETRY, "500"),
    ],
)
def test_errors_are_mapped_once(telegram_channel, telegram_server, switch, scope, code):
    if switch == "fail_next_with_500":
        telegram_server.fail_next_with_500 = 1
    else:
        getattr(telegram_server, switch).add(CHAT)
    with pytest.raises(ProviderError) as error:
        TelegramProvider(telegram_channel).send(
            OutboundMessage(to=CHAT, text="hi", idempotency_key="k1")
        )
    assert error.value.scope == scope and error.value.code == code


def test_a_failure_after_the_first_part_is_not_retried(telegram_channel, telegram_server):
    """The text reached the chat, the file after it failed with a retryable 500: retrying the
    message would send the text twice, so the error is final for this message (its cause
    kept), and nothing more was sent."""
    telegram_server.fail_after_accepting = 1
    with pytest.raises(ProviderError) as error:
        TelegramProvider(telegram_channel).send(
            OutboundMessage(
                to=CHAT,
                idempotency_key="k1",
                text="Your invoice and a photo",
                attachments=[
                    {"url": "https://shop.example/i.pdf", "content_type": "application/pdf"},
                    {"url": "https://shop.example/p.jpg", "content_type": "image/jpeg"},
                ],
            )
        )
    assert not error.value.retryable and error.value.scope == ProviderError.MESSAGE
    assert error.value.code == "500" and "after part of the message was sent" in str(error.value)
    assert error.value.__cause__.retryable
    assert [a["method"] for a in telegram_server.accepted] == ["sendMessage"]


def test_wrong_token_is_retried_and_files_go_by_url(telegram_channel, telegram_server):
    telegram_channel.provider_settings["bot_token"] = "1:wrong"
    with pytest.raises(ProviderError) as error:
        TelegramProvider(telegram_channel).send(
            OutboundMessage(to=CHAT, text="hi", idempotency_key="k1")
        )
    assert error.value.retryable and error.value.code == "401"
    telegram_channel.provider_settings["bot_token"] = telegram_server.token
    result = TelegramProvider(telegram_channel).send(
        OutboundMessage(
            to=CHAT,
            idempotency_key="k2",
            text="Your invoice and a photo",
            attachments=[
                {"url": "https://shop.example/i.pdf", "content_type": "application/pdf"},
                {"url": "https://shop.example/p.jpg", "content_type": "image/jpeg"},
            ],
        )
    )
    sent = [(a["method"], a["json"]) for a in telegram_server.accepted]
    assert sent == [
        ("sendMessage", {"chat_id": CHAT, "text": "Your invoice and a photo"}),
        ("sendDocument", {"chat_id": CHAT, "document": "https://shop.example/i.pdf"}),
        ("sendPhoto", {"chat_id": CHAT, "photo": "https://shop.example/p.jpg"}),
    ]
    assert result.provider_message_id == f"{CHAT}:{telegram_server.accepted[0]['message_id']}"
    # one file: the text is its caption
    TelegramProvider(telegram_channel).send(
        OutboundMessage(
            to=CHAT,
            idempotency_key="k2",
            text="The photo",
            attachments=[{"url": "https://shop.example/p.jpg", "content_type": "image/png"}],
        )
    )
    assert telegram_server.accepted[-1]["json"] == {
        "chat_id": CHAT,
        "photo": "https://shop.example/p.jpg",
        "caption": "The photo",
    }


def test_long_text_goes_in_pieces_within_the_limit():
    text = ("word " * 2000).strip()
    pieces = chunks(text)
    assert len(pieces) == 3 and all(len(p) <= 4096 for p in pieces)
    assert " ".join(pieces).split() == text.split()
