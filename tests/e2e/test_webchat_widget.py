"""A visitor chats through the widget on a shop page; an agent finds her message in the inbox,
answers, and the answer appears in the visitor's chat window (polled, no reload)."""

import pytest
from playwright.sync_api import expect

from support.models import Direction, Message
from tests.support.conftest import make_channel

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_visitor_writes_in_the_widget_and_reads_the_agents_reply(
    browser, page, live_server, log_in, staff_in_role
):
    make_channel("webchat", "web", "", identity_secret="shop-identity")
    staff_in_role("Support agent", username="maryam")

    shop = browser.new_context(locale="fa-IR").new_page()
    shop.goto(f"{live_server.url}/support/widget/demo")
    launcher = shop.locator(".omni-chat-launcher")
    expect(launcher).to_be_visible(timeout=10_000)
    expect(shop.locator("[data-omni-chat]")).to_have_attribute("dir", "rtl")
    launcher.click()
    shop.fill(".omni-chat-text", "Is the green scarf back in stock?")
    shop.click(".omni-chat-send")
    expect(shop.locator(".omni-chat-visitor")).to_contain_text("green scarf", timeout=10_000)
    message = Message.objects.get(direction=Direction.INBOUND, channel__code="webchat")
    conversation = message.conversation

    log_in("maryam")
    page.goto(f"{live_server.url}/support/?view=unassigned")
    row = page.locator(f"tr[data-conversation='{conversation.pk}']")
    expect(row).to_be_visible()
    row.locator("a").first.click()
    expect(page.locator(".support-message.direction-inbound")).to_contain_text("green scarf")
    page.fill("#composer-text", "Yes, it came back this morning.")
    page.click("[data-action=send]")
    expect(page.locator(".support-message.direction-outbound")).to_contain_text("this morning")

    expect(shop.locator(".omni-chat-agent")).to_contain_text("came back", timeout=10_000)
    shop.context.close()
