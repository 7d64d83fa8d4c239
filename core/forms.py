from datetime import date

from django import forms
from django.utils.translation import gettext_lazy as _

from core import l10n
from core.models import ApiKey, StaffPreferences
from core.scopes import SCOPES


class ApiKeyCreationForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("scopes"),
        choices=sorted(SCOPES.items()),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("A write scope includes reading the same area."),
    )

    class Meta:
        model = ApiKey
        fields = ["name", "scopes", "rate", "channel"]


class StaffPreferencesForm(forms.ModelForm):
    class Meta:
        model = StaffPreferences
        fields = ["calendar", "digits"]
        widgets = {"calendar": forms.RadioSelect, "digits": forms.RadioSelect}


class DigitsMixin:
    """A form field that reads Persian and Arabic-Indic digits (and the Arabic separators) as
    Latin ones before its own parsing: ۱۲ is 12 in every form."""

    def to_python(self, value):
        return super().to_python(l10n.normalise_number(value))


class LocalisedIntegerField(DigitsMixin, forms.IntegerField):
    pass


class LocalisedDecimalField(DigitsMixin, forms.DecimalField):
    pass


class LocalisedCharField(forms.CharField):
    """Text in which digits are read as Latin: a phone number, a search."""

    def to_python(self, value):
        return l10n.normalise_digits(super().to_python(value))


class LocalisedDateInput(forms.DateInput):
    """A date input in the calendar in force: in Jalali (Persian), a text input showing
    1405/01/01 with a small picker (core/jalali-picker.js, no inline script); otherwise the
    browser's own date input."""

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        if l10n.current().is_jalali:
            widget["type"] = "text"
            widget["attrs"].update(
                {
                    "data-jalali-date": "",
                    "inputmode": "numeric",
                    "placeholder": l10n.localise_digits("1405/01/01"),
                    "autocomplete": "off",
                    "dir": "ltr",
                }
            )
            if isinstance(value, date):
                widget["value"] = l10n.jalali_date_string(value)
        else:
            widget["type"] = "date"
        return context

    @property
    def media(self):
        return forms.Media(
            css={"all": ["core/jalali-picker.css"]}, js=["core/jalali-picker.js"]
        )


class LocalisedDateField(forms.DateField):
    """A date typed in the calendar in force: 1405/1/1 (in any digits) in Jalali, ISO or the
    locale's input formats otherwise (a Gregorian ISO date is accepted in either)."""

    widget = LocalisedDateInput

    def to_python(self, value):
        if isinstance(value, str) and l10n.current().is_jalali:
            text = l10n.normalise_digits(value).strip()
            if not text:
                return None
            if not text[:4].isdigit() or int(text[:4]) < 1700:
                try:
                    parsed = l10n.parse_jalali_date(text)
                except ValueError:
                    raise forms.ValidationError(
                        _("This day does not exist in the Jalali calendar."), code="invalid"
                    ) from None
                if parsed is not None:
                    return parsed
            value = text
        return super().to_python(l10n.normalise_digits(value))
