"""A support lead working in Persian sees that the texter in a conversation is Sara, who has
an email profile, and makes them one profile from the inbox's customer panel."""

import pytest

from core.factories import demo_channels
from customers.factories import customer_with
from support.models import Conversation
from support.services import InboundMessage, receive_inbound

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_lead_merges_the_texter_into_her_email_profile_from_the_inbox_in_persian(
    page, live_server, log_in, staff_in_role
):
    channels = {channel.code: channel for channel in demo_channels()}
    staff_in_role("Support lead", username="leila")
    sara = customer_with(("email", "sara@example.com", True), first_name="Sara")
    conversation = receive_inbound(
        InboundMessage(
            channel=channels["sms"],
            identities=[{"kind": "phone", "value": "+989121234567"}],
            text="سفارشم ارسال شد؟",
            external_id="sms-e2e-1",
            address="+989121234567",
        )
    ).message.conversation

    log_in("leila")
    with page.expect_navigation():
        page.select_option("#language-select", "fa")
    page.goto(f"{live_server.url}/support/c/{conversation.pk}/")
    assert page.get_attribute("html", "lang") == "fa"
    page.click("details.support-duplicate summary")
    form = page.locator("[data-customer-panel] [data-testid=merge-duplicate]")
    form.locator("input[name=duplicate]").fill("Sara@Example.com")
    form.locator("button[type=submit]").click()

    page.wait_for_selector(".messages")
    assert "یک نمایه" in page.inner_text(".messages")  # "... are now one profile"
    panel = page.inner_text("[data-customer-panel]")
    assert "sara@example.com" in panel and "+989121234567" in panel
    assert Conversation.objects.get(pk=conversation.pk).customer_id == sara.pk
