"""Forms of the agent inbox (the list filters, the composer, the call/visit log) and the
admin's canned reply."""

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from core.models import Channel, ChannelKind
from core.placeholders import unknown_placeholders
from orders.choices import ReturnReason
from support.models import CannedReply, ConversationStatus, Priority, Team
from support.selectors import InboxFilters
from support.services import after_sales
from support.services.outbound import CANNED_PLACEHOLDERS

STATUS_CHOICES = [
    ("open", _("Open")),
    ("active", _("Open, pending or snoozed")),
    *[(v, label) for v, label in ConversationStatus.choices if v != "open"],
    ("all", _("All")),
]


class InboxFilterForm(forms.Form):
    view = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[("", _("Everyone's")), ("mine", _("Mine")), ("unassigned", _("Unassigned"))],
    )
    status = forms.ChoiceField(label=_("Status"), required=False, choices=STATUS_CHOICES)
    team = forms.ModelChoiceField(
        label=_("Team"), required=False, queryset=Team.objects.all(), empty_label=_("All teams")
    )
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    priority = forms.TypedChoiceField(
        label=_("Priority"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("Any")), *Priority.choices],
    )
    tag = forms.CharField(label=_("Tag"), required=False, max_length=50)
    breaching = forms.BooleanField(label=_("Breaching SLA"), required=False)
    q = forms.CharField(label=_("Search"), required=False, max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [("", _("All channels")), *ChannelKind.choices]

    def filters(self) -> InboxFilters:
        data = self.cleaned_data
        return InboxFilters(
            view=data.get("view") or "",
            team=data["team"].pk if data.get("team") else None,
            channel=data.get("channel") or "",
            status=data.get("status") or "open",
            priority=data.get("priority"),
            tag=data.get("tag") or "",
            breaching=bool(data.get("breaching")),
            q=data.get("q") or "",
        )


class ComposerForm(forms.Form):
    mode = forms.ChoiceField(
        choices=[("reply", _("Reply")), ("note", _("Internal note"))], initial="reply"
    )
    text = forms.CharField(
        label=_("Message"), widget=forms.Textarea(attrs={"rows": 5}), max_length=20000
    )
    channel = forms.ModelChoiceField(
        label=_("Send on"), queryset=Channel.objects.none(), required=False
    )
    then = forms.ChoiceField(
        label=_("Then"),
        required=False,
        choices=[
            ("", _("Keep status")),
            (ConversationStatus.PENDING, _("Set pending on customer")),
            (ConversationStatus.RESOLVED, _("Resolve")),
        ],
    )
    idempotency_key = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)

    def __init__(self, *args, channels=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].queryset = Channel.objects.filter(pk__in=[c.pk for c in channels])
        self.fields["channel"].empty_label = None
        self.channel_list = list(channels)
        if channels:
            self.fields["channel"].initial = channels[0].pk


class ContactLogForm(forms.Form):
    channel = forms.ModelChoiceField(
        label=_("Channel"),
        queryset=Channel.objects.filter(kind__in=[ChannelKind.PHONE, ChannelKind.STORE]),
        empty_label=None,
    )
    text = forms.CharField(
        label=_("What was said"), widget=forms.Textarea(attrs={"rows": 3}), max_length=20000
    )


class AfterSalesForm(forms.Form):
    """From a conversation: a return, an exchange or a replacement for one of the customer's
    orders, recorded in the channel the customer wrote on."""

    RETURN, EXCHANGE, REPLACEMENT = (
        after_sales.RETURN,
        after_sales.EXCHANGE,
        after_sales.REPLACEMENT,
    )
    action = forms.ChoiceField(
        label=_("What"),
        choices=[
            (RETURN, _("Return (refund)")),
            (EXCHANGE, _("Exchange")),
            (REPLACEMENT, _("Replacement for a defect")),
        ],
    )
    order = forms.ChoiceField(label=_("Order"))
    sku = forms.CharField(label=_("SKU coming back"), max_length=64)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, initial=1)
    reason = forms.ChoiceField(label=_("Reason"))
    new_sku = forms.CharField(
        label=_("Exchange for SKU"),
        max_length=64,
        required=False,
        help_text=_("Only for an exchange."),
    )

    def __init__(self, *args, orders=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["order"].choices = [(o.number, o.number) for o in orders]
        self.fields["reason"].choices = ReturnReason.choices

    def clean(self):
        data = super().clean()
        if data.get("action") == self.EXCHANGE and not data.get("new_sku"):
            self.add_error("new_sku", _("Name the SKU the customer gets instead."))
        return data


CANNED_PLACEHOLDER_LIST = ", ".join(f"{{{name}}}" for name in CANNED_PLACEHOLDERS)


class CannedReplyForm(forms.ModelForm):
    """The admin's canned reply: only the known {placeholders}, each plain."""

    class Meta:
        model = CannedReply
        fields = ["title", "names", "shortcut", "body", "language", "team"]
        help_texts = {
            "body": format_lazy(
                _("Placeholders: {names}. Nothing else in braces is filled in."),
                names=CANNED_PLACEHOLDER_LIST,
            )
        }

    def clean_body(self):
        body = self.cleaned_data["body"]
        unknown = unknown_placeholders(body, CANNED_PLACEHOLDERS)
        if unknown:
            raise forms.ValidationError(
                _("Unknown placeholder: %(placeholder)s. Use one of: %(names)s."),
                params={
                    "placeholder": ", ".join(unknown),
                    "names": CANNED_PLACEHOLDER_LIST,
                },
            )
        return body
