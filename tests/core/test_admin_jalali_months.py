"""The admin's browsing by date follows the calendar in force (#17): in Persian the Gregorian
year/month links of date_hierarchy are replaced by a filter of Jalali months; a staff member
who chose Gregorian, and other languages, keep Django's date_hierarchy."""

import datetime as dt
import uuid

import pytest

from core.admin_dates import date_hierarchies_follow_the_calendar
from core.models import AuditEntry, StaffPreferences

pytestmark = pytest.mark.django_db

URL = "/admin/core/auditentry/"


@pytest.fixture
def admin_user(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return user


@pytest.fixture
def entries():
    def entry(actor, at):
        return AuditEntry.objects.create(
            at=at, action="view_profile", customer_public_id=uuid.uuid4(), actor=actor
        )

    noon = dt.time(12, tzinfo=dt.UTC)
    entry("nowruz", dt.datetime.combine(dt.date(2026, 3, 21), noon))  # 1 Farvardin 1405
    entry("eve", dt.datetime.combine(dt.date(2026, 3, 19), noon))  # 28 Esfand 1404
    entry("azar", dt.datetime.combine(dt.date(2026, 12, 3), noon))  # 12 Azar 1405


def listed(html):
    return {name for name in ("nowruz", "eve", "azar") if f">{name}<" in html}


def test_in_persian_the_admin_browses_by_jalali_month(client, admin_user, entries):
    html = client.get(URL, HTTP_ACCEPT_LANGUAGE="fa").content.decode()
    assert 'class="toplinks"' not in html  # Gregorian months under Jalali names
    for value, label in (
        ("1405-09", "آذر ۱۴۰۵"),
        ("1405-01", "فروردین ۱۴۰۵"),
        ("1404-12", "اسفند ۱۴۰۴"),
    ):
        assert f"?jalali_month={value}" in html and label in html
    assert listed(html) == {"nowruz", "eve", "azar"}
    month = client.get(URL, {"jalali_month": "1405-01"}, HTTP_ACCEPT_LANGUAGE="fa")
    assert month.status_code == 200
    assert listed(month.content.decode()) == {"nowruz"}
    esfand = client.get(URL, {"jalali_month": "1404-12"}, HTTP_ACCEPT_LANGUAGE="fa")
    assert listed(esfand.content.decode()) == {"eve"}


def test_gregorian_readers_keep_the_date_hierarchy(client, admin_user, entries):
    english = client.get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'class="toplinks"' in english and "jalali_month" not in english
    StaffPreferences.objects.create(user=admin_user, calendar="gregorian")
    persian = client.get(URL, HTTP_ACCEPT_LANGUAGE="fa").content.decode()
    assert 'class="toplinks"' in persian and "jalali_month" not in persian


def test_every_date_hierarchy_follows_the_calendar():
    assert date_hierarchies_follow_the_calendar() == []
