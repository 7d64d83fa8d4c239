"""The conversations API: scopes, filters, reply, assign, status, logged calls."""

import pytest

from support.factories import (
    ConversationFactory,
    MessageFactory,
    TeamFactory,
    TeamMembershipFactory,
)
from support.models import ConversationStatus, Direction, MessageKind
from support.services import InboundMessage, receive_inbound
from tests.query_counts import assert_queries_do_not_grow

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversations(channels):
    made = []
    for i in range(6):
        conversation = ConversationFactory(started_channel=channels["email" if i % 2 else "sms"])
        MessageFactory(conversation=conversation, address=f"c{i}@example.com")
        made.append(conversation)
    return made


def test_list_needs_support_read(api_client_for, conversations):
    assert api_client_for("catalog:read").get("/api/v1/support/conversations").status_code == 403
    response = api_client_for("support:read").get("/api/v1/support/conversations")
    assert response.status_code == 200
    assert response.json()["count"] == 6


def test_list_filters_and_query_count(api_client_for, conversations, channels):
    client = api_client_for("support:read")

    def add_conversations(n):  # each with a message, on sms, the channel asked for
        for _ in range(n):
            conversation = ConversationFactory(started_channel=channels["sms"])
            MessageFactory(conversation=conversation, address="more@example.com")

    def sms_list():
        response = client.get("/api/v1/support/conversations", {"channel": "sms"})
        assert response.status_code == 200

    assert_queries_do_not_grow(add_conversations, sms_list, at_most=8)
    response = client.get("/api/v1/support/conversations", {"channel": "sms"})
    assert response.status_code == 200
    assert {c["started_channel"] for c in response.json()["results"]} == {"sms"}
    bad = client.get("/api/v1/support/conversations", {"status": "lost"})
    assert bad.status_code == 400 and "status" in bad.json()["error"]["fields"]
    unknown = client.get("/api/v1/support/conversations", {"colour": "red"})
    assert unknown.status_code == 400 and "colour" in unknown.json()["error"]["fields"]


def test_read_reply_and_status(api_client_for, channels):
    message = receive_inbound(
        InboundMessage(
            channel=channels["sms"],
            identities=[{"kind": "phone", "value": "+989121234567"}],
            text="Is it in stock?",
            external_id="SM1",
            address="+989121234567",
        )
    ).message
    conversation = message.conversation
    reader = api_client_for("support:read")
    detail = reader.get(f"/api/v1/support/conversations/{conversation.pk}")
    assert detail.status_code == 200 and detail.json()["messages"][0]["text"] == "Is it in stock?"
    assert (
        reader.post(
            f"/api/v1/support/conversations/{conversation.pk}/reply", {"text": "x"}, format="json"
        ).status_code
        == 403
    )
    writer = api_client_for("support:write")
    url = f"/api/v1/support/conversations/{conversation.pk}/reply"
    headers = {"Idempotency-Key": "reply-1"}
    first = writer.post(url, {"text": "Yes, size 38 is in stock."}, format="json", headers=headers)
    again = writer.post(url, {"text": "Yes, size 38 is in stock."}, format="json", headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["channel"] == "sms" and first.json()["direction"] == "outbound"
    assert conversation.messages.filter(direction=Direction.OUTBOUND).count() == 1
    bad = writer.post(url, {"text": "hi", "channel": "nowhere"}, format="json")
    assert bad.status_code == 404 and bad.json()["error"]["fields"]["channel"]
    status = writer.post(
        f"/api/v1/support/conversations/{conversation.pk}/status",
        {"status": "pending", "priority": 3},
        format="json",
    )
    assert status.status_code == 200
    assert status.json()["status"] == "pending" and status.json()["priority"] == 3
    messages = reader.get(f"/api/v1/support/conversations/{conversation.pk}/messages")
    assert messages.json()["count"] == 2


@pytest.mark.parametrize("status", ["pending", "snoozed", "open"])
def test_a_resolved_conversation_moved_back_is_reopened_into_that_status(
    api_client_for, channels, status
):
    conversation = MessageFactory(
        conversation=ConversationFactory(started_channel=channels["sms"])
    ).conversation
    writer = api_client_for("support:write")
    url = f"/api/v1/support/conversations/{conversation.pk}/status"
    assert writer.post(url, {"status": "resolved"}, format="json").status_code == 200
    body = {"status": status}
    if status == "snoozed":
        body["snoozed_until"] = "2030-01-01T09:00:00Z"
    moved = writer.post(url, body, format="json")
    assert moved.status_code == 200, moved.json()
    assert moved.json()["status"] == status
    conversation.refresh_from_db()
    assert (conversation.status, conversation.resolved_at) == (status, None)


def test_assign_and_note(api_client_for, channels, staff_in_role):
    agent = staff_in_role("Support agent", username="maryam")
    team = TeamFactory()
    TeamMembershipFactory(team=team, user=agent)
    conversation = ConversationFactory(team=team, started_channel=channels["email"])
    writer = api_client_for("support:write")
    url = f"/api/v1/support/conversations/{conversation.pk}/assign"
    assert writer.post(url, {"assignee": "maryam"}, format="json").json()["assignee"] == "maryam"
    unknown = writer.post(url, {"assignee": "ghost"}, format="json")
    assert unknown.status_code == 400 and "assignee" in unknown.json()["error"]["fields"]
    note = writer.post(
        f"/api/v1/support/conversations/{conversation.pk}/notes",
        {"text": "@maryam please call her"},
        format="json",
    )
    assert note.status_code == 201 and note.json()["direction"] == "note"


def test_log_a_phone_call(api_client_for, channels):
    writer = api_client_for("support:write")
    response = writer.post(
        "/api/v1/support/contacts",
        {
            "channel": "phone",
            "text": "Called to add a second colour to order W-1001.",
            "identities": [{"kind": "phone", "value": "09121234567"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == MessageKind.CALL and response.json()["channel"] == "phone"
    wrong = writer.post(
        "/api/v1/support/contacts",
        {"channel": "email", "text": "x", "identities": []},
        format="json",
    )
    assert wrong.status_code == 400 and "channel" in wrong.json()["error"]["fields"]


def test_staff_session_uses_permissions(client, staff_in_role, conversations):
    agent = staff_in_role("Support agent")
    client.force_login(agent)
    assert client.get("/api/v1/support/conversations").status_code == 200
    mine = client.get("/api/v1/support/conversations", {"view": "mine", "status": "all"})
    assert mine.json()["count"] == 0
    assert ConversationStatus.OPEN == "open"
