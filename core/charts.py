"""Charts on staff pages: what a view hands the `core/_chart.html` include, and the CSV of the
same figures.

A chart is drawn by `core/static/core/charts.js` (Chart.js, vendored under
`core/static/vendor/chartjs/`) from a `json_script` block: labels already written as staff
read them (Jalali dates, Persian digits: the server formats them through core.l10n), the
values as raw numbers, and the digits the browser formats ticks and tooltips in. The same
figures are a table a click away (`<details>`) and a CSV download (`?format=csv` on the same
view), so nothing is only a picture.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta

from django import forms
from django.http import HttpResponse
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from core import l10n
from core.exports import spreadsheet_cell
from core.forms import LocalisedDateField, LocalisedIntegerField
from core.models import Channel
from core.names import name_in_language
from core.templatetags.durations import UNITS as DURATION_UNITS
from core.templatetags.durations import duration

# Chart.js's locale argument does not pick the digits; Intl's numbering systems do.
NUMBERING_SYSTEMS = {"latin": "latn", "persian": "arabext", "arabic_indic": "arab"}
# How a value reads in ticks, tooltips and the table.
NUMBER, PERCENT, SECONDS = "number", "percent", "seconds"


@dataclass
class Chart:
    """One chart: `key` names its figure and its CSV (`?format=csv&chart=<key>`)."""

    key: str
    title: str
    kind: str  # "bar", "line", "doughnut"
    labels: list
    series: list  # [{"label": str, "data": [number, ...]}]
    stacked: bool = False
    value_format: str = NUMBER
    horizontal: bool = False
    note: str = ""
    csv_headers: list = field(default_factory=list)
    csv_rows: list = field(default_factory=list)

    @property
    def has_data(self) -> bool:
        return any(value for serie in self.series for value in serie["data"])

    def spec(self) -> dict:
        display = l10n.current()
        return {
            "type": self.kind,
            "labels": [str(label) for label in self.labels],
            "datasets": [
                {"label": str(serie["label"]), "data": [_raw(v) for v in serie["data"]]}
                | ({"stack": serie["stack"]} if serie.get("stack") else {})
                for serie in self.series
            ],
            "stacked": self.stacked,
            "horizontal": self.horizontal,
            "format": self.value_format,
            "numbering": NUMBERING_SYSTEMS.get(display.digits, "latn"),
            "language": display.language,
        } | ({"units": duration_units()} if self.value_format == SECONDS else {})

    def table(self) -> dict:
        """The figures as the page's table: one row per label, one column per series."""
        return {
            "headers": [str(serie["label"]) for serie in self.series],
            "rows": [
                {
                    "label": str(label),
                    "values": [
                        display_value(serie["data"][index], self.value_format)
                        for serie in self.series
                    ],
                }
                for index, label in enumerate(self.labels)
            ],
        }

    def context(self, request=None) -> dict:
        return {
            "csv_url": csv_url(request, self.key) if request is not None else "",
            "key": self.key,
            "data_id": f"chart-data-{self.key}",
            "title": self.title,
            "kind": self.kind,
            "spec": self.spec(),
            "table": self.table(),
            "has_data": self.has_data,
            "note": self.note,
        }


def _raw(value):
    if value is None:
        return None
    return float(value) if not isinstance(value, int) else value


def display_value(value, value_format=NUMBER) -> str:
    if value is None:
        return "—"
    if value_format == PERCENT:
        sign = "٪" if l10n.current().digits == "persian" else "%"
        return l10n.format_number(round(float(value) * 100, 1), 1) + sign
    if value_format == SECONDS:
        return l10n.localise_digits(str(duration(value)))
    if isinstance(value, float) and not value.is_integer():
        return l10n.format_number(value, 2)
    return l10n.format_number(value)


def duration_units() -> dict:
    """How the page's language writes a count of days, hours, minutes and seconds ("%(count)s
    h"), so ticks and tooltips read "3 h 20 min" as the table does (core.templatetags.durations)."""
    return {str(size): say("%(count)s") for size, say in DURATION_UNITS}


def day_label(day: date) -> str:
    """A day as staff read it on an axis: Jalali in Persian, with the language's digits."""
    return formats.date_format(day, "MONTH_DAY_FORMAT")


def csv_url(request, key: str) -> str:
    """This page with the same filters, as the CSV of one chart."""
    query = request.GET.copy()
    query["format"] = "csv"
    query["chart"] = key
    return f"{request.path}?{query.urlencode()}"


def wants_csv(request) -> bool:
    return request.GET.get("format") == "csv"


def csv_response(filename: str, headers: list, rows: list) -> HttpResponse:
    """The figures as CSV: raw numbers, ISO dates and codes, as a spreadsheet reads them."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([str(header) for header in headers])
    for row in rows:
        writer.writerow([_csv_cell(cell) for cell in row])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def _csv_cell(value):
    if isinstance(value, date):
        return value.isoformat()
    text = "" if value is None else str(value)
    # A cell a spreadsheet would run as a formula (=, +, -, @, tab, carriage return in front)
    # is written as text, by the rule every export follows; a negative number stays a number.
    return text if _is_number(text) else spreadsheet_cell(text)


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def chart_csv(chart: Chart, filename: str) -> HttpResponse:
    """A chart's CSV: its own rows when it has them, else its labels against its series."""
    if chart.csv_rows:
        return csv_response(filename, chart.csv_headers, chart.csv_rows)
    headers = [chart.csv_headers[0] if chart.csv_headers else _("label")] + [
        serie["label"] for serie in chart.series
    ]
    rows = [
        [label] + [serie["data"][index] for serie in chart.series]
        for index, label in enumerate(chart.labels)
    ]
    return csv_response(filename, headers, rows)


class DateRangeForm(forms.Form):
    """The period of a dashboard or report, from the URL (`?since=…&until=…`: ISO dates, or
    Jalali ones in Persian, in any digits). Defaults: the last 30 days up to today."""

    MAX_DAYS = 366

    since = LocalisedDateField(label=_("From"), required=False)
    until = LocalisedDateField(label=_("To"), required=False)

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        today = timezone.localdate()
        until = cleaned.get("until") or today
        since = cleaned.get("since") or until - timedelta(days=29)
        if since > until:
            self.add_error("since", _("The start date is after the end date."))
        elif (until - since).days >= self.MAX_DAYS:
            self.add_error("since", _("A period of at most 366 days."))
        cleaned["since"], cleaned["until"] = since, until
        return cleaned

    def days(self) -> list[date]:
        since, until = self.cleaned_data["since"], self.cleaned_data["until"]
        return [since + timedelta(days=n) for n in range((until - since).days + 1)]


class DashboardFilterForm(DateRangeForm):
    """The home dashboard's period and channel (`?channel=<code>`, empty: every channel)."""

    channel = forms.ChoiceField(label=_("Channel"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [("", _("All channels"))] + [
            (code, name_in_language(names, name))
            for code, name, names in Channel.objects.order_by("name").values_list(
                "code", "name", "names"
            )
        ]


class WindowReportForm(DateRangeForm):
    """A report's period and how many days before a purchase count (`?days=`, 1 to 365)."""

    days = LocalisedIntegerField(
        label=_("Days before the purchase"), required=False, min_value=1, max_value=365
    )

    def clean(self):
        cleaned = super().clean()
        if not self.has_error("days"):
            cleaned["days"] = cleaned.get("days") or 30
        return cleaned


class CohortReportForm(DateRangeForm):
    """A cohort report's period: the days of the first purchases. Default: the cohorts of
    the last twelve calendar months, this one included."""

    def clean(self):
        until = self.cleaned_data.get("until") or timezone.localdate()
        if not self.cleaned_data.get("since") and not self.has_error("since"):
            first = until.replace(day=1)
            for _month in range(11):
                first = (first - timedelta(days=1)).replace(day=1)
            self.cleaned_data["since"] = first
        return super().clean()


def filter_form(form_class, request):
    """The form bound to the URL's query (without `format` and `chart`), validated."""
    data = request.GET.copy()
    for name in ("format", "chart"):
        data.pop(name, None)
    form = form_class(data)
    form.is_valid()
    return form
