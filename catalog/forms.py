"""Forms of the catalog's staff pages."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from catalog.services import currency_decimals

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV or XLSX file"),
        help_text=_("One row per variant; the shape of the export."),
    )
    dry_run = forms.BooleanField(
        label=_("Dry run: check every row, write nothing"), required=False, initial=True
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".xlsx")):
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB."))
        return upload


class ProductSearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    category = forms.SlugField(label=_("Category"), required=False)


class ChannelPricesForm(forms.Form):
    """The variants of one product on one selling channel: price, compare-at price and
    listed, in the channel's currency. Parses only; the rules are the catalog service's,
    and only the rows that change go to it."""

    def __init__(self, *args, channel, variants, current, **kwargs):
        super().__init__(*args, **kwargs)
        self.channel = channel
        self.variants = list(variants)
        self.current = current  # {variant id: its VariantListing on this channel}
        self._sent = []  # the variants of the rows given to the service, by row index
        step = str(Decimal(1).scaleb(-currency_decimals(channel.currency)))
        for variant in self.variants:
            listing = current.get(variant.pk)
            names = {
                "sku": variant.sku,
                "channel": channel.display_name,
                "currency": channel.currency,
            }
            compare = listing.compare_at_price if listing else None
            self.fields[f"price_{variant.pk}"] = forms.DecimalField(
                label=_("Price of %(sku)s on %(channel)s (%(currency)s)") % names,
                required=False,
                max_digits=16,
                initial=listing.price.amount if listing else None,
                widget=forms.NumberInput(attrs={"step": step, "min": "0", "class": "price"}),
            )
            self.fields[f"compare_at_price_{variant.pk}"] = forms.DecimalField(
                label=_("Compare-at price of %(sku)s on %(channel)s (%(currency)s)") % names,
                required=False,
                max_digits=16,
                initial=compare.amount if compare is not None else None,
                widget=forms.NumberInput(attrs={"step": step, "min": "0", "class": "price"}),
            )
            self.fields[f"is_listed_{variant.pk}"] = forms.BooleanField(
                label=_("%(sku)s listed on %(channel)s") % names,
                required=False,
                initial=listing.is_listed if listing else True,
            )
        for field in self.fields.values():
            field.widget.attrs["aria-label"] = field.label

    def rows(self):
        """One row per variant for the template: the variant and its three bound fields."""
        return [
            {
                "variant": variant,
                "price": self[f"price_{variant.pk}"],
                "compare_at_price": self[f"compare_at_price_{variant.pk}"],
                "is_listed": self[f"is_listed_{variant.pk}"],
            }
            for variant in self.variants
        ]

    def changed_rows(self) -> list[dict]:
        """The rows for `set_variant_prices`: a variant not on the channel yet once a price
        is typed for it, a priced one when anything about it differs."""
        rows, self._sent = [], []
        for variant in self.variants:
            price = self.cleaned_data.get(f"price_{variant.pk}")
            compare = self.cleaned_data.get(f"compare_at_price_{variant.pk}")
            is_listed = self.cleaned_data.get(f"is_listed_{variant.pk}", False)
            listing = self.current.get(variant.pk)
            if listing is None and price is None and compare is None:
                continue
            if listing is not None:
                was_compare = listing.compare_at_price
                unchanged = (
                    price == listing.price.amount
                    and compare == (was_compare.amount if was_compare is not None else None)
                    and is_listed == listing.is_listed
                )
                if unchanged:
                    continue
            rows.append(
                {
                    "variant": variant,
                    "price": price,
                    "compare_at_price": compare,
                    "is_listed": is_listed,
                }
            )
            self._sent.append(variant)
        return rows

    def add_service_errors(self, error) -> None:
        """Put the service's `<row index>.<field>` errors on this form's fields."""
        for path, texts in error.fields.items():
            index, _dot, name = path.partition(".")
            field = None
            if index.isdigit() and int(index) < len(self._sent):
                field = f"{name}_{self._sent[int(index)].pk}"
            if field in self.fields:
                self.add_error(field, texts)
            else:
                self.add_error(None, texts)
