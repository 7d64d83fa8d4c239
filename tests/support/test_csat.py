"""CSAT: a survey on the conversation's channel after resolution; the answer is stored."""

import pytest

from core.models import OutboxEvent
from support.models import ConversationStatus, CsatResponse, MessageKind
from support.services import InboundMessage, receive_inbound, set_status

pytestmark = pytest.mark.django_db


def telegram(channels, text, message_id):
    return receive_inbound(
        InboundMessage(
            channel=channels["telegram"],
            identities=[{"kind": "telegram", "value": "424242"}],
            text=text,
            external_id=f"424242:{message_id}",
            address="424242",
        )
    ).message


def test_survey_sent_on_resolution_and_answer_stored(channels, staff_in_role):
    question = telegram(channels, "Where is my order?", 1)
    conversation = question.conversation
    resolved = set_status(conversation, ConversationStatus.RESOLVED)
    survey = conversation.messages.get(kind=MessageKind.CSAT_SURVEY)
    assert survey.channel.kind == "telegram" and survey.address == "424242"
    assert resolved.resolved_at is not None
    assert OutboxEvent.objects.filter(topic="conversation_resolved").count() == 1
    answer = telegram(channels, "۵", 2)  # a Persian five
    assert answer.conversation == conversation
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.RESOLVED  # an answer does not reopen
    csat = CsatResponse.objects.get()
    assert (csat.conversation, csat.rating, csat.channel.kind) == (conversation, 5, "telegram")
    # a later real question opens a new conversation; a second digit is a plain message
    telegram(channels, "4", 3)
    assert CsatResponse.objects.count() == 1


def test_survey_not_sent_twice(channels):
    conversation = telegram(channels, "hi", 1).conversation
    set_status(conversation, ConversationStatus.RESOLVED)
    set_status(conversation, ConversationStatus.OPEN)
    set_status(conversation, ConversationStatus.RESOLVED)
    assert conversation.messages.filter(kind=MessageKind.CSAT_SURVEY).count() == 1
