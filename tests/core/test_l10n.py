"""core.l10n: Jalali dates and Persian digits in Persian, digits read in any script, IRR
without cents and in toman; Django's own date formatting goes through it; the staff member's
preferences; a Jalali date round-trips through a form."""

import datetime as dt
from decimal import Decimal

import pytest
from django import forms
from django.contrib import admin
from django.template import Context, Template
from django.utils import formats, translation
from djmoney.money import Money

from campaigns.models import Campaign
from core import l10n
from core.forms import LocalisedDateField, LocalisedDateTimeField
from core.models import Channel, StaffPreferences
from customers.factories import CustomerFactory
from support.models import Holiday

NOWRUZ_1405 = dt.date(2026, 3, 21)  # 1 Farvardin 1405
NOWRUZ_MOMENT = dt.datetime(2026, 3, 21, 10, 5, tzinfo=dt.UTC)


def test_first_of_farvardin_1405_is_the_21st_of_march_2026():
    with translation.override("fa"):
        assert formats.date_format(NOWRUZ_1405, "DATE_FORMAT") == "۱ فروردین ۱۴۰۵"
        assert formats.date_format(NOWRUZ_1405, "SHORT_DATE_FORMAT") == "۱۴۰۵/۱/۱"
        assert formats.date_format(dt.date(2026, 12, 3), "DATE_FORMAT") == "۱۲ آذر ۱۴۰۵"
    with translation.override("en"):
        assert formats.date_format(NOWRUZ_1405, "DATE_FORMAT") == "March 21, 2026"
    assert l10n.parse_jalali_date("1405/01/01") == NOWRUZ_1405
    assert l10n.parse_jalali_date("۱۴۰۵/۱/۱") == NOWRUZ_1405
    assert l10n.parse_jalali_date("١٤٠٥-١-١") == NOWRUZ_1405
    assert l10n.parse_jalali_date("not a date") is None
    with pytest.raises(ValueError):
        l10n.parse_jalali_date("1405/13/01")


def test_django_date_filter_localize_and_time_go_through_the_layer():
    template = Template(
        '{{ d|date:"DATE_FORMAT" }}|{{ d|date:"c" }}|{{ d }}|{{ d|time:"H:i" }}|{{ d|date:"t L" }}'
    )
    with translation.override("fa"):
        text = template.render(Context({"d": NOWRUZ_MOMENT}))
    shown, iso, localized, time, month = text.split("|")
    assert shown == "۱ فروردین ۱۴۰۵"
    # Machines read ISO 8601 in Latin digits, in any language.
    assert iso == "2026-03-21T10:05:00+00:00"
    assert localized.startswith("۱ فروردین ۱۴۰۵") and "۱۰:۰۵" in localized
    assert time == "۱۰:۰۵"
    assert month == "۳۱ False"  # Farvardin has 31 days; 1405 is not a leap year
    with translation.override("en"):
        assert Template('{{ d|date:"DATE_FORMAT" }}').render(Context({"d": NOWRUZ_1405})) == (
            "March 21, 2026"
        )


def test_timesince_in_persian_digits():
    later = NOWRUZ_MOMENT + dt.timedelta(hours=3)
    with translation.override("fa"):
        text = Template("{{ d|timesince:later }}").render(
            Context({"d": NOWRUZ_MOMENT, "later": later})
        )
    assert "۳" in text and "3" not in text


def test_floatformat_in_persian_digits_and_separators():
    template = Template("{{ rate|floatformat:2 }}|{{ big|floatformat:1 }}")
    context = {"rate": Decimal("4.256"), "big": 12345.67}
    with translation.override("fa"):
        assert template.render(Context(context)) == "۴٫۲۶|۱۲۳۴۵٫۷"
    with translation.override("en"):
        assert template.render(Context(context)) == "4.26|12345.7"


def test_esfand_has_30_days_in_a_leap_year_and_29_otherwise():
    with translation.override("fa"), l10n.preferences(digits="latin"):
        assert formats.date_format(dt.date(2025, 3, 20), "t L") == "30 True"  # 30 Esfand 1403
        assert formats.date_format(dt.date(2026, 3, 20), "t L") == "29 False"  # 29 Esfand 1404


def test_preferences_choose_the_calendar_and_the_digits():
    with translation.override("fa"):
        with l10n.preferences(calendar="gregorian"):
            assert formats.date_format(NOWRUZ_1405, "SHORT_DATE_FORMAT") == "۲۰۲۶/۳/۲۱"
        with l10n.preferences(digits="latin"):
            assert formats.date_format(NOWRUZ_1405, "DATE_FORMAT") == "1 فروردین 1405"
    with translation.override("ar"):
        assert l10n.format_number(1234567.5) == "1.234.567,5"  # the locale's, Western digits
        with l10n.preferences(digits="arabic_indic"):
            assert l10n.format_number(1234567.5) == "١٬٢٣٤٬٥٦٧٫٥"
    with translation.override("en"), l10n.preferences(calendar="jalali"):
        assert formats.date_format(NOWRUZ_1405, "DATE_FORMAT") == "Farvardin 1, 1405"


def test_digits_and_separators():
    with translation.override("fa"):
        assert l10n.format_number(1234567.5) == "۱٬۲۳۴٬۵۶۷٫۵"
        assert l10n.format_number(Decimal("12.345"), 2) == "۱۲٫۳۵"
        assert l10n.localise_digits("Order W-1001") == "Order W-۱۰۰۱"
    with translation.override("en"):
        assert l10n.format_number(1234567.5) == "1,234,567.5"
    assert l10n.normalise_digits("۰۹۱۲ ۱۲۳ ٤٥٦٧") == "0912 123 4567"
    assert l10n.normalise_number("۱۲٬۵۰۰٫۵") == "12500.5"
    assert l10n.normalise_digits(None) is None


def test_money_irr_without_cents_in_rial_or_toman():
    with translation.override("fa"):
        assert l10n.format_money(Decimal("12500000.00"), "IRR") == "۱۲٬۵۰۰٬۰۰۰ ریال"
        assert l10n.format_money(Decimal("12500000"), "IRR", unit="toman") == "۱٬۲۵۰٬۰۰۰ تومان"
        assert str(Money(Decimal("12500000"), "IRR")) == "۱۲٬۵۰۰٬۰۰۰ ریال"
        assert l10n.format_money(Decimal("89.5"), "USD") == "۸۹٫۵۰ USD"
    with translation.override("en"):
        assert str(Money(Decimal("12500000"), "IRR")) == "12,500,000 Rial"
        assert l10n.format_money(125000, "IRR", unit="toman") == "12,500 Toman"
        assert str(Money(Decimal("1234.5"), "USD")) == "$1,234.50"  # babel's, as before
    with translation.override("ar"):
        # Not the UAE dirham's symbol that babel gave Arabic for rial.
        assert str(Money(Decimal("1000"), "IRR")) == "1.000 ريال"


@pytest.mark.django_db
def test_toman_channel_shows_a_tenth_and_feeds_can_ask_for_the_amount():
    shop = Channel.objects.create(code="web-ir", name="Web IR", kind="web", currency="IRR",
                                  irr_unit="toman")  # fmt: skip
    market = Channel.objects.create(code="market", name="Market", kind="marketplace",
                                    currency="IRR")  # fmt: skip
    template = Template("{% load display %}{{ price|money:channel }} ({{ channel|price_unit }})")
    price = Money(Decimal("12500000"), "IRR")
    with translation.override("fa"):
        assert template.render(Context({"price": price, "channel": shop})) == (
            "۱٬۲۵۰٬۰۰۰ تومان (تومان)"
        )
        assert template.render(Context({"price": price, "channel": market})) == (
            "۱۲٬۵۰۰٬۰۰۰ ریال (ریال)"
        )
    assert l10n.money_amount_for_channel(Decimal("12500000"), "IRR", shop) == Decimal("1250000")
    assert l10n.money_amount_for_channel(Decimal("12500000"), "IRR", market) == Decimal("12500000")


class DateForm(forms.Form):
    day = LocalisedDateField()


def test_a_jalali_date_round_trips_through_a_form_in_persian():
    with translation.override("fa"):
        form = DateForm(data={"day": "۱۴۰۵/۰۱/۰۱"})
        assert form.is_valid(), form.errors
        assert form.cleaned_data["day"] == NOWRUZ_1405
        # Shown back as it was typed and, unbound, from the stored Gregorian date.
        assert 'value="۱۴۰۵/۰۱/۰۱"' in str(form["day"])
        html = str(DateForm(initial={"day": NOWRUZ_1405})["day"])
        assert 'value="۱۴۰۵/۰۱/۰۱"' in html and "data-jalali-date" in html
        assert 'type="text"' in html
        # A Gregorian ISO date is still understood; a day Jalali lacks is an error.
        assert DateForm(data={"day": "2026-03-21"}).is_valid()
        assert "day" in DateForm(data={"day": "1404/12/30"}).errors
    with translation.override("en"):
        form = DateForm(data={"day": "2026-03-21"})
        assert form.is_valid() and form.cleaned_data["day"] == NOWRUZ_1405
        html = str(DateForm(initial={"day": NOWRUZ_1405})["day"])
        assert 'type="date"' in html and 'value="2026-03-21"' in html


@pytest.mark.django_db
def test_staff_member_sets_gregorian_in_persian_from_the_top_bar(client, staff_in_role):
    user = staff_in_role("Support lead")
    client.force_login(user)
    customer = CustomerFactory(first_seen_at=NOWRUZ_MOMENT, last_seen_at=NOWRUZ_MOMENT)
    headers = {"HTTP_ACCEPT_LANGUAGE": "fa"}
    home = client.get("/", **headers).content.decode()
    assert 'href="/preferences/"' in home
    page = client.get(f"/customers/{customer.public_id}/", **headers).content.decode()
    assert "۱۴۰۵/۱/۱" in page
    answer = client.post("/preferences/", {"calendar": "gregorian", "digits": "latin"}, **headers)
    assert answer.status_code == 302
    assert StaffPreferences.objects.get(user=user).calendar == "gregorian"
    page = client.get(f"/customers/{customer.public_id}/", **headers).content.decode()
    assert "2026/3/21" in page and "۱۴۰۵" not in page
    bad = client.post("/preferences/", {"calendar": "lunar", "digits": "latin"}, **headers)
    assert bad.status_code == 400 and "calendar" in bad.context["form"].errors


class MomentForm(forms.Form):
    moment = LocalisedDateTimeField()


def test_a_jalali_date_and_time_round_trips_through_a_form_in_persian():
    with translation.override("fa"):
        form = MomentForm(data={"moment": "۱۴۰۵/۰۱/۰۱ ۱۰:۰۵"})
        assert form.is_valid(), form.errors
        assert form.cleaned_data["moment"] == NOWRUZ_MOMENT  # TIME_ZONE is UTC
        html = str(MomentForm(initial={"moment": NOWRUZ_MOMENT})["moment"])
        assert 'value="۱۴۰۵/۰۱/۰۱ ۱۰:۰۵"' in html and "data-jalali-time" in html
    with translation.override("en"):
        assert MomentForm(data={"moment": "2026-03-21T10:05"}).is_valid()
        assert 'type="datetime-local"' in str(MomentForm()["moment"])


def test_the_admins_date_inputs_take_jalali_dates_in_persian():
    model_admin = admin.site._registry[Campaign]
    with translation.override("fa"):
        day = model_admin.formfield_for_dbfield(Holiday._meta.get_field("date"), request=None)
        assert day.clean("۱۴۰۵/۰۱/۰۱") == NOWRUZ_1405
        assert 'value="۱۴۰۵/۰۱/۰۱"' in day.widget.render("date", NOWRUZ_1405)
        moment = model_admin.formfield_for_dbfield(
            Campaign._meta.get_field("scheduled_at"), request=None
        )
        assert moment.clean(["۱۴۰۵/۰۱/۰۱", "۱۰:۰۵"]) == NOWRUZ_MOMENT
        assert "data-jalali-date" in moment.widget.render("scheduled_at", NOWRUZ_MOMENT)
    with translation.override("en"):
        html = day.widget.render("date", NOWRUZ_1405)
        assert 'class="vDateField"' in html and "2026-03-21" in html
