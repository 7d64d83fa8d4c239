"""The inbox in Persian counts in Persian digits (#17): its counters (mine, unassigned,
breaching), the number of conversations and the page it is on."""

from datetime import timedelta

import pytest
from django.utils import timezone

from support.factories import ConversationFactory
from support.views import PAGE_SIZE
from tests.core.test_every_page_translated import problems_of, readable_texts
from tests.support.test_inbox_pages import agent  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def test_inbox_counters_and_pager_are_in_persian_digits(client, agent, channels):  # noqa: F811
    overdue = timezone.now() - timedelta(minutes=5)
    for index in range(PAGE_SIZE + 1):
        ConversationFactory(
            started_channel=channels["email"], sla_due_at=overdue if index < 12 else None
        )
    ConversationFactory(started_channel=channels["sms"], assignee=agent)
    html = client.get("/support/", HTTP_ACCEPT_LANGUAGE="fa").content.decode()
    texts = readable_texts(html)
    assert [p for p in problems_of(texts, "fa", set(), set()) if "digit" in p] == []
    shown = " ".join(texts)
    assert "۵۱" in shown and "۱۲" in shown  # unassigned, breaching
    assert "۱ از ۲" in shown  # "Page 1 of 2"
