"""Staff forms of orders: list filters, the phone edit, the store-counter return/exchange."""

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import LocalisedCharField
from core.models import Channel
from inventory.selectors import active_locations
from orders.models import FulfilmentMethod, OrderKind, OrderStatus, ReturnReason


def channel_choices():
    return [("", _("All"))] + [
        (c.code, c.display_name) for c in Channel.objects.filter(sells=True).order_by("name")
    ]


ALL = _("All")


def store_choices(blank=ALL):
    return [("", blank)] + [(loc.code, loc.display_name) for loc in active_locations()]


class OrderFilterForm(forms.Form):
    q = LocalisedCharField(label=_("Order number"), required=False)
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All"))] + OrderStatus.choices
    )
    method = forms.ChoiceField(
        label=_("Fulfilment"), required=False, choices=[("", _("All"))] + FulfilmentMethod.choices
    )
    store = forms.ChoiceField(label=_("Store"), required=False)
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("All"))] + OrderKind.choices
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = channel_choices()
        self.fields["store"].choices = store_choices()


class AddLineForm(forms.Form):
    sku = forms.CharField(label=_("SKU"), max_length=64)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, initial=1)
    channel = forms.ChoiceField(label=_("Asked through"), initial="phone")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = channel_choices()[1:]


class ChangeVariantForm(forms.Form):
    line = forms.IntegerField(widget=forms.HiddenInput)
    sku = forms.CharField(label=_("New SKU"), max_length=64)
    channel = forms.ChoiceField(label=_("Asked through"), initial="phone")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = channel_choices()[1:]


class CounterReturnForm(forms.Form):
    """At a store counter: the goods are here, so they are received at once."""

    order = forms.CharField(label=_("Order number"), max_length=20)
    sku = forms.CharField(label=_("Returned SKU"), max_length=64)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, initial=1)
    reason = forms.ChoiceField(label=_("Reason"), choices=ReturnReason.choices)
    location = forms.ChoiceField(label=_("Store"))
    new_sku = forms.CharField(
        label=_("Exchange for SKU"),
        max_length=64,
        required=False,
        help_text=_("Leave empty for a refund; give a SKU to hand over new goods instead."),
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].choices = store_choices(blank="—")[1:]
