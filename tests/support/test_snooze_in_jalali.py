"""An agent working in Persian snoozes a conversation until a Jalali date and time typed in
Persian digits (the conversation page's input is Jalali in fa, the browser's otherwise)."""

import datetime as dt

import pytest

from support.models import ConversationStatus
from tests.support.test_inbox_pages import agent, sara_on_instagram  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def test_snooze_until_a_jalali_moment_in_persian(client, agent, channels):  # noqa: F811
    conversation = sara_on_instagram(channels)
    page = client.get(f"/support/c/{conversation.pk}/", HTTP_ACCEPT_LANGUAGE="fa")
    html = page.content.decode()
    assert 'name="snoozed_until"' in html and "data-jalali-date" in html
    client.post(
        f"/support/c/{conversation.pk}/status",
        {"status": "snoozed", "snoozed_until": "۱۴۰۶/۰۱/۰۱ ۰۹:۳۰"},
        HTTP_ACCEPT_LANGUAGE="fa",
    )
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.SNOOZED
    assert conversation.snoozed_until == dt.datetime(2027, 3, 21, 9, 30, tzinfo=dt.UTC)
    english = client.get(f"/support/c/{conversation.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert 'type="datetime-local" name="snoozed_until"' in english.content.decode()
