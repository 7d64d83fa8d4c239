from django import forms
from django.utils.translation import gettext_lazy as _

from core.models import ApiKey
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
