"""A template has one translation per language, saved all or nothing: two translations in
one language are a 400 naming the second, and the template keeps the ones it had (they were
deleted, then the second insert failed outside any transaction: a 500 and a wiped template)."""

import pytest
from django.urls import reverse

from campaigns.factories import MessageTemplateFactory
from campaigns.models import MessageTemplateTranslation

pytestmark = pytest.mark.django_db


@pytest.fixture
def writer(api_client_for):
    return api_client_for("campaigns:write")


@pytest.fixture
def translated(db):
    template = MessageTemplateFactory(name="hello", channel_kind="sms", text="Hi")
    MessageTemplateTranslation.objects.create(template=template, language="fa", text="سلام")
    return template


def translations_of(template):
    return list(template.translations.values_list("language", "text"))


def test_two_translations_in_one_language_are_refused_and_nothing_is_lost(writer, translated):
    answer = writer.patch(
        f"/api/v1/campaigns/templates/{translated.pk}",
        {
            "text": "Hello",
            "translations": [
                {"language": "az", "text": "Salam"},
                {"language": "az", "text": "Salam!"},
            ],
        },
        format="json",
    )
    assert answer.status_code == 400, answer.content
    error = answer.json()["error"]
    assert error["code"] == "invalid_template"
    assert list(error["fields"]) == ["translations.1.language"]
    translated.refresh_from_db()
    assert translated.text == "Hi"
    assert translations_of(translated) == [("fa", "سلام")]


def test_a_new_template_with_a_language_twice_is_not_created(writer):
    answer = writer.post(
        "/api/v1/campaigns/templates",
        {
            "name": "twice",
            "channel_kind": "sms",
            "text": "Hi",
            "translations": [{"language": "fa", "text": "a"}, {"language": "fa", "text": "b"}],
        },
        format="json",
    )
    assert answer.status_code == 400, answer.content
    assert not MessageTemplateTranslation.objects.exists()
    assert writer.get("/api/v1/campaigns/templates").json()["count"] == 0


def test_translations_are_replaced_when_given_and_kept_when_not(writer, translated):
    path = f"/api/v1/campaigns/templates/{translated.pk}"
    body = {
        "translations": [{"language": "az", "text": "Salam"}, {"language": "fa", "text": "درود"}]
    }
    assert writer.patch(path, body, format="json").status_code == 200
    assert translations_of(translated) == [("az", "Salam"), ("fa", "درود")]
    assert writer.patch(path, {"text": "Hello"}, format="json").status_code == 200
    assert translations_of(translated) == [("az", "Salam"), ("fa", "درود")]


def test_the_staff_editor_saves_the_template_and_keeps_its_translations(
    client, staff_in_role, translated
):
    client.force_login(staff_in_role("Marketer"))
    saved = client.post(
        reverse("campaigns:template-edit", kwargs={"pk": translated.pk}),
        {"name": "hello", "channel_kind": "sms", "language": "en", "text": "Hello", "html": ""},
    )
    assert saved.status_code == 302
    translated.refresh_from_db()
    assert translated.text == "Hello"
    assert translations_of(translated) == [("fa", "سلام")]
