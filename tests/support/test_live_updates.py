"""Live updates of the inbox: every change is an event in core.LiveEvent, written with the
change, and the staff pages' event stream (support:events) delivers it; a reconnecting page
gets exactly what it missed; only staff who may view conversations hear of them; waking works
in memory (embedded mode) and through Redis pub/sub (several processes)."""

import asyncio
import json
import threading
from datetime import timedelta

import pytest
import redis
from asgiref.sync import async_to_sync
from django.db import DatabaseError, transaction
from django.test import AsyncClient
from django.utils import timezone

from core import live
from core.models import LiveEvent
from core.services import shared_cache
from support import services
from support.models import Conversation, ConversationStatus, Direction, Message

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _short_streams(settings):
    # Each stream reads what is there and ends, so a test reading it ends too.
    settings.LIVE_EVENTS_STREAM_SECONDS = 0
    settings.LIVE_EVENTS_REDIS_URL = ""
    # A test's changes never commit (its transaction rolls back), so nothing wakes the
    # process's shared read of the table: read it on every read instead.
    settings.LIVE_EVENTS_POLL_SECONDS = 0
    live.recent.clear()  # rolled-back tests before this one may have used the same ids
    yield
    live.stop_subscriber()


@pytest.fixture
def agent(client, staff_in_role):
    user = staff_in_role("Support agent", username="maryam")
    client.force_login(user)
    return user


def sms(webhooks, text, message_id, sender="+989121234567"):
    response = webhooks.post(
        "sms", {"id": message_id, "from": sender, "to": "+98100", "text": text}
    )
    assert response.status_code == 200, response.content
    return Message.objects.get(external_id=message_id)


def read_stream(client, path="/support/events", **headers):
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/event-stream"
    assert response["Cache-Control"] == "no-cache"
    return parse(b"".join(response.streaming_content).decode())


def parse(text):
    """[{id, event, data}] of a server-sent events body; comments and retry skipped."""
    events = []
    for block in text.split("\n\n"):
        fields = {}
        for line in block.splitlines():
            if line.startswith(":") or ":" not in line:
                continue
            name, value = line.split(":", 1)
            fields[name] = value.strip()
        if "event" in fields:
            events.append(
                {
                    "id": int(fields["id"]),
                    "event": fields["event"],
                    "data": json.loads(fields["data"]),
                }
            )
    return events


def test_an_inbound_message_is_streamed_as_ids_without_personal_data(client, agent, webhooks):
    message = sms(webhooks, "Where is my parcel? My address is 12 Vali-Asr", "SM1")
    body = client.get("/support/events?after=0")
    text = b"".join(body.streaming_content).decode()
    assert text.startswith("retry: ")
    events = parse(text)
    assert [(e["event"], e["data"]) for e in events] == [
        (
            "message_received",
            {"conversation": message.conversation_id, "message": message.pk},
        )
    ]
    assert "parcel" not in text and "Vali-Asr" not in text and "+98912" not in text


def test_every_change_an_agent_sees_is_an_event(client, agent, webhooks, staff_in_role):
    colleague = staff_in_role("Support agent", username="reza")
    message = sms(webhooks, "Where is my parcel?", "SM1")
    conversation = message.conversation
    services.assign(conversation, colleague, by=agent)
    services.reply(conversation, colleague, "It left the warehouse today.")
    services.add_note(conversation, colleague, "tracking sent")
    services.set_priority(conversation, 3)
    services.set_status(conversation, ConversationStatus.PENDING, by=colleague)
    kinds = [e["event"] for e in read_stream(client)]
    assert kinds == [
        "message_received",
        "assigned",
        "message_sent",
        "note_added",
        "priority_changed",
        "status_changed",
    ]


def test_an_sla_breach_is_an_event(client, agent, webhooks, settings):
    message = sms(webhooks, "Hello?", "SM1")
    Conversation.objects.filter(pk=message.conversation_id).update(
        first_response_due_at=timezone.now() - timedelta(minutes=1)
    )
    assert services.detect_breaches() == 1
    assert read_stream(client)[-1]["event"] == "sla_breached"


def test_a_resumed_stream_gets_exactly_the_events_it_missed(client, agent, webhooks):
    first = sms(webhooks, "one", "SM1")
    seen = read_stream(client)
    assert len(seen) == 1
    services.reply(first.conversation, agent, "answer")
    second = sms(webhooks, "two", "SM2")
    other = sms(webhooks, "another customer", "SM3", sender="+989351112233")

    missed = read_stream(client, **{"Last-Event-ID": str(seen[-1]["id"])})
    assert [(e["event"], e["data"].get("message")) for e in missed] == [
        ("message_sent", Message.objects.get(direction=Direction.OUTBOUND).pk),
        ("message_received", second.pk),
        ("message_received", other.pk),
    ]
    # The header wins over the page's ?after= (the page's first connection).
    assert (
        read_stream(client, "/support/events?after=0", **{"Last-Event-ID": str(missed[-1]["id"])})
        == []
    )
    assert [e["id"] for e in read_stream(client, f"/support/events?after={missed[0]['id']}")] == [
        e["id"] for e in missed[1:]
    ]


def test_a_conversation_page_may_listen_to_its_conversation_only(client, agent, webhooks):
    mine = sms(webhooks, "one", "SM1")
    sms(webhooks, "another customer", "SM2", sender="+989351112233")
    events = read_stream(client, f"/support/events?conversation={mine.conversation_id}")
    assert [e["data"]["conversation"] for e in events] == [mine.conversation_id]
    response = client.get("/support/events?conversation=abc")
    assert response.status_code == 400
    assert b"conversation" in response.content


def test_only_staff_who_may_view_conversations_hear_of_them(client, staff_in_role, webhooks):
    sms(webhooks, "one", "SM1")
    client.force_login(staff_in_role("Marketer"))
    assert client.get("/support/events").status_code == 403
    client.logout()
    response = client.get("/support/events")
    assert response.status_code == 302 and "login" in response["Location"]
    client.force_login(staff_in_role("Support lead"))
    assert len(read_stream(client)) == 1


def test_a_failed_event_never_fails_the_change(webhooks, monkeypatch):
    def broken(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(LiveEvent.objects, "create", broken)
    message = sms(webhooks, "Where is my parcel?", "SM1")
    assert message.conversation.messages.count() == 1
    assert not LiveEvent.objects.exists()


def test_an_event_of_a_rolled_back_change_is_never_seen(client, agent, webhooks):
    message = sms(webhooks, "one", "SM1")
    with pytest.raises(RuntimeError), transaction.atomic():
        services.add_note(message.conversation, agent, "never happened")
        raise RuntimeError
    assert [e["event"] for e in read_stream(client)] == ["message_received"]


def test_pages_start_listening_where_they_were_rendered(client, agent, webhooks):
    message = sms(webhooks, "one", "SM1")
    after = live.latest_id()
    inbox = client.get("/support/").content.decode()
    assert f'data-live-events="/support/events?after={after}"' in inbox
    assert "support/live.js" in inbox
    page = client.get(f"/support/c/{message.conversation_id}/").content.decode()
    assert f'data-live-events="/support/events?after={after}"' in page


def test_a_commit_wakes_a_waiting_stream_in_the_same_process(
    agent, webhooks, django_capture_on_commit_callbacks
):
    """Embedded mode: no Redis, the waiting stream is woken in memory when the change commits
    (not when it is written)."""
    seen = live.hub.version
    woken = []
    waiter = threading.Thread(target=lambda: woken.append(live.hub.wait(seen, 30)))
    with django_capture_on_commit_callbacks(execute=True):
        sms(webhooks, "one", "SM1")
        assert live.hub.version == seen  # written, not committed: nobody woken yet
        waiter.start()
    waiter.join(timeout=30)
    assert woken == [True]


@pytest.mark.django_db(transaction=True)
def test_a_stream_over_asgi_is_served_asynchronously(agent, webhooks):
    """Under uvicorn the stream is an async iterator (a sync one would be buffered whole)."""
    message = sms(webhooks, "one", "SM1")

    async def read():
        client = AsyncClient()
        await client.aforce_login(agent)
        response = await client.get("/support/events?after=0")
        assert response.status_code == 200
        assert response.is_async
        return b"".join([chunk async for chunk in response.streaming_content]).decode()

    text = async_to_sync(read)()
    assert asyncio  # the async path ran in its own loop
    assert [e["data"]["message"] for e in parse(text)] == [message.pk]


@pytest.mark.worker
def test_redis_wakes_the_streams_of_every_process(settings, redis_url):
    """With Redis, a change committed by another process (a worker, another web process)
    reaches this process's streams through pub/sub."""
    settings.LIVE_EVENTS_REDIS_URL = redis_url
    thread = live.subscriber()
    assert thread.connected.wait(10)
    seen = live.hub.version
    # What another process's announce() sends:
    redis.Redis.from_url(redis_url).publish(live.REDIS_CHANNEL, "12345")
    assert live.hub.wait(seen, 10)
    assert live.wait_timeout() == settings.LIVE_EVENTS_HEARTBEAT_SECONDS


def test_a_dead_redis_degrades_to_polling_and_never_fails_a_change(
    settings, client, agent, webhooks, django_capture_on_commit_callbacks
):
    settings.LIVE_EVENTS_REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens there
    before = shared_cache.fallbacks["live events"]
    with django_capture_on_commit_callbacks(execute=True):
        message = sms(webhooks, "one", "SM1")
    assert shared_cache.fallbacks["live events"] > before
    assert live.wait_timeout() == settings.LIVE_EVENTS_POLL_SECONDS
    assert [e["data"]["message"] for e in read_stream(client)] == [message.pk]


def test_old_events_are_pruned(webhooks):
    sms(webhooks, "one", "SM1")
    LiveEvent.objects.update(created_at=timezone.now() - timedelta(days=2))
    sms(webhooks, "two", "SM2")
    assert live.prune() == 1
    assert LiveEvent.objects.count() == 1
