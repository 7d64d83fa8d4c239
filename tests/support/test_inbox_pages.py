"""The agent inbox pages through the test client: list, filters, conversation, actions."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.factories import customer_with
from support.factories import (
    CannedReplyFactory,
    ConversationFactory,
    MessageFactory,
    TeamFactory,
    TeamMembershipFactory,
)
from support.models import ConversationStatus, Direction, Message
from support.services import InboundMessage, receive_inbound
from tests.query_counts import assert_queries_do_not_grow

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(client, staff_in_role):
    user = staff_in_role("Support agent", username="maryam")
    client.force_login(user)
    return user


def sara_on_instagram(channels):
    customer_with(
        ("email", "sara@example.com"),
        ("instagram", "17841400000000001"),
        first_name="Sara",
        last_name="Rahimi",
    )
    return receive_inbound(
        InboundMessage(
            channel=channels["instagram"],
            identities=[{"kind": "instagram", "value": "17841400000000001"}],
            text="The sole of my new shoe came off.",
            external_id="m_1",
            address="17841400000000001",
        )
    ).message.conversation


def test_inbox_lists_breaching_first_with_bounded_queries(client, agent, channels):
    now = timezone.now()
    later = ConversationFactory(
        subject="Later", sla_due_at=now + timedelta(hours=5), started_channel=channels["sms"]
    )
    overdue = ConversationFactory(
        subject="Overdue", sla_due_at=now - timedelta(minutes=5), started_channel=channels["email"]
    )

    def add_conversations(n):
        for index in range(n):
            ConversationFactory(started_channel=channels["email" if index % 2 else "sms"])

    def inbox():
        assert client.get("/support/").status_code == 200

    assert_queries_do_not_grow(add_conversations, inbox, at_most=14)
    response = client.get("/support/")
    body = response.content.decode()
    assert body.index("Overdue") < body.index("Later")
    assert 'class="channel-icon channel-sms"' in body
    breaching = client.get("/support/", {"breaching": "on"}).content.decode()
    assert "Overdue" in breaching and "Later" not in breaching
    assert later.pk and overdue.pk


def test_filters_and_search(client, agent, channels):
    team = TeamFactory(name="Shoes")
    sara = sara_on_instagram(channels)
    ConversationFactory(
        subject="Assigned-to-me case", assignee=agent, team=team, started_channel=channels["email"]
    )
    assert "Assigned-to-me case" in client.get("/support/", {"view": "mine"}).content.decode()
    assert (
        "Assigned-to-me case"
        not in client.get("/support/", {"view": "unassigned"}).content.decode()
    )
    found = client.get("/support/", {"q": "Rahimi"}).content.decode()
    assert sara.token in found and "Assigned-to-me case" not in found
    by_channel = client.get("/support/", {"channel": "instagram"}).content.decode()
    assert sara.token in by_channel and "Assigned-to-me case" not in by_channel
    partial = client.get("/support/", {"team": team.pk}, headers={"HX-Request": "true"})
    assert partial.content.decode().startswith('<div id="inbox-list">')
    assert client.get("/support/", {"priority": "banana"}).status_code == 200


def test_conversation_page_shows_messages_channels_and_customer(client, agent, channels):
    conversation = sara_on_instagram(channels)
    receive_inbound(
        InboundMessage(
            channel=channels["email"],
            identities=[{"kind": "email", "value": "sara@example.com"}],
            text="Here is the photo.",
            external_id="<photo@mail>",
        )
    )

    def add_messages(n):
        for _ in range(n):
            MessageFactory(conversation=conversation, channel=channels["email"], author=agent)

    def conversation_page():
        assert client.get(f"/support/c/{conversation.pk}/").status_code == 200

    assert_queries_do_not_grow(add_messages, conversation_page, at_most=30)
    response = client.get(f"/support/c/{conversation.pk}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "channel-icon channel-instagram" in body and "channel-icon channel-email" in body
    assert "Here is the photo." in body and "The sole of my new shoe came off." in body
    assert "sara@example.com" in body  # customer panel identities
    assert "message_received" in body  # recent timeline


def test_canned_reply_is_filled_and_reply_goes_out_on_instagram(
    client, agent, channels, django_capture_on_commit_callbacks
):
    CannedReplyFactory(
        title="Defect", body="Dear {first_name}, sorry about the {order_number} pair."
    )
    conversation = sara_on_instagram(channels)
    conversation.related_order_number = "W-1001"
    conversation.save()
    page = client.get(f"/support/c/{conversation.pk}/").content.decode()
    assert "Dear Sara, sorry about the W-1001 pair." in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/support/c/{conversation.pk}/reply",
            {
                "mode": "reply",
                "text": "Dear Sara, a new pair is on its way.",
                "channel": channels["instagram"].pk,
            },
            headers={"HX-Request": "true"},
        )
    assert response.status_code == 200
    assert "a new pair is on its way" in response.content.decode()
    sent = Message.objects.get(direction=Direction.OUTBOUND)
    assert sent.channel == channels["instagram"] and sent.delivery_status == "sent"
    assert sent.author == agent


def test_assign_me_note_resolve(client, agent, channels):
    conversation = sara_on_instagram(channels)
    client.post(f"/support/c/{conversation.pk}/assign-me")
    conversation.refresh_from_db()
    assert conversation.assignee == agent
    client.post(f"/support/c/{conversation.pk}/reply", {"mode": "note", "text": "checking stock"})
    assert conversation.messages.filter(direction=Direction.NOTE).count() == 1
    client.post(f"/support/c/{conversation.pk}/status", {"status": "resolved"})
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.RESOLVED


def test_domain_error_shows_on_page_not_500(client, agent, channels):
    conversation = sara_on_instagram(channels)
    response = client.post(
        f"/support/c/{conversation.pk}/merge", {"other": "999999"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    assert "No conversation with that number." in response.content.decode()


def test_log_a_store_visit_on_the_conversation(client, agent, channels):
    conversation = sara_on_instagram(channels)
    client.post(
        f"/support/c/{conversation.pk}/log",
        {"channel": channels["store"].pk, "text": "Came in to exchange the colour"},
    )
    visit = conversation.messages.get(channel=channels["store"])
    assert visit.kind == "visit" and visit.author == agent


def test_other_roles_cannot_open_the_inbox(client, staff_in_role):
    client.force_login(staff_in_role("Merchandiser"))
    assert client.get("/support/").status_code == 403


def test_reports_page(client, agent, channels):
    conversation = sara_on_instagram(channels)
    MessageFactory(
        conversation=conversation, direction=Direction.INBOUND, channel=channels["instagram"]
    )
    response = client.get("/support/reports/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-report="volume-by-day"' in body and "instagram" in body


def test_home_dashboard_panel(client, agent, channels):
    sara_on_instagram(channels)
    TeamMembershipFactory()
    body = client.get("/").content.decode()
    assert 'data-panel="support.inbox"' in body
    assert 'href="/support/"' in body


def test_a_lead_makes_the_texter_and_her_email_profile_one_from_the_conversation(
    client, staff_in_role, channels
):
    sara = customer_with(("email", "sara@example.com"), first_name="Sara")
    conversation = receive_inbound(
        InboundMessage(
            channel=channels["sms"],
            identities=[{"kind": "phone", "value": "+989121234567"}],
            text="Has my order shipped?",
            external_id="sms-1",
            address="+989121234567",
        )
    ).message.conversation
    texter = conversation.customer
    assert texter.pk != sara.pk  # nothing joined the number to her email
    client.force_login(staff_in_role("Support lead"))
    here = f"/support/c/{conversation.pk}/"
    assert 'data-testid="merge-duplicate"' in client.get(here).content.decode()

    merge_url = reverse("customers:merge-duplicate", args=[texter.public_id])
    response = client.post(merge_url, {"duplicate": "Sara@Example.com", "next": here})

    assert response.status_code == 302 and response["Location"] == here
    conversation.refresh_from_db()
    assert conversation.customer_id == sara.pk  # the older known profile survives
    page = client.get(here).content.decode()
    assert "sara@example.com" in page and "+989121234567" in page
    # `next` never leads off the site.
    customer_with(("email", "other@example.com"))
    away = client.post(
        reverse("customers:merge-duplicate", args=[sara.public_id]),
        {"duplicate": "other@example.com", "next": "https://elsewhere.example/"},
    )
    assert away["Location"] == reverse("customers:detail", args=[sara.public_id])


def test_a_resolved_conversations_header_has_no_dangling_separator(client, agent, channels):
    conversation = sara_on_instagram(channels)
    client.post(f"/support/c/{conversation.pk}/status", {"status": "resolved"})
    conversation.refresh_from_db()
    type(conversation).objects.filter(pk=conversation.pk).update(
        first_response_breached=True, sla_due_at=None, sla_paused_at=None
    )
    html = client.get(f"/support/c/{conversation.pk}/").content.decode()
    hint = html.split('data-sla="breached"')[0].rsplit('<p class="hint">', 1)[1]
    assert "·" not in hint
