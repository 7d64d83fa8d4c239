"""How dates, numbers and money are shown to people, in one place: the Jalali calendar and
Persian digits in Persian, the locale's digits elsewhere, IRR without cents and in toman where a
channel shows it so. Stored values stay UTC and rial; APIs and feeds stay ISO 8601 and Latin.

What is shown depends on the active language (Django's) and on the display preferences in
force: a staff member's own (StaffPreferences, put in force for a request by
DisplayPreferencesMiddleware) or a customer's (`for_customer`, around a message or a receipt).
`install()` (from CoreConfig.ready) routes Django's own date formatting (`|date`, `localize`, the
admin's changelists, `|timesince`) and djmoney's `Money.__str__` through here, so templates need no change to
show a Jalali date or a rial amount without cents.

Input goes the other way: `normalise_digits` reads Persian and Arabic-Indic digits as Latin, for
forms, search and the phone parsing; `parse_jalali_date` reads a Jalali date typed in Persian.
"""

import re
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import wraps

import jdatetime
from django.conf import settings
from django.template import defaultfilters
from django.utils import dateformat, numberformat, timesince, translation
from django.utils.formats import get_format
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from djmoney.money import Money

from core.models import StaffPreferences

DIGITS = {
    "latin": "0123456789",
    "persian": "۰۱۲۳۴۵۶۷۸۹",
    "arabic_indic": "٠١٢٣٤٥٦٧٨٩",
}
_TO_LATIN = str.maketrans(DIGITS["persian"] + DIGITS["arabic_indic"], DIGITS["latin"] * 2)
_FROM_LATIN = {name: str.maketrans(DIGITS["latin"], digits) for name, digits in DIGITS.items()}
# The Arabic decimal separator and thousands separator, used in Persian (and with
# Arabic-Indic digits).
ARABIC_DECIMAL = "\u066b"  # ٫
ARABIC_THOUSANDS = "\u066c"  # ٬

JALALI = "jalali"
GREGORIAN = "gregorian"
AUTO = "auto"

# Languages whose own calendar and digits differ from Django's defaults.
LANGUAGE_CALENDAR = {"fa": JALALI}
LANGUAGE_DIGITS = {"fa": "persian"}

# Units of IRR amounts (Channel.irr_unit) and how each is written after the amount.
RIAL = "rial"
TOMAN = "toman"
IRR_UNIT_NAMES = {
    RIAL: {"fa": "ریال", "ar": "ريال"},
    TOMAN: {"fa": "تومان", "ar": "تومان"},
}

# Django format strings that machines read (<time datetime>, feeds): never Jalali, never
# anything but Latin digits.
MACHINE_FORMATS = {"c", "U", "r", "DATE_ISO"}


@dataclass(frozen=True)
class Preferences:
    calendar: str = AUTO
    digits: str = AUTO


NO_PREFERENCES = Preferences()
_preferences: ContextVar[Preferences | None] = ContextVar("display_preferences", default=None)


@dataclass(frozen=True)
class Display:
    """What is in force now: the language and, resolved from it and the preferences, the
    calendar and the digits."""

    language: str
    calendar: str
    digits: str

    @property
    def is_jalali(self) -> bool:
        return self.calendar == JALALI

    @property
    def separators(self) -> tuple[str, str]:
        """(decimal, thousands) for numbers."""
        if self.digits in ("persian", "arabic_indic"):
            return ARABIC_DECIMAL, ARABIC_THOUSANDS
        return (
            numberformat_setting("DECIMAL_SEPARATOR", self.language),
            numberformat_setting("THOUSAND_SEPARATOR", self.language),
        )


def numberformat_setting(name, language):
    return get_format(name, lang=language, use_l10n=True)


def base_language(code: str | None) -> str:
    return (code or "").replace("_", "-").split("-")[0].lower()


def current() -> Display:
    language = base_language(translation.get_language() or settings.LANGUAGE_CODE)
    preferences = _preferences.get() or NO_PREFERENCES
    calendar = preferences.calendar
    if calendar not in (JALALI, GREGORIAN):
        calendar = LANGUAGE_CALENDAR.get(language, GREGORIAN)
    digits = preferences.digits
    if digits not in DIGITS:
        digits = LANGUAGE_DIGITS.get(language, "latin")
    return Display(language=language, calendar=calendar, digits=digits)


@contextmanager
def preferences(calendar: str = AUTO, digits: str = AUTO):
    """Show dates and numbers with these preferences (AUTO: the language's own) inside."""
    token = _preferences.set(Preferences(calendar=calendar or AUTO, digits=digits or AUTO))
    try:
        yield
    finally:
        _preferences.reset(token)


@contextmanager
def for_customer(locale: str | None):
    """A customer's language with its own calendar and digits (customers have no other
    preference), for what is sent to her: messages, CSAT surveys, receipts."""
    language = base_language(locale) or settings.LANGUAGE_CODE
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    with translation.override(language), preferences():
        yield


def preferences_of(user) -> Preferences:
    """A staff member's saved preferences; AUTO for anyone without a row."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Preferences()
    cached = getattr(user, "_display_preferences", None)
    if cached is None:
        row = StaffPreferences.objects.filter(user=user).values("calendar", "digits").first()
        cached = Preferences(**row) if row else Preferences()
        user._display_preferences = cached
    return cached


class _PreferencesOfRequest:
    """The request's staff member's preferences, read from the database only when a date or a
    number is first formatted (once per request: preferences_of keeps them on the user)."""

    def __init__(self, request):
        self.request = request

    def _chosen(self) -> Preferences:
        user = getattr(self.request, "user", None)
        if user is None or not getattr(user, "is_staff", False):
            return NO_PREFERENCES
        return preferences_of(user)

    @property
    def calendar(self):
        return self._chosen().calendar

    @property
    def digits(self):
        return self._chosen().digits


class DisplayPreferencesMiddleware:
    """Puts the signed-in staff member's display preferences in force for the request (after
    AuthenticationMiddleware). Lazily: a request that formats no date or number, an API call
    for one, costs no query."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _preferences.set(_PreferencesOfRequest(request))
        try:
            return self.get_response(request)
        finally:
            _preferences.reset(token)


# --- digits -----------------------------------------------------------------------------


def normalise_digits(value):
    """Persian and Arabic-Indic digits read as Latin ones; anything else unchanged. For every
    input a person types: a phone, a quantity, a price, a search."""
    if not isinstance(value, str):
        return value
    return value.translate(_TO_LATIN)


def normalise_number(value):
    """A number typed with any digits and the Arabic separators (۱۲٬۵۰۰٫۵) as Django reads it
    (12500.5). Other text is returned with its digits normalised only."""
    if not isinstance(value, str):
        return value
    text = normalise_digits(value).strip()
    if ARABIC_DECIMAL in text or ARABIC_THOUSANDS in text:
        text = text.replace(ARABIC_THOUSANDS, "").replace(ARABIC_DECIMAL, ".")
    return text


def localise_digits(text, digits: str | None = None) -> str:
    """Latin digits written in the digits in force (or `digits`)."""
    text = str(text)
    digits = digits or current().digits
    if digits == "latin":
        return text
    return text.translate(_FROM_LATIN[digits])


def format_number(value, decimal_places=None, *, grouping=True) -> str:
    """A number with the separators and digits in force: 1234567.5 -> ۱٬۲۳۴٬۵۶۷٫۵ in Persian."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(normalise_number(str(value)))
    except (InvalidOperation, ValueError):
        return localise_digits(value)
    if decimal_places is not None:
        number = number.quantize(Decimal(1).scaleb(-decimal_places), rounding=ROUND_HALF_UP)
    display = current()
    decimal_sep, thousand_sep = display.separators
    text = numberformat.format(
        number,
        decimal_sep,
        decimal_pos=decimal_places,
        grouping=3 if grouping else 0,
        thousand_sep=thousand_sep,
        force_grouping=grouping,
    )
    return localise_digits(text, display.digits)


# --- money ------------------------------------------------------------------------------


def irr_unit_of(channel) -> str:
    return getattr(channel, "irr_unit", None) or RIAL


def format_money(amount, currency: str, *, unit: str | None = None, channel=None) -> str:
    """An amount as people read it: IRR without cents, in toman (1/10) when `unit` or the
    channel says so, the unit's name after the amount (۱٬۲۵۰٬۰۰۰ تومان); other currencies with
    their two decimals and ISO code after the amount. Digits and separators in force."""
    if amount is None or amount == "":
        return ""
    currency = (str(currency) or "").upper()
    try:
        amount = Decimal(normalise_number(str(amount)))
    except (InvalidOperation, ValueError):
        return localise_digits(f"{amount} {currency}".strip())
    if currency == "IRR":
        unit = unit or irr_unit_of(channel)
        if unit == TOMAN:
            amount = amount / 10
        return f"{format_number(amount, 0)} {unit_label(currency, unit=unit)}"
    return f"{format_number(amount, 2)} {currency}".strip()


def unit_label(currency: str, *, unit: str | None = None, channel=None) -> str:
    """The word written after an amount: ریال or تومان for IRR (Rial, Toman in English), the
    ISO code for other currencies."""
    currency = (str(currency) or "").upper()
    if currency != "IRR":
        return currency
    unit = unit or irr_unit_of(channel)
    name = IRR_UNIT_NAMES[unit].get(current().language)
    return name or (_("Toman") if unit == TOMAN else _("Rial"))


def money_amount_for_channel(amount, currency: str, channel) -> Decimal:
    """The number a channel shows for an amount (rial / 10 on a toman channel): for a feed of
    a shop that prices in toman. Marketplaces keep the default, rial."""
    amount = Decimal(amount)
    if str(currency).upper() == "IRR" and irr_unit_of(channel) == TOMAN:
        return (amount / 10).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return amount


_djmoney_str = Money.__str__


def _money_str(money) -> str:
    """Money.__str__: IRR, and anything in Persian or Arabic-Indic digits, through
    format_money; other currencies in Latin digits keep djmoney's own (babel's) form, $89.00."""
    currency = str(money.currency)
    if currency != "IRR" and current().digits == "latin":
        return _djmoney_str(money)
    return format_money(money.amount, currency)


# --- dates ------------------------------------------------------------------------------


class JalaliDateFormat(dateformat.DateFormat):
    """Django's DateFormat with the date parts read from the Jalali calendar: the same format
    strings ("j F Y", "Y/n/j", "SHORT_DATETIME_FORMAT") give ۱۲ آذر ۱۴۰۵. Times, time zones and
    the ISO 8601 forms ("c", "U", "r") are left to Django."""

    def __init__(self, obj):
        super().__init__(obj)
        day = obj.date() if isinstance(obj, datetime) else obj
        self.jalali = jdatetime.date.fromgregorian(date=day)
        self.persian_names = base_language(translation.get_language()) == "fa"

    def _month_name(self):
        names = jdatetime.date.j_months_fa if self.persian_names else jdatetime.date.j_months_en
        return names[self.jalali.month - 1]

    def d(self):
        return f"{self.jalali.day:02d}"

    def j(self):
        return self.jalali.day

    def m(self):
        return f"{self.jalali.month:02d}"

    def n(self):
        return self.jalali.month

    def F(self):
        return self._month_name()

    def E(self):
        return self._month_name()

    def N(self):
        return self._month_name()

    def M(self):
        return self._month_name()

    def b(self):
        return self._month_name().lower()

    def S(self):
        return ""

    def t(self):
        if self.jalali.month == 12:
            return 30 if self.jalali.isleap() else 29
        return jdatetime.j_days_in_month[self.jalali.month - 1]

    def L(self):
        return self.jalali.isleap()

    def y(self):
        return f"{self.jalali.year % 100:02d}"

    def Y(self):
        return self.jalali.year

    def z(self):
        return self.jalali.yday()


_django_format = dateformat.format
_django_time_format = dateformat.time_format


def format_date(value, format_string) -> str:
    """Django's dateformat.format in the calendar and digits in force."""
    if format_string in MACHINE_FORMATS or not isinstance(value, date):
        return _django_format(value, format_string)
    display = current()
    if display.is_jalali:
        text = JalaliDateFormat(value).format(format_string)
    else:
        text = _django_format(value, format_string)
    return localise_digits(text, display.digits)


def format_time(value, format_string) -> str:
    if format_string in MACHINE_FORMATS:
        return _django_time_format(value, format_string)
    return localise_digits(_django_time_format(value, format_string))


def jalali_date_string(value: date) -> str:
    """A date as a Jalali date input shows it: 1405/01/01, in the digits in force."""
    day = jdatetime.date.fromgregorian(date=value)
    return localise_digits(f"{day.year:04d}/{day.month:02d}/{day.day:02d}")


JALALI_DATE_RE = re.compile(r"^\s*(\d{3,4})\s*[/\-.]\s*(\d{1,2})\s*[/\-.]\s*(\d{1,2})\s*$")


def parse_jalali_date(text: str) -> date | None:
    """A Jalali date typed as 1405/1/1 (any digits, / - or . between) as a Gregorian date;
    None when the text is not one. Raises ValueError for a date that does not exist."""
    match = JALALI_DATE_RE.match(normalise_digits(text or ""))
    if not match:
        return None
    year, month, day = (int(part) for part in match.groups())
    return jdatetime.date(year, month, day).togregorian()


def install():
    """Route Django's date formatting and djmoney's Money.__str__ through this module (from
    CoreConfig.ready). django.utils.formats looks `dateformat.format` up at each call, so `|date`,
    `localize` and the admin's changelists all come here."""
    dateformat.format = format_date
    dateformat.time_format = format_time
    Money.__str__ = _money_str
    # |timesince and |timeuntil look these names up in their module at each call.
    defaultfilters.timesince = _localised(timesince.timesince)
    defaultfilters.timeuntil = _localised(timesince.timeuntil)
    # |floatformat (CSAT averages, rates) in the digits and separators in force: templates
    # find filters in the library's table when they compile.
    floatformat = _localised_number(defaultfilters.floatformat)
    floatformat.is_safe = True
    defaultfilters.register.filters["floatformat"] = floatformat


def _localised_number(function):
    @wraps(function)  # Django checks a filter's arguments on the function it wraps
    def wrapper(*args, **kwargs):
        text = function(*args, **kwargs)
        display = current()
        if display.digits == "latin" or not text:
            return text
        decimal_sep, thousand_sep = (
            numberformat_setting("DECIMAL_SEPARATOR", display.language),
            numberformat_setting("THOUSAND_SEPARATOR", display.language),
        )
        arabic = str(text).translate(
            {ord(decimal_sep): ARABIC_DECIMAL, ord(thousand_sep): ARABIC_THOUSANDS}
        )
        return mark_safe(localise_digits(arabic, display.digits))  # noqa: S308 (a number)

    return wrapper


def _localised(function):
    @wraps(function)
    def wrapper(*args, **kwargs):
        return localise_digits(function(*args, **kwargs))

    return wrapper
