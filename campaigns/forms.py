"""Forms of the staff pages: the segment builder and the template editor."""

import json

from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.errors import InvalidRules, InvalidTemplate
from campaigns.models import MessageTemplate, Segment
from campaigns.services.rendering import check_template_source
from campaigns.services.segments import compile_rules, describe
from core.models import ChannelKind


class SegmentForm(forms.ModelForm):
    rules = forms.CharField(
        label=_("Rules (JSON)"),
        widget=forms.Textarea(attrs={"rows": 12, "dir": "ltr", "spellcheck": "false"}),
    )

    class Meta:
        model = Segment
        fields = ["name", "description", "rules"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["rules"] = json.dumps(self.instance.rules, indent=2, ensure_ascii=False)
        else:
            self.initial.setdefault("rules", "{}")

    def clean_rules(self):
        try:
            rules = json.loads(self.cleaned_data["rules"] or "{}")
        except ValueError as error:
            raise forms.ValidationError(
                _("Not valid JSON: %(error)s"), params={"error": error}
            ) from None
        try:
            compile_rules(rules)
        except InvalidRules as error:
            raise forms.ValidationError(error.message) from None
        return rules

    def save(self, commit=True):
        self.instance.compiled_description = describe(self.cleaned_data["rules"])
        return super().save(commit)


class RuleForm(forms.Form):
    """One rule as a form; the page's script turns it into JSON and adds it to the rules."""

    RULE_KINDS = [
        ("event", _("Did / did not do an event")),
        ("orders", _("Orders")),
        ("consent", _("Consent")),
        ("identity", _("Has an identity")),
        ("trait", _("Trait")),
    ]
    kind = forms.ChoiceField(label=_("Rule"), choices=RULE_KINDS)
    event = forms.CharField(label=_("Event"), required=False, initial="product_viewed")
    did = forms.BooleanField(label=_("Did it"), required=False, initial=True)
    channels = forms.CharField(label=_("Channels (comma-separated, or 'online')"), required=False)
    within_days = forms.IntegerField(label=_("Within days"), required=False, min_value=1)
    min_count = forms.IntegerField(label=_("At least times"), required=False, min_value=1)
    channel_kind = forms.ChoiceField(
        label=_("Channel"), choices=ChannelKind.choices, required=False
    )


class TemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ["name", "channel_kind", "language", "subject", "text", "html"]
        widgets = {
            "text": forms.Textarea(attrs={"rows": 6}),
            "html": forms.Textarea(attrs={"rows": 10, "dir": "ltr"}),
        }

    def clean(self):
        data = super().clean()
        try:
            check_template_source(
                subject=data.get("subject", ""),
                text=data.get("text", ""),
                html=data.get("html", ""),
            )
        except InvalidTemplate as error:
            for field, problems in error.fields.items():
                self.add_error(field, problems)
        return data
