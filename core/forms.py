from datetime import date, datetime

from django import forms
from django.contrib.admin import options
from django.contrib.admin import sites as admin_site
from django.contrib.admin import widgets as admin_widgets
from django.db import models
from django.utils import timezone
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


class LocalisedDateTimeInput(forms.DateTimeInput):
    """A date and time input in the calendar in force: in Jalali, a text input showing
    1405/01/01 10:30 whose date the picker fills (the time is kept); otherwise the browser's
    own datetime-local input."""

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        if l10n.current().is_jalali:
            widget["type"] = "text"
            widget["attrs"].update(
                {
                    "data-jalali-date": "",
                    "data-jalali-time": "",
                    "placeholder": l10n.localise_digits("1405/01/01 10:30"),
                    "autocomplete": "off",
                    "dir": "ltr",
                }
            )
            if isinstance(value, datetime):
                value = timezone.localtime(value) if timezone.is_aware(value) else value
                widget["value"] = (
                    f"{l10n.jalali_date_string(value.date())} "
                    f"{l10n.localise_digits(value.strftime('%H:%M'))}"
                )
        else:
            widget["type"] = "datetime-local"
        return context


class LocalisedDateTimeField(forms.DateTimeField):
    """A moment typed in the calendar in force: 1405/1/1 10:30 (any digits) in Jalali; ISO or
    the locale's input formats otherwise."""

    widget = LocalisedDateTimeInput

    def to_python(self, value):
        if isinstance(value, str) and l10n.current().is_jalali:
            text = l10n.normalise_digits(value).strip()
            if not text:
                return None
            day, _sep, clock = text.replace("T", " ").partition(" ")
            if day[:4].isdigit() and int(day[:4]) < 1700:
                try:
                    parsed = l10n.parse_jalali_date(day)
                except ValueError:
                    raise forms.ValidationError(
                        _("This day does not exist in the Jalali calendar."), code="invalid"
                    ) from None
                if parsed is not None:
                    value = f"{parsed.isoformat()} {clock.strip() or '00:00'}"
                else:
                    value = text
            else:
                value = text
        return super().to_python(l10n.normalise_digits(value))


class AdminLocalisedDateWidget(admin_widgets.AdminDateWidget):
    """The admin's date input; in Jalali, a text input with the Jalali picker instead of the
    admin's Gregorian calendar (whose script finds inputs by the vDateField class)."""

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        if l10n.current().is_jalali:
            widget = context["widget"]
            widget["attrs"]["class"] = "vJalaliDateField"
            widget["attrs"].update(
                {
                    "data-jalali-date": "",
                    "placeholder": l10n.localise_digits("1405/01/01"),
                    "autocomplete": "off",
                    "dir": "ltr",
                }
            )
            if isinstance(value, date):
                widget["value"] = l10n.jalali_date_string(value)
        return context

    @property
    def media(self):
        return super().media + forms.Media(
            css={"all": ["core/jalali-picker.css"]}, js=["core/jalali-picker.js"]
        )


class AdminLocalisedSplitDateTime(admin_widgets.AdminSplitDateTime):
    def __init__(self, attrs=None):
        forms.MultiWidget.__init__(
            self, [AdminLocalisedDateWidget, admin_widgets.AdminTimeWidget], attrs
        )


class LocalisedTimeField(forms.TimeField):
    """A time typed in any digits: ۱۰:۰۵ is 10:05."""

    def to_python(self, value):
        return super().to_python(l10n.normalise_digits(value))


class LocalisedSplitDateTimeField(forms.SplitDateTimeField):
    """The admin's date and time pair, its date read in the calendar in force, both in any
    digits."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        date_field, time_field = self.fields
        self.fields = (
            LocalisedDateField(
                input_formats=date_field.input_formats,
                error_messages=date_field.error_messages,
                localize=date_field.localize,
            ),
            LocalisedTimeField(
                input_formats=time_field.input_formats,
                error_messages=time_field.error_messages,
                localize=time_field.localize,
            ),
        )


def install_admin_date_fields():
    """Every admin form's date inputs in the calendar in force (from CoreConfig.ready):
    Jalali in Persian, the admin's own calendar otherwise."""
    localised = {
        models.DateField: {"form_class": LocalisedDateField, "widget": AdminLocalisedDateWidget},
        models.DateTimeField: {
            "form_class": LocalisedSplitDateTimeField,
            "widget": AdminLocalisedSplitDateTime,
        },
    }
    defaults = {field: dict(options.FORMFIELD_FOR_DBFIELD_DEFAULTS[field]) for field in localised}
    options.FORMFIELD_FOR_DBFIELD_DEFAULTS.update(localised)
    # ModelAdmins registered before this ran copied the old defaults: those that kept them
    # take the localised ones too (inlines are made per request, from the defaults).
    for model_admin in admin_site.site._registry.values():
        for field, override in localised.items():
            if model_admin.formfield_overrides.get(field) == defaults[field]:
                model_admin.formfield_overrides[field] = dict(override)
