"""An action refused on the conversation page is explained in the staff's language (#17:
error messages shown to staff are translated): a form's problem names the field by its label,
never by its key, and a service's refusal is a translated sentence."""

import re

import pytest
from django.utils import translation
from django.utils.translation import trans_real

from tests.support.test_inbox_pages import agent, sara_on_instagram  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

PERSIAN = re.compile("[\u0600-\u06ff]")


def error_of(response):
    match = re.search(r'role="alert"[^>]*>(.*?)</', response.content.decode(), re.S)
    return match.group(1).strip() if match else ""


def test_an_empty_reply_is_refused_in_persian_naming_the_field_by_its_label(
    client,
    agent,  # noqa: F811
    channels,
):
    conversation = sara_on_instagram(channels)
    response = client.post(
        f"/support/c/{conversation.pk}/reply",
        {"mode": "note", "text": ""},
        HTTP_ACCEPT_LANGUAGE="fa",
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    error = error_of(response)
    assert PERSIAN.search(error), error
    # "text: …" was the form's key; the field's Persian label says which field it is.
    assert not re.search(r"[A-Za-z]", error), error
    with translation.override("fa"):
        assert str(translation.gettext("Message")) in error


@pytest.fixture
def persian_catalogue():
    """Adds Persian for msgids not compiled yet (makemessages and compilemessages run when
    the catalogues are merged); a compiled translation is left as it is."""
    catalogue = trans_real.translation("fa")._catalog
    added = []

    def add(msgid, text):
        if msgid not in catalogue:
            catalogue[msgid] = text
            added.append(msgid)

    yield add
    for msgid in added:
        del catalogue._catalogs[0][msgid]


def test_a_service_refusal_is_said_in_the_staffs_language(
    client,
    agent,  # noqa: F811
    channels,
    persian_catalogue,
):
    persian_catalogue("Snoozing needs a time to wake up.", "برای تعویق، زمان بیدار شدن لازم است.")
    persian_catalogue("Required.", "لازم است.")
    conversation = sara_on_instagram(channels)
    response = client.post(
        f"/support/c/{conversation.pk}/status",
        {"status": "snoozed", "snoozed_until": ""},
        HTTP_ACCEPT_LANGUAGE="fa",
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    error = error_of(response)
    assert PERSIAN.search(error) and not re.search(r"[A-Za-z]", error), error
    # The service's rule says the same in English to an English reader (and to the API).
    english = client.post(
        f"/support/c/{conversation.pk}/status",
        {"status": "snoozed", "snoozed_until": ""},
        HTTP_ACCEPT_LANGUAGE="en",
        HTTP_HX_REQUEST="true",
    )
    assert error_of(english) == "Snoozing needs a time to wake up. (Required.)"
