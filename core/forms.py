from datetime import date, datetime
from decimal import Decimal

from django import forms
from django.contrib.admin import options
from django.contrib.admin import sites as admin_site
from django.contrib.admin import widgets as admin_widgets
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import l10n
from core.models import ApiKey, ChannelProvider, StaffPreferences
from core.providers import catalogue
from core.safe_urls import safe_url
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


class _JalaliPickerInput:
    """In the Jalali calendar, a text input the picker (core/jalali-picker.js, no inline
    script) fills, showing what the widget's `jalali_value(value)` gives (None: as Django
    renders it); otherwise the browser's own `browser_type` input."""

    browser_type = "date"
    placeholder = "1405/01/01"
    jalali_attrs: dict = {}

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        if not l10n.current().is_jalali:
            widget["type"] = self.browser_type
            return context
        widget["type"] = "text"
        widget["attrs"].update(
            {
                "data-jalali-date": "",
                **self.jalali_attrs,
                "placeholder": l10n.localise_digits(self.placeholder),
                "autocomplete": "off",
                "dir": "ltr",
            }
        )
        shown = self.jalali_value(value)
        if shown is not None:
            widget["value"] = shown
        return context

    @property
    def media(self):
        return forms.Media(css={"all": ["core/jalali-picker.css"]}, js=["core/jalali-picker.js"])


class LocalisedDateInput(_JalaliPickerInput, forms.DateInput):
    """A date input in the calendar in force: in Jalali (Persian), a text input showing
    1405/01/01 with a small picker; otherwise the browser's own date input."""

    jalali_attrs = {"inputmode": "numeric"}

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")

    def jalali_value(self, value):
        return l10n.jalali_date_string(value) if isinstance(value, date) else None


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


class LocalisedDateTimeInput(_JalaliPickerInput, forms.DateTimeInput):
    """A date and time input in the calendar in force: in Jalali, a text input showing
    1405/01/01 10:30 whose date the picker fills (the time is kept); otherwise the browser's
    own datetime-local input."""

    browser_type = "datetime-local"
    placeholder = "1405/01/01 10:30"
    jalali_attrs = {"data-jalali-time": ""}

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")

    def jalali_value(self, value):
        if not isinstance(value, datetime):
            return None
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        return (
            f"{l10n.jalali_date_string(value.date())} "
            f"{l10n.localise_digits(value.strftime('%H:%M'))}"
        )


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


# --- channel set-up (core.views_channels) ---------------------------------------------------


def _http_url(value):
    """An http(s) URL with a host, as the adapters call it (core.safe_urls reads it as a
    browser would: `java\tscript:`, `file:` and `//host` are refused)."""
    value = (value or "").strip()
    if value and not (safe_url(value) and value.lower().startswith(("http://", "https://"))):
        raise forms.ValidationError(_("Enter an http:// or https:// address."), code="not_http")
    return value


class ChannelSetupForm(forms.Form):
    """The channel's provider and its settings, one field per setting the catalogue names for
    the channel's kind and the provider the form is built for. A secret is never rendered
    back: its field is empty, shows the stored value masked, and "" keeps it."""

    provider = forms.ChoiceField(
        label=_("Provider"), choices=ChannelProvider.choices, required=False
    )

    def __init__(self, channel, *args, provider=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.channel = channel
        self.provider_shown = channel.provider if provider is None else provider
        self.fields["provider"].initial = channel.provider
        stored = channel.provider_settings or {}
        self.settings = catalogue.channel_settings(channel.kind, self.provider_shown)
        for setting in self.settings:
            self.fields[setting.name] = self._field_for(setting, stored.get(setting.name))

    def _field_for(self, setting, stored):
        help_text = setting.help
        options = {"label": setting.label, "required": False, "help_text": help_text}
        if setting.secret:
            field = forms.CharField(
                widget=forms.PasswordInput(
                    render_value=False, attrs={"autocomplete": "new-password", "dir": "ltr"}
                ),
                max_length=4096,
                strip=True,
                **options,
            )
            field.stored_mask = catalogue.masked(stored)
            field.required_setting = setting.required and not stored
            return field
        if setting.kind == "bool":
            field = forms.BooleanField(**options)
            field.initial = stored in (True, "true", "1", 1)
            field.stored_mask = ""
            field.required_setting = False
            return field
        if setting.kind == "number":
            field = LocalisedDecimalField(
                min_value=Decimal("0.1"),
                max_value=Decimal("60"),
                decimal_places=1,
                widget=forms.TextInput(attrs={"inputmode": "decimal", "dir": "ltr"}),
                **options,
            )
        elif setting.kind == "email":
            field = forms.EmailField(widget=forms.EmailInput(attrs={"dir": "ltr"}), **options)
        else:
            field = forms.CharField(
                max_length=2048, widget=forms.TextInput(attrs={"dir": "ltr"}), **options
            )
            if setting.kind == "url":
                field.validators.append(_http_url)
        field.initial = stored
        field.stored_mask = ""
        field.required_setting = setting.required
        return field

    def secret_fields(self):
        return [self[s.name] for s in self.settings if s.secret]

    def plain_fields(self):
        return [self[s.name] for s in self.settings if not s.secret]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        # Required settings are asked for only when the form showed that provider's fields:
        # a provider just chosen is saved first, then its settings are filled in.
        if cleaned.get("provider", "") == self.provider_shown:
            stored = self.channel.provider_settings or {}
            for setting in self.settings:
                if not setting.required:
                    continue
                given = cleaned.get(setting.name)
                if given in ("", None) and not (setting.secret and stored.get(setting.name)):
                    self.add_error(setting.name, _("This setting is required."))
        return cleaned

    def values(self) -> dict:
        """The settings to save, as provider_settings holds them."""
        values = {}
        for setting in self.settings:
            value = self.cleaned_data.get(setting.name)
            if isinstance(value, Decimal):
                value = float(value)
            values[setting.name] = "" if value is None else value
        return values


class TestMessageForm(forms.Form):
    recipient = LocalisedCharField(label=_("Recipient"), max_length=255)
    text = forms.CharField(
        label=_("Text"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2, "dir": "auto"}),
    )

    def __init__(self, channel, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.channel = channel
        label, _pattern, example = catalogue.recipient_for(channel.kind)
        self.fields["recipient"].label = label
        self.fields["recipient"].widget.attrs.update({"dir": "ltr", "placeholder": example})
        self.fields["text"].initial = _("A test message from %(channel)s.") % {
            "channel": channel.display_name
        }

    def clean_recipient(self):
        value = self.cleaned_data["recipient"].strip()
        if self.channel.kind in ("sms", "whatsapp"):
            value = "".join(ch for ch in value if ch not in " -().")
        if self.channel.kind == "email":
            forms.EmailField().clean(value)
        elif not catalogue.is_valid_recipient(self.channel.kind, value):
            label, _pattern, example = catalogue.recipient_for(self.channel.kind)
            raise forms.ValidationError(
                _("Enter a valid %(what)s, like %(example)s.")
                % {"what": label, "example": example},
                code="invalid_recipient",
            )
        return value


class ProviderTemplateForm(forms.Form):
    name = forms.RegexField(
        label=_("Name at the provider"),
        regex=r"^[a-z0-9_]{1,512}$",
        max_length=512,
        error_messages={"invalid": _("Lower-case letters, digits and _ only, as Meta names it.")},
        widget=forms.TextInput(attrs={"dir": "ltr"}),
    )
    language = forms.RegexField(
        label=_("Language"),
        regex=r"^[a-z]{2,3}(_[A-Z]{2})?$",
        max_length=15,
        error_messages={"invalid": _("A language code such as fa or en_US.")},
        widget=forms.TextInput(attrs={"dir": "ltr"}),
    )
    text = forms.CharField(
        label=_("Approved text"),
        required=False,
        max_length=4096,
        widget=forms.Textarea(attrs={"rows": 2, "dir": "auto"}),
    )
    parameters = forms.CharField(
        label=_("Parameters"),
        required=False,
        max_length=500,
        help_text=_("Names of the values filling {{1}}, {{2}}, ..., comma-separated."),
        widget=forms.TextInput(attrs={"dir": "ltr"}),
    )

    def clean_parameters(self):
        names = [n.strip() for n in self.cleaned_data["parameters"].split(",") if n.strip()]
        for name in names:
            if not name.replace("_", "").isalnum():
                raise forms.ValidationError(
                    _("%(name)s is not a value's name.") % {"name": name}, code="invalid_name"
                )
        return names
