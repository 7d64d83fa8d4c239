"""Canned replies and the CSAT survey fill plain {name} placeholders only: attribute access,
indexing and format specs (`{first_name.__class__}`, `{0}`, `{first_name!r}`) are never
evaluated, a value is never read again for placeholders, the admin refuses a reply with an
unknown placeholder by name, and the survey goes out as its fixed sentence."""

import pytest

from customers.factories import customer_with
from support.factories import CannedReplyFactory
from support.models import CannedReply, ConversationStatus, MessageKind
from support.services import InboundMessage, receive_inbound, set_status

pytestmark = pytest.mark.django_db

REACHING = (
    "{first_name.__class__.__init__.__globals__} {agent_name.__class__.__mro__} "
    "{conversation.__class__} {customer_name[0]} {0} {first_name!r} {last_name:>20}"
)


@pytest.fixture
def agent(client, staff_in_role):
    user = staff_in_role("Support agent", username="maryam")
    client.force_login(user)
    return user


def conversation_of(channels, **names):
    customer_with(("telegram", "424242"), **names)
    return receive_inbound(
        InboundMessage(
            channel=channels["telegram"],
            identities=[{"kind": "telegram", "value": "424242"}],
            text="Where is my order?",
            external_id="424242:1",
            address="424242",
        )
    ).message.conversation


def test_a_canned_reply_fills_plain_names_and_nothing_else_on_the_inbox_page(
    client, agent, channels
):
    CannedReplyFactory(title="Probe", shortcut="probe", body="Hi {first_name}! " + REACHING)
    conversation = conversation_of(channels, first_name="Sara", last_name="Rahimi")
    page = client.get(f"/support/c/{conversation.pk}/").content.decode()
    assert "Hi Sara! " in page
    assert "{first_name.__class__.__init__.__globals__}" in page  # left as written
    for leaked in ("class &#x27;str&#x27;", "&lt;class", "__builtins__", "Sara                "):
        assert leaked not in page


def test_a_value_is_never_read_again_for_placeholders(client, agent, channels):
    CannedReplyFactory(title="Hello", shortcut="hello", body="Hello {first_name}, {agent_name}")
    conversation = conversation_of(channels, first_name="{agent_name}{conversation.__class__}")
    page = client.get(f"/support/c/{conversation.pk}/").content.decode()
    assert f"Hello {{agent_name}}{{conversation.__class__}}, {agent.get_full_name()}" in page


def test_the_admin_refuses_an_unknown_placeholder_by_name(admin_client):
    url = "/admin/support/cannedreply/add/"
    refused = admin_client.post(
        url, {"title": "Probe", "shortcut": "probe", "body": "Hi {first_name.__class__}"}
    )
    assert refused.status_code == 200
    assert "Unknown placeholder: {first_name.__class__}" in refused.content.decode()
    assert not CannedReply.objects.exists()
    saved = admin_client.post(
        url, {"title": "Hello", "shortcut": "hello", "body": "Hi {first_name}, {agent_name}"}
    )
    assert saved.status_code == 302 and CannedReply.objects.get().shortcut == "hello"


def test_the_csat_survey_is_its_fixed_sentence_whatever_the_customer_is_called(channels):
    conversation = conversation_of(
        channels, first_name="{{ customer.conversations.all }}", last_name="{first_name.__class__}"
    )
    set_status(conversation, ConversationStatus.RESOLVED)
    survey = conversation.messages.get(kind=MessageKind.CSAT_SURVEY)
    assert survey.text == (
        "Thank you for contacting us. How satisfied are you with our help? "
        "Reply with a number from 1 (not at all) to 5 (very)."
    )
