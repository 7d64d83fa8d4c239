"""Mixed-direction text in Persian pages, as the browser lays it out: a ticket number, an
English message, a phone number and an order number read the same as in English.

Chromium draws the inbox, a conversation and the customer's page in Persian (right to left);
the test measures where each character lands (a Range's box per character) and reads the
computed `direction` and `unicode-bidi`, and saves a screenshot of each page to
test-artifacts/ for a person to look at."""

import pytest

from core.factories import demo_channels
from customers.factories import customer_with
from support.factories import TeamFactory, TeamMembershipFactory
from support.services import InboundMessage, receive_inbound
from tests.e2e.conftest import ARTIFACTS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ENGLISH_QUESTION = "Can I exchange for another size?"
PERSIAN_WITH_CODE = "سلام، سفارش W-100001 را می‌خواهم با سایز ۳۹ عوض کنم"
PHONE = "+989121234567"

# The left edge of each character of `text` inside `element` (its first occurrence), in
# the order the characters are stored: a left-to-right run has growing edges.
CHARACTER_EDGES = """
(element, text) => {
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  const nodes = [];
  let whole = "";
  while (walker.nextNode()) { nodes.push([walker.currentNode, whole.length]); whole += walker.currentNode.data; }
  const start = whole.indexOf(text);
  if (start < 0) return null;
  const edges = [];
  for (let i = start; i < start + text.length; i++) {
    const [node, offset] = nodes.filter(([, at]) => at <= i).pop();
    const range = document.createRange();
    range.setStart(node, i - offset);
    range.setEnd(node, i - offset + 1);
    edges.push(range.getBoundingClientRect().left);
  }
  return edges;
}
"""
STYLE = "element => [getComputedStyle(element).direction, getComputedStyle(element).unicodeBidi]"


def edges_of(locator, text):
    edges = locator.evaluate(CHARACTER_EDGES, text)
    assert edges is not None, f"{text!r} is not in {locator.inner_text()!r}"
    return edges


def reads_left_to_right(edges):
    return all(left < right for left, right in zip(edges, edges[1:], strict=False))


def switch_to_persian(page):
    with page.expect_navigation():
        page.select_option("#language-select", "fa")
    assert page.get_attribute("html", "dir") == "rtl"


def test_ticket_numbers_messages_and_phones_read_right_in_persian(
    page, live_server, log_in, staff_in_role
):
    channels = {channel.code: channel for channel in demo_channels()}
    agent = staff_in_role("Support lead", username="maryam")
    team = TeamFactory(name="Online care", channel_kinds=["instagram", "sms"])
    TeamMembershipFactory(team=team, user=agent)
    customer = customer_with(
        ("instagram", "sara.rahimi"), ("phone", PHONE, True), first_name="Sara", last_name="Rahimi"
    )
    conversation = receive_inbound(
        InboundMessage(
            channel=channels["instagram"],
            identities=[{"kind": "instagram", "value": "sara.rahimi"}],
            text=ENGLISH_QUESTION,
            subject=ENGLISH_QUESTION,
            external_id="m_bidi_1",
            address="sara.rahimi",
        )
    ).message.conversation
    receive_inbound(
        InboundMessage(
            channel=channels["instagram"],
            identities=[{"kind": "instagram", "value": "sara.rahimi"}],
            text=PERSIAN_WITH_CODE,
            external_id="m_bidi_2",
            address="sara.rahimi",
        )
    )
    token = conversation.token  # [#C-208]
    ARTIFACTS.mkdir(exist_ok=True)

    log_in("maryam")
    switch_to_persian(page)
    page.goto(f"{live_server.url}/support/")
    row = page.locator(f"tr[data-conversation='{conversation.pk}']")
    ticket = row.locator("[data-token]")
    assert ticket.inner_text() == token
    assert ticket.evaluate(STYLE) == ["ltr", "isolate"]
    # "[", "#", "C", "-", digits and "]" from left to right: never "[C-208#]".
    assert reads_left_to_right(edges_of(ticket, token)), "the ticket number is reordered"
    # The English subject in the right-to-left row keeps its question mark at its end.
    subject = row.locator("bdi[dir=auto]")
    assert subject.evaluate(STYLE)[0] == "ltr"
    question = edges_of(subject, "size?")
    assert question[-1] > question[0], "the question mark jumped to the start"
    page.screenshot(path=str(ARTIFACTS / "bidi-inbox-fa.png"), full_page=True)

    page.goto(f"{live_server.url}/support/c/{conversation.pk}/")
    heading = page.locator("h1 [data-token]")
    assert reads_left_to_right(edges_of(heading, token))
    bodies = page.locator(".support-message .support-body")
    english = bodies.filter(has_text="another size")
    persian = bodies.filter(has_text="W-100001")
    # Each message takes the direction of its own first words, not the page's.
    assert english.evaluate(STYLE)[0] == "ltr" and persian.evaluate(STYLE)[0] == "rtl"
    english_edges = edges_of(english, ENGLISH_QUESTION)
    assert english_edges[-1] == max(english_edges), "'?Can I exchange…': the mark moved"
    assert reads_left_to_right(edges_of(persian, "W-100001"))
    # In the Persian sentence, the words before the order number stand to its right.
    assert edges_of(persian, "سفارش")[0] > edges_of(persian, "W-100001")[-1]
    panel_phone = page.locator("[data-customer-panel] bdi", has_text=PHONE)
    assert reads_left_to_right(edges_of(panel_phone, PHONE)), "the + of the phone moved"
    page.screenshot(path=str(ARTIFACTS / "bidi-conversation-fa.png"), full_page=True)

    page.goto(f"{live_server.url}/customers/{customer.public_id}/")
    phone = page.locator("[data-panel=identities] bdi", has_text=PHONE)
    assert phone.evaluate(STYLE) == ["ltr", "isolate"]
    assert reads_left_to_right(edges_of(phone, PHONE)), "the + of the phone number moved"
    name = page.locator("[data-testid=customer-name]")
    assert name.evaluate(STYLE)[0] == "ltr"  # her Latin name, in a right-to-left page
    listed = page.locator("[data-panel] [data-token]").first
    assert reads_left_to_right(edges_of(listed, token))
    # The timeline's "Subject" label is Persian, her subject English: "?" stays at its end.
    subject_detail = page.locator(".props bdi[dir=auto]", has_text="another size").first
    detail_edges = edges_of(subject_detail, ENGLISH_QUESTION)
    assert detail_edges[-1] == max(detail_edges), "'?Can I exchange…' in the timeline"
    page.screenshot(path=str(ARTIFACTS / "bidi-customer-fa.png"), full_page=True)
