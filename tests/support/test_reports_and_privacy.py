"""Reports (percentiles on PostgreSQL and in Python agree), privacy export/erase of message
bodies, and a customer merge carrying the conversations along."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.services import erase_customer, export_customer, resolve_customer
from support import reports
from support.factories import ConversationFactory, MessageFactory, TeamFactory
from support.models import Conversation, CsatResponse, Direction
from support.services import InboundMessage, receive_inbound, reply
from tests.support.test_inbound_webhooks import whatsapp_payload

pytestmark = pytest.mark.django_db


def test_python_percentile_matches_percentile_cont_definition():
    assert reports.python_percentile([10, 20, 30, 40], 0.5) == 25
    assert reports.python_percentile([10, 20, 30, 40], 0.9) == pytest.approx(37)
    assert reports.python_percentile([], 0.5) is None


def seeded(channels, staff_in_role):
    agent = staff_in_role("Support agent", username="maryam")
    team = TeamFactory(name="Online")
    now = timezone.now()
    for seconds, breached in ((60, False), (120, False), (300, True), (600, True)):
        conversation = ConversationFactory(
            team=team,
            assignee=agent,
            started_channel=channels["email"],
            created_at=now - timedelta(hours=1),
            first_response_due_at=now,
            first_response_seconds=seconds,
            first_response_breached=breached,
            status="resolved",
            resolved_at=now,
            resolution_seconds=seconds * 10,
        )
        MessageFactory(conversation=conversation, channel=channels["email"])
    CsatResponse.objects.create(conversation=conversation, rating=4, agent=agent, team=team)
    return agent


def test_report_figures(channels, staff_in_role):
    seeded(channels, staff_in_role)
    report = reports.support_report(days=7)
    overall = report["overall"]
    assert overall["conversations"] == 4 and overall["breached"] == 2
    assert overall["breach_rate"] == 0.5
    assert overall["frt_p50"] == pytest.approx(210)  # percentile_cont of 60,120,300,600
    assert overall["resolution_p90"] == pytest.approx(5100)
    assert overall["csat_average"] == 4
    assert [row["group"] for row in report["agents"]] == ["maryam"]
    assert report["teams"][0]["group"] == "Online"
    assert report["volume"]["kinds"] == ["email"] and report["volume"]["totals"] == [4]


@pytest.mark.postgres
def test_postgres_uses_percentile_cont(channels, staff_in_role):
    seeded(channels, staff_in_role)
    assert reports.is_postgres()
    assert reports.support_report(days=7)["engine"].startswith("PostgreSQL")


def test_export_and_erase_cover_message_bodies(channels):
    message = receive_inbound(
        InboundMessage(
            channel=channels["email"],
            identities=[{"kind": "email", "value": "sara@example.com"}],
            text="My address is 12 Vali-Asr Ave.",
            external_id="<p@m>",
            address="sara@example.com",
        )
    ).message
    customer = message.conversation.customer
    document = export_customer(customer)
    texts = [m["text"] for c in document["apps"]["support"] for m in c["messages"]]
    assert texts == ["My address is 12 Vali-Asr Ave."]
    erase_customer(customer)
    message.refresh_from_db()
    assert "Vali-Asr" not in message.text and message.address == ""


def test_customer_merge_moves_conversations(channels):
    visitor = receive_inbound(
        InboundMessage(
            channel=channels["web"],
            identities=[{"kind": "cookie", "value": "c-81f"}],
            text="Do you have size 38?",
            external_id="chat-1",
        )
    ).message.conversation
    known = resolve_customer([{"kind": "email", "value": "sara@example.com"}])
    assert visitor.customer != known
    # the visitor gives her email in the chat: the anonymous profile merges into hers
    later = receive_inbound(
        InboundMessage(
            channel=channels["web"],
            identities=[
                {"kind": "cookie", "value": "c-81f"},
                {"kind": "email", "value": "sara@example.com"},
            ],
            text="It's sara@example.com",
            external_id="chat-2",
        )
    ).message.conversation
    visitor.refresh_from_db()
    assert visitor.customer_id == known.pk
    assert later == visitor  # still one thread
    assert Conversation.objects.filter(customer=known).count() == 1
    assert visitor.messages.filter(direction=Direction.INBOUND).count() == 2


def test_whatsapp_status_updates_delivery(webhooks, channels, django_capture_on_commit_callbacks):
    webhooks.post("whatsapp", whatsapp_payload())
    conversation = Conversation.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        answer = reply(conversation, None, "Yes, in stock.")
    answer.refresh_from_db()
    status = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "statuses": [{"id": answer.provider_message_id, "status": "read", "timestamp": "1795420100",
                          "recipient_id": "989121112233"}],
        }}]}],
    }  # fmt: skip
    response = webhooks.post("whatsapp", status)
    assert response.status_code == 200 and response.json()["statuses"] == 1
    answer.refresh_from_db()
    assert answer.delivery_status == "read"
