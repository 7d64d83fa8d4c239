"""One conversation per customer, even after a merge: customer merges fold her open threads
into the oldest; staff and the API merge two conversations of one customer."""

from io import StringIO

import pytest
from django.core.management import call_command

from customers.factories import CustomerFactory
from support.factories import ConversationFactory, MessageFactory
from support.models import Conversation, ConversationStatus, Message
from support.services.conversations import merge_conversations
from tests.support.test_inbound_webhooks import meta_messaging

pytestmark = pytest.mark.django_db


def test_call_then_unknown_instagram_dm_then_alias_leaves_one_conversation(
    api_client_for, webhooks, channels
):
    writer = api_client_for("support:write")
    call = writer.post(
        "/api/v1/support/contacts",
        {
            "channel": "phone",
            "text": "Asked whether the blue scarf comes back in stock.",
            "identities": [{"kind": "phone", "value": "09121234567"}],
        },
        format="json",
    )
    assert call.status_code == 201, call.content
    dm = webhooks.post(
        "instagram", meta_messaging("instagram", sender="1784140000777", text="Any news?")
    )
    assert dm.status_code == 200, dm.content
    assert Conversation.objects.filter(status=ConversationStatus.OPEN).count() == 2
    phone_thread = Message.objects.get(channel=channels["phone"]).conversation

    alias = api_client_for("customers:write").post(
        "/api/v1/alias",
        {
            "identity": {"kind": "phone", "value": "09121234567"},
            "alias": {"kind": "instagram", "value": "1784140000777"},
        },
        format="json",
    )
    assert alias.status_code == 200, alias.content

    open_ones = Conversation.objects.filter(
        status__in=[ConversationStatus.OPEN], merged_into__isnull=True
    )
    assert list(open_ones) == [phone_thread]  # the older survives
    kept = {m.channel.kind for m in phone_thread.messages.select_related("channel")}
    assert kept == {"phone", "instagram"}
    closed = Conversation.objects.get(merged_into=phone_thread)
    assert closed.status == ConversationStatus.CLOSED and not closed.messages.exists()
    assert str(phone_thread.customer.public_id) == alias.json()["customer"]["id"]
    reader = api_client_for("support:read")
    listed = reader.get("/api/v1/support/conversations").json()
    assert [c["id"] for c in listed["results"]] == [phone_thread.pk]


def _two_of_one_customer(channels):
    customer = CustomerFactory()
    older = ConversationFactory(customer=customer, started_channel=channels["email"])
    newer = ConversationFactory(customer=customer, started_channel=channels["sms"])
    MessageFactory(conversation=older, channel=channels["email"], address="a@example.com")
    MessageFactory(conversation=newer, channel=channels["sms"], address="+989121234567")
    return older, newer


def test_api_merge_is_idempotent_and_names_the_field(api_client_for, channels):
    older, newer = _two_of_one_customer(channels)
    writer = api_client_for("support:write")
    url = f"/api/v1/support/conversations/{older.pk}/merge"
    first = writer.post(url, {"conversation": newer.pk}, format="json")
    assert first.status_code == 200, first.content
    again = writer.post(url, {"conversation": newer.pk}, format="json")
    assert again.status_code == 200 and again.json() == first.json()
    assert older.messages.count() == 2
    newer.refresh_from_db()
    assert newer.merged_into_id == older.pk and newer.status == ConversationStatus.CLOSED

    stranger = ConversationFactory(started_channel=channels["email"])
    other = writer.post(url, {"conversation": stranger.pk}, format="json")
    assert other.status_code == 409 and "conversation" in other.json()["error"]["fields"]
    backwards = writer.post(
        f"/api/v1/support/conversations/{newer.pk}/merge", {"conversation": older.pk}, format="json"
    )
    assert backwards.status_code == 409 and "id" in backwards.json()["error"]["fields"]
    bad = writer.post(url, {"conversation": "C-1"}, format="json")
    assert bad.status_code == 400 and "conversation" in bad.json()["error"]["fields"]
    missing = writer.post(url, {"conversation": 999999}, format="json")
    assert missing.status_code == 409 and "conversation" in missing.json()["error"]["fields"]
    reader = api_client_for("support:read")
    assert reader.post(url, {"conversation": newer.pk}, format="json").status_code == 403


def test_staff_merge_button_lists_her_other_open_threads(client, staff_in_role, channels):
    older, newer = _two_of_one_customer(channels)
    client.force_login(staff_in_role("Support agent"))
    page = client.get(f"/support/c/{older.pk}/")
    assert page.status_code == 200
    assert f'name="other" value="{newer.pk}"' in page.content.decode()
    merged = client.post(f"/support/c/{older.pk}/merge", {"other": str(newer.pk)})
    assert merged.status_code == 302
    newer.refresh_from_db()
    assert newer.merged_into_id == older.pk
    follow = client.get(f"/support/c/{newer.pk}/")
    assert follow.status_code == 302 and follow["Location"].endswith(f"/support/c/{older.pk}/")
    page = client.get(f"/support/c/{older.pk}/")
    assert 'data-testid="mergeable"' not in page.content.decode()


def test_merge_keeps_the_earliest_sla_and_both_channels(channels):
    older, newer = _two_of_one_customer(channels)
    older.channels_used, newer.channels_used = ["email"], ["sms"]
    older.save()
    newer.save()
    target = merge_conversations(older, newer)
    assert set(target.channels_used) == {"email", "sms"}
    assert target.is_active and not Conversation.objects.get(pk=newer.pk).is_active
    assert merge_conversations(older, newer).pk == older.pk  # a retry


def test_demo_data_shows_a_merged_conversation_and_a_web_chat(client, staff_in_role):
    call_command(
        "seed_demo", "--seed", "5", "--only", "core.", "--only", "customers.",
        "--only", "support.", stdout=StringIO(),
    )  # fmt: skip
    merged = Conversation.objects.get(merged_conversations__isnull=False)
    assert {m.channel.kind for m in merged.messages.select_related("channel")} >= {
        "phone",
        "instagram",
    }
    chat = Message.objects.get(external_id="widget:demo-visitor-0001:1").conversation
    assert chat.messages.filter(direction="outbound", channel__kind="web").exists()
    client.force_login(staff_in_role("Support agent"))
    closed = Conversation.objects.get(merged_into=merged)
    assert client.get(f"/support/c/{closed.pk}/").status_code == 302
    assert client.get(f"/support/c/{merged.pk}/").status_code == 200
    assert client.get(f"/support/c/{chat.pk}/").status_code == 200
    assert client.get("/support/widget/demo").status_code == 200
