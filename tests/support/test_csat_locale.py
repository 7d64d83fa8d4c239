"""A CSAT survey to a Persian customer asks for a number in Persian digits (#17 item 6); her
answer is read in any digits (test_csat)."""

import pytest

from support.models import ConversationStatus, MessageKind
from support.services import InboundMessage, receive_inbound, set_status

pytestmark = pytest.mark.django_db


def test_csat_survey_to_a_persian_customer_uses_persian_digits(channels):
    question = receive_inbound(
        InboundMessage(
            channel=channels["telegram"],
            identities=[{"kind": "telegram", "value": "424242"}],
            text="سلام",
            external_id="424242:1",
            address="424242",
        )
    ).message
    conversation = question.conversation
    customer = conversation.customer
    customer.locale = "fa"
    customer.save(update_fields=["locale"])
    set_status(conversation, ConversationStatus.RESOLVED)
    survey = conversation.messages.get(kind=MessageKind.CSAT_SURVEY)
    assert "۱" in survey.text and "۵" in survey.text
    assert "1" not in survey.text and "5" not in survey.text
