"""Forms of the catalog's staff pages."""

from django import forms
from django.utils.translation import gettext_lazy as _

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
