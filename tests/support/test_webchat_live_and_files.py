"""The chat widget's live stream and files: a visitor's widget hears of an agent's reply on
her thread (and of nothing else), a reconnect behind hears at once; a visitor sends a photo or
a PDF, checked by its bytes and size, kept privately, shown to staff who may read
conversations (sandboxed) and to nobody else, sent once on a retry, and gone on erasure."""

import io
import json
import uuid

import pytest
from django.core.cache import cache
from django.core.files.storage import storages
from rest_framework.test import APIClient

from core import live
from customers.services import erase_customer
from support.models import Direction, Message
from support.services import reply
from tests.support.conftest import make_channel
from tests.support.test_webchat_widget import IDENTITY_SECRET, start

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"0" * 64


@pytest.fixture(autouse=True)
def _private_files_and_short_streams(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private")},
        },
    }
    storages._storages.pop("attachments", None)
    settings.LIVE_EVENTS_STREAM_SECONDS = 0
    settings.LIVE_EVENTS_REDIS_URL = ""
    settings.LIVE_EVENTS_POLL_SECONDS = 0
    live.recent.clear()
    yield
    storages._storages.pop("attachments", None)


@pytest.fixture
def chat(db):
    cache.clear()
    return make_channel("webchat", "web", "", identity_secret=IDENTITY_SECRET)


def new_session():
    visitor = APIClient()
    return visitor, start(visitor).json()


def post(visitor, session, text="", *, upload=None, message_id=None):
    body = {
        "visitor_id": session["visitor_id"],
        "visitor_token": session["visitor_token"],
        "id": message_id or uuid.uuid4().hex[:12],
        "text": text,
    }
    if upload is None:
        return visitor.post("/api/v1/webchat/messages", body, format="json")
    name, data = upload
    body["file"] = io.BytesIO(data)
    body["file"].name = name
    return visitor.post("/api/v1/webchat/messages", body, format="multipart")


def stream(visitor, session, after_message=0):
    response = visitor.get(
        "/api/v1/webchat/events",
        {"after_message": after_message},
        headers={
            "X-Visitor-Id": session["visitor_id"],
            "X-Visitor-Token": session["visitor_token"],
            "Accept": "text/event-stream",
        },
    )
    return response


def events_in(response):
    body = b"".join(response.streaming_content).decode()
    return [line for line in body.splitlines() if line.startswith("event:")]


def test_the_widget_hears_of_a_reply_on_her_thread_and_of_nothing_else(chat, staff_in_role):
    visitor, session = new_session()
    other, other_session = new_session()
    mine = Message.objects.get(pk=post(visitor, session, "Is the scarf back?").json()["id"])
    theirs = Message.objects.get(pk=post(other, other_session, "Hello?").json()["id"])
    agent = staff_in_role("Support agent")

    # Up to date: nothing to hear until something happens.
    listening = stream(visitor, session, after_message=mine.pk)
    assert listening.status_code == 200
    assert listening["Content-Type"] == "text/event-stream"
    assert listening["Access-Control-Allow-Origin"] == "*"
    reply(theirs.conversation, agent, "Hello to you")  # another visitor's thread
    assert events_in(listening) == []

    listening = stream(visitor, session, after_message=mine.pk)
    answer = reply(mine.conversation, agent, "Yes, since this morning.")
    assert events_in(listening) == ["event: message"]
    # What the event tells her to fetch is the reply, and only hers.
    fetched = visitor.get(
        "/api/v1/webchat/messages",
        {"after": mine.pk},
        headers={
            "X-Visitor-Id": session["visitor_id"],
            "X-Visitor-Token": session["visitor_token"],
        },
    ).json()["messages"]
    assert [m["id"] for m in fetched] == [answer.pk]

    # Back after a drop, behind by that reply: told at once, nothing missed.
    assert events_in(stream(visitor, session, after_message=mine.pk)) == ["event: message"]
    assert events_in(stream(visitor, session, after_message=answer.pk)) == []


def test_a_stream_with_a_wrong_token_is_refused_in_the_error_format(chat):
    visitor, session = new_session()
    session["visitor_token"] = "0" * 64
    refused = stream(visitor, session)
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/json"
    assert "visitor_token" in json.loads(refused.content)["error"]["fields"]
    as_sse = visitor.get(
        "/api/v1/webchat/events?format=sse",
        headers={"X-Visitor-Id": session["visitor_id"], "X-Visitor-Token": "0" * 64},
    )
    assert as_sse.status_code == 403 and as_sse["Content-Type"] == "application/json"
    malformed = APIClient().get(
        "/api/v1/webchat/events?after_message=x",
        headers={"X-Visitor-Id": "v" + "a" * 30, "X-Visitor-Token": "x"},
    )
    assert malformed.status_code in (400, 403)


def test_a_photo_is_checked_by_its_bytes_kept_once_and_shown_only_to_staff(
    chat, staff_in_role, client
):
    visitor, session = new_session()
    sent = post(visitor, session, "", upload=("receipt.exe", PNG), message_id="photo-1")
    assert sent.status_code == 201, sent.content
    assert sent.json()["attachments"] == [{"filename": "receipt.png", "content_type": "image/png"}]
    again = post(visitor, session, "", upload=("receipt.exe", PNG), message_id="photo-1")
    assert again.status_code == 200 and again.json()["id"] == sent.json()["id"]
    message = Message.objects.get(pk=sent.json()["id"])
    assert message.direction == Direction.INBOUND
    stored = message.attachments[0]["stored"]
    storage = storages["attachments"]
    assert storage.exists(stored)
    folder = stored.rsplit("/", 1)[0]
    assert storage.listdir(folder)[1] == ["receipt.png"]  # the retry stored nothing more

    url = f"/support/messages/{message.pk}/files/0"
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(staff_in_role("Marketer"))
    assert client.get(url).status_code == 403
    client.force_login(staff_in_role("Support agent"))
    shown = client.get(url)
    assert shown.status_code == 200 and shown["Content-Type"] == "image/png"
    assert b"".join(shown.streaming_content) == PNG
    assert "sandbox" in shown["Content-Security-Policy"]
    assert shown["X-Content-Type-Options"] == "nosniff"
    assert client.get(f"/support/messages/{message.pk}/files/1").status_code == 404

    page = client.get(f"/support/c/{message.conversation_id}/")
    assert page.status_code == 200
    assert url.encode() in page.content and b"receipt.png" in page.content

    pdf = post(visitor, session, "my invoice", upload=("invoice.pdf", PDF))
    assert pdf.status_code == 201
    document = client.get(f"/support/messages/{pdf.json()['id']}/files/0")
    assert document["Content-Type"] == "application/pdf"
    assert document["Content-Disposition"].startswith("attachment")


def test_files_that_are_not_photos_or_pdfs_or_too_large_are_refused_naming_the_field(
    chat, settings
):
    visitor, session = new_session()
    script = post(visitor, session, "", upload=("cat.png", b"<script>alert(1)</script>"))
    assert script.status_code == 400 and "file" in script.json()["error"]["fields"]
    settings.WEBCHAT_ATTACHMENT_MAX_BYTES = 32
    big = post(visitor, session, "", upload=("big.png", PNG))
    assert big.status_code == 400 and "file" in big.json()["error"]["fields"]
    empty = post(visitor, session, "   ")
    assert empty.status_code == 400 and "text" in empty.json()["error"]["fields"]
    nul = post(visitor, session, "a\x00b", upload=("a.pdf", PDF))
    assert nul.status_code == 400 and "text" in nul.json()["error"]["fields"]
    assert not Message.objects.exists()


def test_erasing_the_visitor_deletes_her_files_once_it_commits(
    chat, django_capture_on_commit_callbacks
):
    visitor, session = new_session()
    sent = post(visitor, session, "", upload=("me.png", PNG))
    message = Message.objects.get(pk=sent.json()["id"])
    stored = message.attachments[0]["stored"]
    with django_capture_on_commit_callbacks(execute=False) as pending:
        erase_customer(message.conversation.customer)
    assert storages["attachments"].exists(stored)  # not before the erasure commits
    for callback in pending:
        callback()
    assert not storages["attachments"].exists(stored)
    message.refresh_from_db()
    assert message.attachments == []
