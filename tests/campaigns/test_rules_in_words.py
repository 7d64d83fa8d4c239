"""Segment rules in words are whole sentences in the reader's language: kinds, events and
channels by their labels (never "has a email" or `order_completed`), and the segment pages
show them in the staff member's language."""

import pytest
from django.conf import settings
from django.utils import translation

from campaigns.models import Segment
from campaigns.segment_words import describe

pytestmark = pytest.mark.django_db

RULES = {
    "all": [
        {"identity": "email", "verified": True},
        {"event": "cart_abandoned", "channels": ["online"], "within_days": 1},
        {"not": {"event": "order_completed", "within_days": 1}},
        {"orders": {"only_in": ["store"], "min_count": 2, "last_purchase_before_days": 90}},
        {"consent": "sms", "purpose": "marketing"},
    ]
}


@pytest.fixture(autouse=True)
def _back_to_english():
    """The test client's requests leave the language they switched to active in this thread:
    the next test must start in English."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


def test_rules_read_as_english_sentences():
    with translation.override("en"):
        words = describe(RULES)
    assert words == (
        "(has a verified identity: Email and did “Cart abandoned” in online (web shop or app)"
        " within 1 day and did not “Order completed” within 1 day and orders: no purchase in"
        " the last 90 days, at least 2 orders, bought only in Store and consents to"
        " marketing messages by SMS)"
    )
    assert describe({}) == "everyone"


def test_rules_read_in_persian_without_a_machine_word():
    with translation.override("fa"):
        words = describe(RULES)
    assert "شناسهٔ تأییدشده دارد: ایمیل" in words  # "has a verified identity: Email"
    assert "«سبد رها شد» داشته" in words  # did "Cart abandoned"
    assert "فقط در فروشگاه حضوری خرید کرده" in words  # bought only in Store
    for english in ("has", "did", "email", "cart_abandoned", "order_completed", "within", "and"):
        assert english not in words.lower(), english


def test_the_segment_list_shows_the_rules_in_the_staff_language(client, staff_in_role):
    Segment.objects.create(
        name="Email owners",
        rules={"identity": "email"},
        compiled_description=describe({"identity": "email"}),
    )
    client.force_login(staff_in_role("Marketer"))
    client.post("/i18n/setlang/", {"language": "fa", "next": "/"})
    page = client.get("/campaigns/segments/").content.decode()
    assert "شناسه دارد: ایمیل" in page  # "has an identity: Email"
    assert "has a" not in page and "has an identity" not in page
    assert 'dir="auto">Email owners</a>' in page  # the name staff wrote, in its direction
