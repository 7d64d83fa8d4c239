"""The agent sees how each reply went, as chat apps show it: a clock while queued, one tick
sent, two delivered, two coloured read, a red mark with the provider's text and code when it
failed; the words are there for screen readers, in the page's language."""

import pytest
from django.test import Client
from django.utils import timezone

from core.roles import SUPPORT_AGENT
from support.factories import ConversationFactory, MessageFactory

pytestmark = pytest.mark.django_db

STATES = ["queued", "sent", "delivered", "read", "failed"]


@pytest.fixture
def page(staff_in_role):
    conversation = ConversationFactory()
    MessageFactory(conversation=conversation)
    now = timezone.now()
    for status in STATES:
        MessageFactory(
            conversation=conversation,
            direction="outbound",
            text=f"reply {status}",
            delivery_status=status,
            sent_at=now if status in ("sent", "delivered", "read") else None,
            delivered_at=now if status in ("delivered", "read") else None,
            read_at=now if status == "read" else None,
            last_error="Re-engagement message: more than 24 hours have passed"
            if status == "failed"
            else "",
            error_code="131047" if status == "failed" else "",
        )
    client = Client()
    client.force_login(staff_in_role(SUPPORT_AGENT))

    def get(language="en"):
        return client.get(
            f"/support/c/{conversation.pk}/", HTTP_ACCEPT_LANGUAGE=language
        ).content.decode()

    return get


def test_each_reply_shows_its_tick_with_words_for_screen_readers(page):
    html = page()
    for status in STATES:
        assert f'data-delivery="{status}"' in html
    queued, sent, delivered, read = (
        html.split(f'data-delivery="{s}"', 1)[1].split("</svg>", 1)[0]
        for s in ("queued", "sent", "delivered", "read")
    )
    assert "<circle" in queued  # the clock
    assert sent.count("<path") == 1  # one tick
    assert delivered.count("<path") == 2 and read.count("<path") == 2  # two ticks
    assert 'title="Read"' in html and 'class="visually-hidden">Delivered<' in html
    failed = html.split('data-delivery="failed"', 1)[1].split("</li>", 1)[0]
    assert "131047" in failed and "more than 24 hours" in failed
    assert 'class="delivery-label">Failed<' in failed


def test_the_ticks_speak_persian_in_a_right_to_left_page(page):
    html = page("fa")
    assert 'dir="rtl"' in html
    assert 'title="Sent"' not in html and 'data-delivery="sent"' in html
    assert '<bdi dir="ltr" class="code" data-error-code>131047</bdi>' in html
