"""Forms of the staff pages: the segment builder, the template editor, the new campaign."""

import json

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.errors import InvalidRules, InvalidTemplate
from campaigns.models import Campaign, MessageTemplate, Segment
from campaigns.segment_words import describe
from campaigns.services.drafts import CAMPAIGN_FIELDS, VariantDraft
from campaigns.services.rendering import check_template_source
from campaigns.services.segments import compile_rules, parse_rules
from core.forms import LocalisedDateTimeField
from core.models import Channel, ChannelKind
from inventory.selectors import active_locations


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
        # The count beside the rules follows every change, a moment after typing stops.
        self.fields["rules"].widget.attrs.update(
            {
                "hx-post": reverse("campaigns:segment-count"),
                "hx-trigger": "input changed delay:400ms, change",
                "hx-target": "#segment-count",
            }
        )

    def clean_rules(self):
        try:
            rules = parse_rules(self.cleaned_data["rules"])
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
        ("home_store", _("Home store (where she shops most)")),
        ("near_store", _("Lives near a store")),
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
    store = forms.ChoiceField(label=_("Store"), choices=(), required=False)
    within_km = forms.DecimalField(
        label=_("Within km"), required=False, min_value=0.1, max_value=20000, initial=5
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [
            (location.code, location.display_name) for location in active_locations()
        ]


class TemplatePartsForm(forms.ModelForm):
    """Any form of a template or a translation (the editor page, the admin): each of its
    subject, text and html must compile in the sandbox and read only allowed variables."""

    def clean(self):
        data = super().clean()
        for part in ("subject", "text", "html"):
            if part not in self.fields:
                continue
            try:
                check_template_source(**{part: data.get(part) or ""})
            except InvalidTemplate as error:
                for field, problems in error.fields.items():
                    self.add_error(field, problems)
        return data


class TemplateForm(TemplatePartsForm):
    class Meta:
        model = MessageTemplate
        fields = [
            "name",
            "channel_kind",
            "language",
            "subject",
            "text",
            "html",
            "provider_template_name",
        ]
        widgets = {
            "text": forms.Textarea(attrs={"rows": 6}),
            "html": forms.Textarea(attrs={"rows": 10, "dir": "ltr"}),
        }


class WrittenNamesSelect(forms.Select):
    """A choice of names people wrote (segments, templates, coupon pools): each option reads in
    its own direction, whatever the page's."""

    def create_option(self, *args, **kwargs):
        option = super().create_option(*args, **kwargs)
        if option["value"] not in ("", None):
            option["attrs"]["dir"] = "auto"
        return option


class CampaignForm(forms.ModelForm):
    """A new campaign: who (segment), where (a channel, or each customer's best one), the
    rules at send time, the A/B test; when, optionally."""

    # Jalali in Persian (1405/01/01 10:30 with a picker), the browser's input otherwise.
    send_at = LocalisedDateTimeField(
        label=_("Send at"),
        required=False,
        help_text=_("Empty: it stays a draft until someone sends it."),
    )
    in_customer_time_zone = forms.BooleanField(
        label=_("At that wall-clock time in each customer's time zone"), required=False
    )

    class Meta:
        model = Campaign
        fields = list(CAMPAIGN_FIELDS)
        widgets = {
            "name": forms.TextInput(attrs={"dir": "auto"}),
            "segment": WrittenNamesSelect,
            "coupon_pool": WrittenNamesSelect,
            "quiet_hours_start": forms.TimeInput(attrs={"type": "time"}),
            "quiet_hours_end": forms.TimeInput(attrs={"type": "time"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].queryset = Channel.objects.messaging().order_by("name")
        self.fields["channel"].empty_label = _("Best channel per customer")
        share = self.fields["ab_test_share"]
        share.min_value, share.max_value = 1, 100  # the table's check, said by the field
        share.validators += [MinValueValidator(1), MaxValueValidator(100)]
        share.widget.attrs.update(min=1, max=100)

    def clean(self):
        data = super().clean()
        if (data.get("quiet_hours_start") is None) != (data.get("quiet_hours_end") is None):
            self.add_error("quiet_hours_end", _("Give both ends of the quiet hours, or neither."))
        if data.get("send_at") and data["send_at"] <= timezone.now():
            self.add_error("send_at", _("Choose a time in the future, or leave it empty."))
        return data


class VariantForm(forms.Form):
    """One variant of the campaign; a row without a template is left out."""

    name = forms.CharField(label=_("Variant name"), max_length=40, required=False)
    template = forms.ModelChoiceField(
        label=_("Template"),
        queryset=MessageTemplate.objects.order_by("name"),
        required=False,
        widget=WrittenNamesSelect,
    )
    weight = forms.IntegerField(label=_("Weight"), min_value=1, max_value=100, initial=1)


class BaseVariantFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        chosen = [form.cleaned_data for form in self.forms if form.cleaned_data.get("template")]
        if not chosen:
            raise forms.ValidationError(_("Choose a template for at least one variant."))
        names = [data.get("name") or chr(ord("A") + i) for i, data in enumerate(chosen)]
        if len(set(names)) != len(names):
            raise forms.ValidationError(_("Variant names must differ."))
        self.drafts = [
            VariantDraft(name=name, template=data["template"], weight=data.get("weight") or 1)
            for name, data in zip(names, chosen, strict=True)
        ]


VariantFormSet = forms.formset_factory(
    VariantForm, formset=BaseVariantFormSet, extra=3, max_num=5, validate_max=True
)
