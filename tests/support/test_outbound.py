"""Replies leave on the customer's channel, once, through the real provider layer."""

import json

import pytest
from celery.exceptions import Retry
from django.utils import timezone
from rest_framework.test import APIClient

from core.services.outbox import sign
from customers.factories import customer_with
from support.errors import ChannelNotReachable
from support.models import DeliveryStatus, Direction, Message
from support.services import InboundMessage, deliver, receive_inbound, reply
from support.tasks import send_outbound_message
from tests.support.conftest import make_channel

pytestmark = pytest.mark.django_db


def inbound(channel, identities, text="Hello", external_id="x1", address=""):
    return receive_inbound(
        InboundMessage(
            channel=channel,
            identities=identities,
            text=text,
            external_id=external_id,
            address=address,
        )
    ).message


@pytest.mark.smtp
def test_email_reply_sent_once_even_when_the_task_runs_again(
    channels, smtp_server, django_capture_on_commit_callbacks
):
    question = inbound(
        channels["email"],
        [{"kind": "email", "value": "sara@example.com"}],
        external_id="<q1@mail.example.com>",
        address="sara@example.com",
    )
    with django_capture_on_commit_callbacks(execute=True):
        answer = reply(question.conversation, None, "We are sending a new pair.")
    messages = smtp_server.wait_for(1)
    assert len(messages) == 1
    # the task delivered again (a duplicated or retried Celery message) sends nothing more
    send_outbound_message.delay(answer.pk)
    send_outbound_message.delay(answer.pk)
    assert len(smtp_server.wait_for(2, timeout=1.0)) == 1
    answer.refresh_from_db()
    assert answer.delivery_status == DeliveryStatus.SENT
    envelope = messages[0]
    assert envelope.rcpt_tos == ["sara@example.com"]
    body = envelope.content.decode()
    assert "In-Reply-To: <q1@mail.example.com>" in body
    assert question.conversation.token in body  # the subject carries the token
    assert answer.provider_message_id in body  # Message-ID from the idempotency key


def test_http_provider_retry_after_failure_sends_once(channels, http_receiver):
    whatsapp = make_channel(
        "wa-http", "whatsapp", provider="http", url=http_receiver.url, secret="provider-secret"
    )
    http_receiver.reply = {"id": "wamid.out.1"}
    http_receiver.fail_next = 1  # the provider fails once with a 500
    question = inbound(
        whatsapp, [{"kind": "whatsapp", "value": "+989121112233"}], address="+989121112233"
    )
    answer = reply(question.conversation, None, "Your replacement ships today.")
    with pytest.raises(Retry):  # eager Celery surfaces the retry it schedules
        send_outbound_message.delay(answer.pk)
    answer.refresh_from_db()
    assert answer.delivery_status == DeliveryStatus.QUEUED and "500" in answer.last_error
    send_outbound_message.delay(answer.pk)  # the retry
    send_outbound_message.delay(answer.pk)  # and a duplicate delivery of it
    answer.refresh_from_db()
    assert answer.delivery_status == DeliveryStatus.SENT
    assert answer.send_attempts == 2
    assert len(http_receiver.received) == 1
    headers, body = http_receiver.received[0]
    assert headers["Idempotency-Key"] == answer.idempotency_key
    assert json.loads(body)["to"] == "+989121112233"
    assert answer.provider_message_id == "wamid.out.1"
    deliver(answer.pk)  # a late duplicate of the task
    assert len(http_receiver.received) == 1


def test_message_marked_sending_is_not_sent_by_a_second_worker(channels, http_receiver):
    sms = make_channel("sms-http", "sms", provider="http", url=http_receiver.url, secret="s")
    question = inbound(sms, [{"kind": "phone", "value": "+989121234567"}], address="+989121234567")
    http_receiver.fail_next = 0
    answer = Message.objects.create(
        conversation=question.conversation,
        direction=Direction.OUTBOUND,
        channel=sms,
        address="+989121234567",
        text="x",
        delivery_status=DeliveryStatus.SENDING,
    )
    Message.objects.filter(pk=answer.pk).update(sending_started_at=timezone.now())
    deliver(answer.pk)
    assert http_receiver.received == []


def test_reply_defaults_to_the_channel_the_customer_last_wrote_on(channels):
    customer_with(("email", "sara@example.com"), ("telegram", "424242"))
    first = inbound(
        channels["email"],
        [{"kind": "email", "value": "sara@example.com"}],
        address="sara@example.com",
    )
    inbound(
        channels["telegram"],
        [{"kind": "telegram", "value": "424242"}],
        external_id="1:1",
        address="424242",
    )
    answer = reply(first.conversation, None, "Hi")
    assert answer.channel.kind == "telegram" and answer.address == "424242"
    by_email = reply(first.conversation, None, "Also by email", channel=channels["email"])
    assert by_email.address == "sara@example.com"


def test_reply_on_unreachable_channel_is_refused(channels):
    question = inbound(
        channels["email"],
        [{"kind": "email", "value": "sara@example.com"}],
        address="sara@example.com",
    )
    with pytest.raises(ChannelNotReachable):
        reply(question.conversation, None, "Hi", channel=channels["instagram"])


def test_delivery_report_updates_the_message(
    channels, http_receiver, django_capture_on_commit_callbacks
):
    sms = make_channel("sms-http", "sms", provider="http", url=http_receiver.url, secret="s3")
    http_receiver.reply = {"id": "prov-77"}
    question = inbound(sms, [{"kind": "phone", "value": "+989121234567"}], address="+989121234567")
    with django_capture_on_commit_callbacks(execute=True):
        answer = reply(question.conversation, None, "On its way")
    body = json.dumps({"id": "prov-77", "status": "delivered"}).encode()
    response = APIClient().post(
        "/api/v1/providers/sms-http/delivery-reports",
        data=body,
        content_type="application/json",
        headers={"X-Omni-Signature": sign("s3", body)},
    )
    assert response.status_code == 202
    answer.refresh_from_db()
    assert answer.delivery_status == DeliveryStatus.DELIVERED and answer.delivered_at
