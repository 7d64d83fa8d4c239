"""Forms of the inventory staff pages: they parse input; services apply it."""

import zoneinfo

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.forms import LocalisedDateField, LocalisedDateTimeField
from core.l10n import normalise_digits
from inventory.models import Location, MovementReason
from inventory.services import CountLine


class LedgerFilterForm(forms.Form):
    sku = forms.CharField(label=_("SKU"), required=False)
    location = forms.ModelChoiceField(
        label=_("Location"),
        queryset=Location.objects.order_by("code"),
        required=False,
        to_field_name="code",
    )
    reason = forms.ChoiceField(
        label=_("Reason"), choices=[("", _("Any"))] + list(MovementReason.choices), required=False
    )
    # Jalali in Persian (1405/01/01 with a picker), the browser's date input otherwise.
    since = LocalisedDateField(label=_("From"), required=False)
    until = LocalisedDateField(label=_("Until"), required=False)


class CountForm(forms.Form):
    location = forms.ModelChoiceField(
        label=_("Location"), queryset=Location.objects.filter(is_active=True).order_by("code")
    )
    occurred_at = LocalisedDateTimeField(
        label=_("Counted at"),
        required=False,
        help_text=_(
            "When the shelf was counted, in the location's local time; empty: now. "
            "Sales after that moment still apply."
        ),
    )
    reference = forms.CharField(label=_("Reference"), max_length=120, required=False)
    lines = forms.CharField(
        label=_("Counted units"),
        widget=forms.Textarea(attrs={"rows": 8, "dir": "ltr", "placeholder": "SKU-000123 4"}),
        help_text=_("One line per SKU or barcode: the code, a space, the units counted."),
    )

    def clean(self):
        data = super().clean()
        moment, location = data.get("occurred_at"), data.get("location")
        if moment and location:
            # The wall-clock time typed here is the location's local time.
            try:
                zone = zoneinfo.ZoneInfo(location.time_zone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                zone = timezone.get_current_timezone()
            moment = timezone.make_aware(timezone.make_naive(moment), zone)
            if moment > timezone.now():
                self.add_error("occurred_at", _("A count cannot be in the future."))
            data["occurred_at"] = moment
        return data

    def clean_lines(self):
        """[CountLine] of the non-empty lines; a line that is not "code units" keeps
        units None, so the service reports it with every other bad line."""
        lines = []
        for number, raw in enumerate(self.cleaned_data["lines"].splitlines(), start=1):
            parts = raw.replace(",", " ").replace(";", " ").split()
            if not parts:
                continue
            units = int(parts[1]) if len(parts) == 2 and parts[1].isdigit() else None
            lines.append(CountLine(code=parts[0], units=units, number=number))
        if not lines:
            raise forms.ValidationError(_("Enter at least one line."))
        return lines


class TransferForm(forms.Form):
    from_location = forms.ModelChoiceField(
        label=_("From"), queryset=Location.objects.filter(is_active=True).order_by("code")
    )
    to_location = forms.ModelChoiceField(
        label=_("To"), queryset=Location.objects.filter(is_active=True).order_by("code")
    )
    lines = forms.CharField(
        label=_("Lines"),
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 6, "dir": "ltr", "placeholder": "SKU-000123 4"}),
        help_text=_("One line per SKU or barcode: the code, a space, the units to send."),
    )
    reference = forms.CharField(label=_("Reference"), max_length=120, required=False)

    def clean(self):
        data = super().clean()
        if data.get("from_location") and data.get("from_location") == data.get("to_location"):
            self.add_error("to_location", _("Choose another location."))
        return data

    def clean_lines(self):
        """[(code, units)] of the non-empty lines; a line that is not "code units" is
        refused here with its number."""
        lines = []
        for number, raw in enumerate(self.cleaned_data["lines"].splitlines(), start=1):
            parts = normalise_digits(raw).replace(",", " ").replace(";", " ").split()
            if not parts:
                continue
            if len(parts) != 2 or not (parts[1].isascii() and parts[1].isdigit()):
                raise forms.ValidationError(
                    _("Line %(number)s: write the code, a space and the units.")
                    % {"number": number}
                )
            lines.append((parts[0], int(parts[1])))
        if not lines:
            raise forms.ValidationError(_("Enter at least one line."))
        return lines


class NearbyForm(forms.Form):
    lat = forms.FloatField(label=_("Latitude"), min_value=-90, max_value=90)
    lng = forms.FloatField(label=_("Longitude"), min_value=-180, max_value=180)
