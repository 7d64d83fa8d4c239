"""What campaigns ship with reaches a real install: `manage.py install_campaign_defaults` and
the Journeys page's button make the journeys and templates that are missing, bring a shipped
template nobody edited up to the current version, and leave an edited one alone."""

import io

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse

from campaigns.models import Journey, MessageTemplate
from campaigns.services.defaults import JOURNEYS, PREVIOUS_TEMPLATES, TEMPLATES
from core.factories import StaffUserFactory
from core.roles import MARKETER

pytestmark = pytest.mark.django_db

OLD_TEXT, OLD_HTML = PREVIOUS_TEMPLATES["review-request"][0]


def test_the_command_installs_once_and_updates_only_untouched_shipped_templates(channels):
    MessageTemplate.objects.create(
        name="review-request", channel_kind="email", subject="Old", text=OLD_TEXT, html=OLD_HTML
    )
    out = io.StringIO()
    call_command("install_campaign_defaults", stdout=out)
    assert "review-request" in out.getvalue()
    assert set(Journey.objects.values_list("key", flat=True)) == {j["key"] for j in JOURNEYS}
    review = MessageTemplate.objects.get(name="review-request")
    assert "{{ review_url }}" in review.text and "{{ review_url }}" in review.html
    assert review.subject == "Old"  # only the shipped text moves

    # Her own words stay; a second run makes nothing new.
    MessageTemplate.objects.filter(name="review-request").update(text=OLD_TEXT + " Thanks!")
    counts = (Journey.objects.count(), MessageTemplate.objects.count())
    out = io.StringIO()
    call_command("install_campaign_defaults", stdout=out)
    assert "none" in out.getvalue()
    assert (
        (Journey.objects.count(), MessageTemplate.objects.count())
        == counts
        == (
            len(JOURNEYS),
            len(TEMPLATES),
        )
    )
    assert MessageTemplate.objects.get(name="review-request").text == OLD_TEXT + " Thanks!"


def test_a_marketer_installs_them_from_the_journeys_page(client, staff_in_role, channels):
    page = reverse("campaigns:journey-list")
    client.force_login(staff_in_role(MARKETER))
    assert 'data-action="install-defaults"' in client.get(page).content.decode()
    response = client.post(page, follow=True)
    assert response.status_code == 200
    assert Journey.objects.filter(key="size-back-in-store").exists()
    assert "size-back-in-store" in response.content.decode()
    # The welcome journey's trigger (identity_added:email) reads in her language.
    client.cookies["django_language"] = "fa"
    assert "شناسهٔ جدید: ایمیل" in client.get(page).content.decode()


def test_who_may_only_look_at_journeys_installs_nothing(client, channels):
    viewer = StaffUserFactory(username="viewer")
    viewer.user_permissions.add(Permission.objects.get(codename="view_journey"))
    client.force_login(viewer)
    page = reverse("campaigns:journey-list")
    assert 'data-action="install-defaults"' not in client.get(page).content.decode()
    assert client.post(page).status_code == 200
    assert not Journey.objects.exists()
