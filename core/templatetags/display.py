"""Template filters of core.l10n: numbers and money as people read them in the active language
(Persian digits and separators in Persian, IRR without cents, toman on a toman channel).
Dates need no filter: `|date` and `{{ a_date }}` already go through core.l10n."""

from django import template
from django.utils.translation import get_language_info, gettext

from core import l10n
from core.forms import LocalisedDateTimeInput

register = template.Library()


@register.filter
def number(value, decimal_places=None):
    """{{ count|number }}, {{ rate|number:1 }}: separators and digits of the language."""
    if value is None or value == "":
        return ""
    places = int(decimal_places) if decimal_places not in (None, "") else None
    return l10n.format_number(value, places)


@register.filter
def money(value, channel=None):
    """{{ order.total|money }} or {{ price|money:channel }}: a Money (or amount with a
    `currency` attribute) with the channel's IRR unit (toman or rial)."""
    if value is None or value == "":
        return ""
    amount = getattr(value, "amount", value)
    currency = str(getattr(value, "currency", "") or getattr(channel, "currency", ""))
    if currency != "IRR" and hasattr(value, "currency"):
        return str(value)  # Money.__str__: core.l10n's in Persian digits, $89.00 in Latin ones
    return l10n.format_money(amount, currency, channel=channel)


@register.filter
def amount_in(amount, currency):
    """{{ total|amount_in:"IRR" }}: a bare amount in a currency, as `money` shows it."""
    if amount is None or amount == "":
        return ""
    return l10n.format_money(amount, currency or "")


@register.filter
def price_unit(channel):
    """What a channel's prices are shown in: its currency code, or rial/toman for IRR."""
    if channel is None:
        return ""
    return l10n.unit_label(channel.currency, channel=channel)


@register.filter
def language_label(code):
    """A language code (fa, en_US) as the reader names that language ("Persian" in English,
    «فارسی» in Persian); an unknown code as it is."""
    for candidate in (str(code or ""), str(code or "").replace("_", "-").split("-")[0]):
        try:
            return gettext(get_language_info(candidate)["name"])
        except KeyError:
            continue
    return code


class ShownCount(int):
    """A count that `{% blocktranslate count %}` can choose the plural form by (it must be a
    number) and that is shown in the language's digits: the msgid keeps its `{{ counter }}`."""

    def __str__(self):
        return l10n.format_number(int(self))

    def __html__(self):
        return str(self)


@register.filter
def count(value):
    """{% blocktranslate count counter=n|count %}{{ counter }} order{% plural %}...: a count in
    the language's digits inside a translated sentence that picks its plural form by it."""
    if value is None or value == "":
        return ShownCount(0)
    return ShownCount(int(value))


@register.filter
def digits(value):
    """Latin digits in text written in the language's digits (an order count in a sentence)."""
    if value is None:
        return ""
    return l10n.localise_digits(value)


@register.simple_tag
def digits_in_force():
    """The digits numbers are written in now (latin, persian, arabic_indic): the page's
    `data-digits`, by which the shared CSS numbers ordered lists in the same digits."""
    return l10n.current().digits


@register.simple_tag
def datetime_input(name, label=""):
    """{% datetime_input "snoozed_until" label %}: a date-and-time input outside a Django form,
    in the calendar in force (core.forms.LocalisedDateTimeInput); read it back with
    core.forms.LocalisedDateTimeField."""
    return LocalisedDateTimeInput().render(name, None, attrs={"aria-label": label} if label else {})
