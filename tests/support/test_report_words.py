"""The support reports speak in words a lead reads: durations in hours and minutes, channel
names, no database function names."""

import pytest
from django.utils import translation

from core.templatetags.durations import duration
from support.models import Conversation
from tests.support.test_inbox_pages import sara_on_instagram

pytestmark = pytest.mark.django_db


def test_reports_show_durations_and_channel_names(client, staff_in_role, channels):
    conversation = sara_on_instagram(channels)
    Conversation.objects.filter(pk=conversation.pk).update(first_response_seconds=18517)
    client.force_login(staff_in_role("Support lead"))
    html = client.get("/support/reports/").content.decode()
    assert "5 h 8 min" in html
    assert "18517" not in html
    assert "percentile_cont" not in html and "p50" not in html
    assert '<span class="channel-icon channel-instagram"></span>Instagram</th>' in html


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "0 s"),
        (45, "45 s"),
        (725, "12 min 5 s"),
        (7200, "2 h"),
        (18517, "5 h 8 min"),
        (3 * 86400 + 4 * 3600 + 59, "3 d 4 h"),
        (None, "—"),
        ("soon", "—"),
    ],
)
def test_duration_words(seconds, words):
    with translation.override("en"):
        assert duration(seconds) == words
