"""The collision guard through the staff pages: a colleague typing shows as "is replying", and
a reply written on a conversation that changed since the form was opened is not sent until the
agent has seen what came in (or sends anyway). The API replies as before."""

import re

import pytest
from django.test import Client

from core.models import LiveEvent
from support import services
from support.models import Direction, Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(client, staff_in_role):
    user = staff_in_role("Support agent", username="maryam")
    user.first_name, user.last_name = "Maryam", "Karimi"
    user.save()
    client.force_login(user)
    return user


@pytest.fixture
def colleague(staff_in_role):
    user = staff_in_role("Support agent", username="reza")
    user.first_name, user.last_name = "Reza", "Tehrani"
    user.save()
    return user


def sms(webhooks, text, message_id):
    response = webhooks.post(
        "sms", {"id": message_id, "from": "+989121234567", "to": "+98100", "text": text}
    )
    assert response.status_code == 200, response.content
    return Message.objects.get(external_id=message_id)


def seen_id(page_html):
    return re.search(r'name="seen_last_message_id" value="(\d+)"', page_html).group(1)


def reply_form(conversation, seen, text, **extra):
    return {
        "mode": "reply",
        "channel": conversation.last_inbound_channel_id,
        "text": text,
        "seen_last_message_id": seen,
        **extra,
    }


def outbound():
    return Message.objects.filter(direction=Direction.OUTBOUND)


def test_a_reply_on_a_conversation_that_changed_is_refused_with_what_came_in(
    client, agent, webhooks
):
    conversation = sms(webhooks, "Where is my parcel?", "SM1").conversation
    seen = seen_id(client.get(f"/support/c/{conversation.pk}/").content.decode())
    sms(webhooks, "Never mind, I want to cancel the order", "SM2")

    response = client.post(
        f"/support/c/{conversation.pk}/reply",
        reply_form(conversation, seen, "It ships tomorrow."),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 409
    body = response.content.decode()
    assert "Not sent: the conversation changed since you opened it." in body
    warning = body[body.index("data-stale") :]
    assert "I want to cancel the order" in warning
    assert "Where is my parcel?" not in warning  # only what came after
    assert ">It ships tomorrow.</textarea>" in body  # the draft is kept
    assert 'data-action="send-anyway"' in body
    assert not outbound().exists()
    # The refused form now carries the newest message: sent as it is, it goes.
    fresh = seen_id(body)
    response = client.post(
        f"/support/c/{conversation.pk}/reply", reply_form(conversation, fresh, "Cancelled.")
    )
    assert response.status_code == 302
    assert outbound().get().text == "Cancelled."


def test_send_anyway_sends_the_reply(client, agent, webhooks):
    conversation = sms(webhooks, "Where is my parcel?", "SM1").conversation
    seen = seen_id(client.get(f"/support/c/{conversation.pk}/").content.decode())
    sms(webhooks, "Hello?", "SM2")
    response = client.post(
        f"/support/c/{conversation.pk}/reply",
        reply_form(conversation, seen, "It ships tomorrow.", send_anyway="1"),
    )
    assert response.status_code == 302
    assert outbound().get().text == "It ships tomorrow."


def test_a_colleagues_reply_refuses_mine_but_my_own_messages_do_not(
    client, agent, colleague, webhooks
):
    conversation = sms(webhooks, "Where is my parcel?", "SM1").conversation
    seen = seen_id(client.get(f"/support/c/{conversation.pk}/").content.decode())
    services.add_note(conversation, agent, "checking with the warehouse")
    assert (
        client.post(
            f"/support/c/{conversation.pk}/reply", reply_form(conversation, seen, "On its way.")
        ).status_code
        == 302
    )
    services.reply(conversation, colleague, "It left today.")
    response = client.post(
        f"/support/c/{conversation.pk}/reply", reply_form(conversation, seen, "Tomorrow.")
    )
    assert response.status_code == 409  # a whole page without htmx
    assert "It left today." in response.content.decode()
    assert "Reza Tehrani" in response.content.decode()
    assert list(outbound().values_list("text", flat=True)) == ["On its way.", "It left today."]


def test_a_note_is_never_held_back_and_a_bad_version_is_named(client, agent, webhooks):
    conversation = sms(webhooks, "Where is my parcel?", "SM1").conversation
    seen = seen_id(client.get(f"/support/c/{conversation.pk}/").content.decode())
    sms(webhooks, "Hello?", "SM2")
    note = reply_form(conversation, seen, "customer is impatient", mode="note")
    assert client.post(f"/support/c/{conversation.pk}/reply", note).status_code == 302
    assert Message.objects.filter(direction=Direction.NOTE).count() == 1
    response = client.post(
        f"/support/c/{conversation.pk}/reply",
        reply_form(conversation, "abc", "x"),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "seen_last_message_id" in response.content.decode()
    assert not outbound().exists()


def test_the_api_replies_as_before(api_client_for, webhooks):
    conversation = sms(webhooks, "Where is my parcel?", "SM1").conversation
    sms(webhooks, "Hello?", "SM2")
    api = api_client_for("support:write")
    response = api.post(
        f"/api/v1/support/conversations/{conversation.pk}/reply",
        {"text": "It ships tomorrow."},
        format="json",
    )
    assert response.status_code in (200, 201), response.content
    assert outbound().get().text == "It ships tomorrow."


def test_a_colleague_typing_is_shown_as_replying_until_they_stop_or_send(
    client, agent, colleague, webhooks
):
    conversation = sms(webhooks, "Where is my parcel?", "SM1").conversation
    typing_url = f"/support/c/{conversation.pk}/typing"
    other = Client()
    other.force_login(colleague)
    assert client.get(typing_url).content.decode().strip() == ""
    events_before = LiveEvent.objects.filter(kind="typing").count()

    assert other.post(typing_url, {"state": "typing"}).status_code == 200
    other.post(typing_url, {"state": "typing"})  # the next heartbeat: no new event
    assert LiveEvent.objects.filter(kind="typing").count() == events_before + 1
    shown = client.get(typing_url).content.decode()
    assert "Reza Tehrani" in shown and "is replying" in shown
    assert "Reza" not in other.get(typing_url).content.decode()  # not to herself

    other.post(typing_url, {"state": "stopped"})
    assert client.get(typing_url).content.decode().strip() == ""
    assert LiveEvent.objects.filter(kind="typing").count() == events_before + 2

    other.post(typing_url, {"state": "typing"})
    seen = seen_id(other.get(f"/support/c/{conversation.pk}/").content.decode())
    other.post(f"/support/c/{conversation.pk}/reply", reply_form(conversation, seen, "On it."))
    assert client.get(typing_url).content.decode().strip() == ""


def test_typing_needs_the_right_to_answer_and_a_known_state(client, agent, staff_in_role, webhooks):
    conversation = sms(webhooks, "Where is my parcel?", "SM1").conversation
    typing_url = f"/support/c/{conversation.pk}/typing"
    response = client.post(typing_url, {"state": "dancing"})
    assert response.status_code == 400 and b"state" in response.content
    client.force_login(staff_in_role("Marketer"))
    assert client.post(typing_url, {"state": "typing"}).status_code == 403
    assert client.get(typing_url).status_code == 403
    assert client.post("/support/c/999999/typing", {"state": "typing"}).status_code in (403, 404)


def test_the_conversation_page_is_three_panes_and_marks_sending(client, agent, webhooks):
    conversation = sms(webhooks, "Where is my parcel?", "SM1").conversation
    other = sms(webhooks, "Another question", "SM9").conversation
    client.get("/support/", {"status": "all"})  # the list the pane repeats
    page = client.get(f"/support/c/{conversation.pk}/").content.decode()
    assert page.index("data-inbox-pane") < page.index('id="conversation-body"')
    assert page.index('id="conversation-body"') < page.index("data-customer-panel")
    assert f'data-conversation="{conversation.pk}" class="current' in page
    assert 'hx-disabled-elt="find button[type=submit]"' in page
    assert "htmx-indicator" in page
    pane = client.get("/support/pane", {"current": other.pk}).content.decode()
    assert f'data-conversation="{other.pk}" class="current' in pane
    body = client.get(f"/support/c/{conversation.pk}/", headers={"HX-Request": "true"})
    assert body.content.decode().startswith("{% load") is False
    assert "data-inbox-pane" not in body.content.decode()
    assert 'id="conversation-body"' in body.content.decode()
