"""The shop's chat widget through its doors: the script, the demo page and the visitor's
endpoints (start, send, read replies), their limits and what a visitor may not read."""

import uuid

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from support.adapters import identifier_hash
from support.models import Conversation, DeliveryStatus, Direction, Message
from support.services import reply
from tests.support.conftest import make_channel

pytestmark = pytest.mark.django_db
IDENTITY_SECRET = "shop-identity-secret"


@pytest.fixture
def chat(db):
    cache.clear()
    return make_channel("webchat", "web", "", identity_secret=IDENTITY_SECRET)


@pytest.fixture
def visitor():
    return APIClient()


def start(client, **body):
    return client.post("/api/v1/webchat/session", body, format="json")


def send(client, session, text, **extra):
    body = {
        "visitor_id": session["visitor_id"],
        "visitor_token": session["visitor_token"],
        "id": extra.pop("id", uuid.uuid4().hex[:12]),
        "text": text,
        **extra,
    }
    return client.post("/api/v1/webchat/messages", body, format="json")


def replies(client, session, after=0):
    return client.get(
        "/api/v1/webchat/messages",
        {"after": after},
        headers={
            "X-Visitor-Id": session["visitor_id"],
            "X-Visitor-Token": session["visitor_token"],
        },
    )


def test_visitor_starts_writes_and_reads_the_agents_reply(chat, visitor, staff_in_role):
    started = start(visitor, lang="fa")
    assert started.status_code == 200, started.content
    session = started.json()
    assert session["dir"] == "rtl" and session["messages"] == []
    assert session["strings"]["send"] and session["poll_seconds"] == 2
    assert started["Access-Control-Allow-Origin"] == "*"

    sent = send(visitor, session, "Do you ship to Tabriz?", email="guest@example.com")
    assert sent.status_code == 201, sent.content
    again = send(visitor, session, "Do you ship to Tabriz?", id="same-id")
    assert send(visitor, session, "Do you ship to Tabriz?", id="same-id").json() == again.json()
    message = Message.objects.get(pk=sent.json()["id"])
    assert message.channel == chat and message.direction == Direction.INBOUND
    assert {"kind": "email", "value": "guest@example.com"} in message.claimed_identities

    agent = staff_in_role("Support agent")
    answer = reply(message.conversation, agent, "Yes, in two days.")
    assert answer.channel == chat and answer.delivery_status == DeliveryStatus.SENT
    read = replies(visitor, session, after=again.json()["id"])
    assert read.status_code == 200
    assert [(m["sender"], m["text"]) for m in read.json()["messages"]] == [
        ("agent", "Yes, in two days.")
    ]
    resumed = start(
        visitor, visitor_id=session["visitor_id"], visitor_token=session["visitor_token"]
    ).json()
    assert resumed["visitor_id"] == session["visitor_id"] and len(resumed["messages"]) == 3


def test_another_visitors_token_reads_nothing(chat, visitor):
    sara = start(visitor).json()
    assert send(visitor, sara, "My order number is W-1001").status_code == 201
    other = start(APIClient()).json()
    forged = {"visitor_id": sara["visitor_id"], "visitor_token": other["visitor_token"]}
    stolen = replies(APIClient(), forged)
    assert stolen.status_code == 403 and "visitor_token" in stolen.json()["error"]["fields"]
    assert send(APIClient(), forged, "hi").status_code == 403
    resumed = start(APIClient(), **forged)
    assert resumed.status_code == 403
    assert replies(APIClient(), other).json()["messages"] == []
    malformed = replies(APIClient(), {"visitor_id": "x", "visitor_token": "y"})
    assert malformed.status_code == 400 and "visitor_id" in malformed.json()["error"]["fields"]


def test_signed_in_customer_lands_on_her_profile_and_a_forged_hash_is_refused(chat, visitor):
    session = start(visitor).json()
    good = identifier_hash(IDENTITY_SECRET, "sara@example.com")
    forged = start(visitor, identifier="sara@example.com", identifier_hash="0" * 64)
    assert forged.status_code == 401 and "identifier_hash" in forged.json()["error"]["fields"]
    refused = send(visitor, session, "hi", identifier="sara@example.com", identifier_hash="0" * 64)
    assert refused.status_code == 401 and "identifier_hash" in refused.json()["error"]["fields"]
    assert start(visitor, identifier="sara@example.com", identifier_hash=good).status_code == 200
    sent = send(visitor, session, "hi", identifier="sara@example.com", identifier_hash=good)
    assert sent.status_code == 201
    customer = Message.objects.get(pk=sent.json()["id"]).conversation.customer
    assert customer.identities.filter(kind="email", value="sara@example.com").exists()


def test_rate_limit_answers_429_with_retry_after(chat, visitor, settings):
    settings.WEBCHAT_SEND_RATE = "2/min"
    session, other = start(visitor).json(), start(APIClient()).json()
    assert send(visitor, session, "one").status_code == 201
    assert send(visitor, session, "two").status_code == 201
    limited = send(visitor, session, "three")
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert "retry_after" in limited.json()["error"]
    # another visitor is not held back by this one
    assert send(APIClient(), other, "hello").status_code == 201


def test_attachments_and_bad_input_are_refused_naming_the_field(chat, visitor):
    session = start(visitor).json()
    with_file = send(visitor, session, "see photo", attachments=[{"url": "https://x/a.jpg"}])
    assert with_file.status_code == 400 and "attachments" in with_file.json()["error"]["fields"]
    empty = send(visitor, session, "")
    assert empty.status_code == 400 and "text" in empty.json()["error"]["fields"]
    bad_after = visitor.get(
        "/api/v1/webchat/messages?after=abc",
        headers={
            "X-Visitor-Id": session["visitor_id"],
            "X-Visitor-Token": session["visitor_token"],
        },
    )
    assert bad_after.status_code == 400 and "after" in bad_after.json()["error"]["fields"]
    assert start(visitor, lang="xx").status_code == 400
    assert not Conversation.objects.exists()


def test_business_hours_say_whether_anyone_is_online(chat, visitor):
    chat.provider_settings = {
        **chat.provider_settings,
        "hours": {day: ["00:00", "00:01"] for day in ("mon", "tue", "wed", "thu", "fri")},
        "timezone": "Asia/Tehran",
    }
    chat.save()
    assert start(visitor).json()["online"] is False
    chat.provider_settings["hours"] = {
        day: [["00:00", "23:59"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    }
    chat.save()
    assert start(visitor).json()["online"] is True


def test_script_and_demo_page(chat, client):
    script = client.get("/support/widget/chat.js")
    assert script.status_code == 200 and script["Content-Type"].startswith("text/javascript")
    assert "max-age" in script["Cache-Control"] and script["Access-Control-Allow-Origin"] == "*"
    assert len(script.content) < 16_000
    assert client.get("/support/widget/chat.css").status_code == 200
    demo = client.get("/support/widget/demo")
    assert demo.status_code == 200
    assert 'src="/support/widget/chat.js" data-channel="webchat"' in demo.content.decode()
