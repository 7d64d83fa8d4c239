"""A support agent answers Sara's Instagram defect report from the inbox with a canned reply,
sees it appear without a page reload, and has the customer in view."""

import pytest

from core.factories import demo_channels
from customers.factories import customer_with
from support.factories import CannedReplyFactory, TeamFactory, TeamMembershipFactory
from support.models import Direction, Message
from support.services import InboundMessage, receive_inbound

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_agent_answers_instagram_defect_with_canned_reply(page, live_server, log_in, staff_in_role):
    channels = {channel.code: channel for channel in demo_channels()}
    agent = staff_in_role("Support agent", username="maryam")
    team = TeamFactory(
        name="Online care", channel_kinds=["instagram", "email"], assignment_strategy="manual"
    )
    TeamMembershipFactory(team=team, user=agent)
    CannedReplyFactory(
        title="Defect: replacement",
        body="Dear {first_name}, a courier will bring a new pair for order {order_number}.",
    )
    customer_with(
        ("email", "sara@example.com", True),
        ("instagram", "sara.rahimi"),
        first_name="Sara",
        last_name="Rahimi",
    )
    conversation = receive_inbound(
        InboundMessage(
            channel=channels["instagram"],
            identities=[{"kind": "instagram", "value": "sara.rahimi"}],
            text="The sole of my new black shoes came off after a week.",
            external_id="m_e2e_1",
            address="sara.rahimi",
        )
    ).message.conversation
    conversation.related_order_number = "W-100001"
    conversation.save()

    log_in("maryam")
    page.click("[data-nav=support]")
    page.click("a[href='?view=unassigned']")
    row = page.locator(f"tr[data-conversation='{conversation.pk}']")
    assert "Sara Rahimi" in row.inner_text()
    assert row.locator(".channel-icon.channel-instagram").count() == 1
    row.locator("a").first.click()
    page.wait_for_selector("[data-customer-panel]")

    panel = page.locator("[data-customer-panel]")
    assert "Sara Rahimi" in panel.inner_text()
    assert "sara@example.com" in panel.inner_text()
    assert "W-100001" in panel.inner_text()
    assert page.locator(".support-message .channel-icon.channel-instagram").count() == 1

    assert page.locator("[data-assignee='']").count() == 1
    page.locator("body").press("a")  # keyboard: "a" assigns to me
    page.wait_for_selector("[data-assignee='maryam']")

    page.select_option("[data-canned]", label="Defect: replacement")
    text = page.input_value("#composer-text")
    assert text == "Dear Sara, a courier will bring a new pair for order W-100001."
    assert page.locator("#composer-channel option:checked").inner_text() == "Instagram shop"
    url_before = page.url
    page.click("[data-action=send]")
    page.wait_for_selector(".support-message.direction-outbound")
    outbound = page.locator(".support-message.direction-outbound")
    assert "a courier will bring a new pair" in outbound.inner_text()
    assert outbound.locator(".channel-icon.channel-instagram").count() == 1
    assert page.url == url_before  # htmx swapped the thread in place

    page.locator("body").press("e")  # keyboard: "e" resolves
    page.wait_for_selector("[data-status='resolved']")
    sent = Message.objects.get(direction=Direction.OUTBOUND, kind="message")
    assert sent.author == agent and sent.channel.kind == "instagram"
