"""WhatsApp through the Cloud API: a reply inside the 24-hour window goes as free text to a
local server speaking the Cloud API; outside it the reply fails without a call, the page
offers the channel's approved templates, and the template goes out instead; receipts by
webhook move the message forward and never back."""

import io
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.models import ProviderTemplate
from core.providers import OutboundMessage, ProviderError
from core.providers.whatsapp import WhatsAppProvider
from customers.models import Identity
from support.models import DeliveryStatus, Direction, Message
from support.tasks import send_outbound_message
from tests.providers.meta_server import whatsapp_statuses
from tests.support.conftest import Webhooks

pytestmark = pytest.mark.django_db

NUMBER = "+989121112233"


def whatsapp_inbound(ago=timedelta(0), message_id="wamid.IN1", text="Is size 38 in stock?"):
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA-1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"phone_number_id": "106540352242922"},
                            "contacts": [{"profile": {"name": "Reza Karimi"}, "wa_id": NUMBER[1:]}],
                            "messages": [
                                {
                                    "from": NUMBER[1:],
                                    "id": message_id,
                                    "timestamp": str(int(time.time() - ago.total_seconds())),
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }


def inbound_conversation(ago=timedelta(0)):
    response = Webhooks().post("whatsapp", whatsapp_inbound(ago))
    assert response.status_code == 200, response.content
    return Message.objects.get(pk=response.json()["messages"][0]).conversation


def answer(client, conversation, text, capture):
    with capture(execute=True):
        response = client.post(
            f"/support/c/{conversation.pk}/reply", {"mode": "reply", "text": text}
        )
    assert response.status_code in (200, 302), response.content
    return last_reply(conversation)


def last_reply(conversation):
    return (
        Message.objects.filter(conversation=conversation, direction=Direction.OUTBOUND)
        .order_by("-id")
        .first()
    )


def test_free_text_inside_the_window(
    client, agent, whatsapp_channel, whatsapp_server, django_capture_on_commit_callbacks
):
    conversation = inbound_conversation(ago=timedelta(hours=2))
    reply = answer(client, conversation, "Yes, 38 is in stock.", django_capture_on_commit_callbacks)
    [request] = whatsapp_server.received
    assert request["path"] == "/v21.0/106540352242922/messages"
    assert request["headers"]["Authorization"] == f"Bearer {whatsapp_server.token}"
    assert request["json"] == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": NUMBER,
        "type": "text",
        "text": {"preview_url": False, "body": "Yes, 38 is in stock."},
    }
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT
    assert reply.provider_message_id == whatsapp_server.accepted[0]["id"]
    assert reply.provider_message_id.startswith("wamid.")


def test_outside_the_window_a_template_goes_instead(
    client, agent, whatsapp_channel, whatsapp_server, django_capture_on_commit_callbacks
):
    template = ProviderTemplate.objects.create(
        channel=whatsapp_channel,
        name="follow_up",
        language="fa",
        text="سلام {{1}}، پاسخ پرسش شما آماده است.",
        parameters=["first_name"],
    )
    ProviderTemplate.objects.create(
        channel=whatsapp_channel, name="order_news", language="fa", parameters=["order_number"]
    )
    whatsapp_server.templates = {("follow_up", "fa"): 1}
    conversation = inbound_conversation(ago=timedelta(hours=30))
    reply = answer(client, conversation, "Yes, 38 is in stock.", django_capture_on_commit_callbacks)
    reply.refresh_from_db()
    # refused here, as the Cloud API would (131047), without calling it
    assert whatsapp_server.received == []
    assert reply.delivery_status == DeliveryStatus.FAILED and reply.error_code == "131047"
    page = client.get(f"/support/c/{conversation.pk}/").content.decode()
    assert f'data-window-closed="{reply.pk}"' in page
    assert "سلام Reza، پاسخ پرسش شما آماده است." in page  # the template filled for her
    assert "The template needs order_number" in page  # the one this conversation cannot fill
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/support/c/{conversation.pk}/reply-template", {"template": template.pk}
        )
    assert response.status_code == 302
    [request] = whatsapp_server.received
    assert request["json"]["type"] == "template"
    assert request["json"]["template"] == {
        "name": "follow_up",
        "language": {"code": "fa"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Reza"}]}],
    }
    sent = last_reply(conversation)
    assert sent.delivery_status == DeliveryStatus.SENT
    assert sent.text == "سلام Reza، پاسخ پرسش شما آماده است."
    page = client.get(f"/support/c/{conversation.pk}/").content.decode()
    assert "data-window-closed" in page  # still closed: she has not written since
    # a template that is not this channel's, or no template, is a clear 4xx on the page
    response = client.post(
        f"/support/c/{conversation.pk}/reply-template",
        {"template": "banana"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "Unknown or inactive template" in response.content.decode()


def test_the_providers_own_window_answer_fails_the_same_way(
    client, agent, whatsapp_channel, whatsapp_server, django_capture_on_commit_callbacks
):
    conversation = inbound_conversation(ago=timedelta(hours=1))
    whatsapp_server.window_closed.add(NUMBER)
    reply = answer(client, conversation, "Hello again", django_capture_on_commit_callbacks)
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.FAILED
    assert reply.error_code == "131047" and "24 hours" in reply.last_error


def test_rate_limit_then_success_sends_once_and_invalid_recipient_is_unreachable(
    client, agent, whatsapp_channel, whatsapp_server, django_capture_on_commit_callbacks
):
    conversation = inbound_conversation()
    whatsapp_server.fail_next_with_429 = 2
    whatsapp_server.retry_after = 20
    reply = answer(client, conversation, "On its way", django_capture_on_commit_callbacks)
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.QUEUED and reply.error_code == "130429"
    for _retry in range(3):
        try:
            send_outbound_message.delay(reply.pk)
        except Exception:  # noqa: BLE001, S110  (eager Celery surfaces the retry it schedules)
            pass
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT
    assert len(whatsapp_server.accepted) == 1 and len(whatsapp_server.received) == 3

    whatsapp_server.invalid_recipients.add(NUMBER)
    failed = answer(client, conversation, "Hello?", django_capture_on_commit_callbacks)
    failed.refresh_from_db()
    assert failed.delivery_status == DeliveryStatus.FAILED and failed.error_code == "131026"
    assert Identity.objects.get(kind="whatsapp", value=NUMBER).unreachable_at is not None


def test_receipts_move_forward_never_back(
    client, agent, whatsapp_channel, whatsapp_server, django_capture_on_commit_callbacks
):
    conversation = inbound_conversation()
    reply = answer(client, conversation, "Shipped", django_capture_on_commit_callbacks)
    other = answer(client, conversation, "Tracking code soon", django_capture_on_commit_callbacks)
    reply.refresh_from_db()
    other.refresh_from_db()
    wamid = reply.provider_message_id
    webhooks = Webhooks()

    def status(*statuses):
        response = webhooks.post("whatsapp", whatsapp_statuses(*statuses))
        assert response.status_code == 200, response.content
        return response

    status((wamid, "sent", NUMBER[1:]), (wamid, "delivered", NUMBER[1:]))
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.DELIVERED and reply.delivered_at
    status((wamid, "read", NUMBER[1:]))
    reply.refresh_from_db()
    read_at = reply.read_at
    assert reply.delivery_status == DeliveryStatus.READ and read_at
    status((wamid, "delivered", NUMBER[1:]), (wamid, "read", NUMBER[1:]))  # late and repeated
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.READ and reply.read_at == read_at
    # a failure with the provider's reason
    failure = [
        {
            "code": 131049,
            "title": "This message was not delivered to maintain healthy ecosystem engagement.",
        }
    ]
    status((other.provider_message_id, "failed", NUMBER[1:], failure))
    other.refresh_from_db()
    assert other.delivery_status == DeliveryStatus.FAILED and other.error_code == "131049"
    assert "healthy ecosystem" in other.last_error
    # forged: refused
    response = webhooks.post(
        "whatsapp", whatsapp_statuses((wamid, "failed", NUMBER[1:])), secret="forged"
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("setup", "scope", "code"),
    [
        (lambda s: s.invalid_recipients.add(NUMBER), ProviderError.RECIPIENT, "131026"),
        (lambda s: s.window_closed.add(NUMBER), ProviderError.MESSAGE, "131047"),
        (lambda s: setattr(s, "fail_next_with_429", 1), ProviderError.RETRY, "130429"),
        (lambda s: setattr(s, "token", "other"), ProviderError.RETRY, "190"),
    ],
)
def test_errors_are_mapped_once(whatsapp_channel, whatsapp_server, setup, scope, code):
    setup(whatsapp_server)
    message = OutboundMessage(
        to=NUMBER, text="hi", idempotency_key="k1", last_inbound_at=timezone.now()
    )
    with pytest.raises(ProviderError) as error:
        WhatsAppProvider(whatsapp_channel).send(message)
    assert error.value.scope == scope and error.value.code == code


def test_unknown_template_and_files_by_link(whatsapp_channel, whatsapp_server):
    whatsapp_server.templates = {("hello", "en_US"): 0}
    with pytest.raises(ProviderError) as error:
        WhatsAppProvider(whatsapp_channel).send(
            OutboundMessage(
                to=NUMBER,
                text="",
                idempotency_key="k1",
                template={"name": "nope", "language": "fa", "parameters": []},
            )
        )
    assert error.value.scope == ProviderError.MESSAGE and error.value.code == "132001"
    WhatsAppProvider(whatsapp_channel).send(
        OutboundMessage(
            to=NUMBER,
            text="Your invoice",
            idempotency_key="k2",
            last_inbound_at=timezone.now() - timedelta(hours=23),
            attachments=[
                {"url": "https://shop.example/p.jpg", "content_type": "image/jpeg"},
                {
                    "url": "https://shop.example/i.pdf",
                    "content_type": "application/pdf",
                    "name": "i.pdf",
                },
            ],
        )
    )
    kinds = [(b["type"], b.get(b["type"])) for b in whatsapp_server.bodies()]
    assert kinds == [
        ("text", {"preview_url": False, "body": "Your invoice"}),
        ("image", {"link": "https://shop.example/p.jpg"}),
        ("document", {"link": "https://shop.example/i.pdf", "filename": "i.pdf"}),
    ]


def test_demo_conversation_offers_the_whatsapp_templates(client, agent):
    call_command(
        "seed_demo", "--seed", "5", "--only", "core.", "--only", "customers.",
        "--only", "support.", stdout=io.StringIO(),
    )  # fmt: skip
    question = Message.objects.get(external_id="wamid.demo-window-closed-1")
    page = client.get(f"/support/c/{question.conversation_id}/").content.decode()
    assert "data-template-form" in page and "data-window-closed" in page
    assert "Hello Leila, we have an answer to your question." in page
