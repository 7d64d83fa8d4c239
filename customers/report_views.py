"""The omnichannel report pages (/reports/...): each is charts over the period of the URL,
the same figures as tables and CSV, and the role's permission to see them. The reports
themselves are computed by the owning apps (customers.reports, orders.reports and
orders.selectors, campaigns.selectors.reports, support.reports); this module only shapes
them into charts."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from campaigns.selectors import campaigns_created_before
from campaigns.selectors import reports as campaign_reports
from core import l10n
from core.charts import (
    PERCENT,
    SECONDS,
    Chart,
    CohortReportForm,
    DateRangeForm,
    WindowReportForm,
    chart_csv,
    day_label,
    display_value,
    filter_form,
    wants_csv,
)
from core.models import ChannelKind
from core.replica import reading_replica
from customers.reports import COHORT_GROUPS
from customers.selectors import stay_by_channels_used
from customers.services.rollups import (
    acquisition_report,
    journeys_report,
    retention_report,
    ropo_report,
    support_report,
)
from orders.choices import ReturnReason
from orders.reports import start_of
from orders.selectors import most_returned_products

KIND_NAMES = dict(ChannelKind.choices)


def kind_name(kind):
    return str(KIND_NAMES.get(kind, _("Unknown") if kind == "unknown" else kind))


def journey_name(steps):
    return " → ".join(kind_name(step) for step in steps)


def acquisition_charts(filters):
    report, refreshed = acquisition_report(filters["since"], filters["until"])
    weeks = report["weeks"]
    charts = [
        Chart(
            key="new-customers",
            title=_("New customers per week by channel of first touch"),
            kind="bar",
            stacked=True,
            labels=[day_label(week["week"]) for week in weeks],
            series=[
                {"label": kind_name(kind), "data": [week["counts"][i] for week in weeks]}
                for i, kind in enumerate(report["kinds"])
            ],
            note=_("Weeks start on Monday; labelled by their first day."),
            csv_headers=[_("week"), _("first touch"), _("new customers")],
            csv_rows=[
                [week["week"], kind, week["counts"][i]]
                for week in weeks
                for i, kind in enumerate(report["kinds"])
                if week["counts"][i]
            ],
        ),
    ]
    rows = report["first_purchases"]
    charts.append(
        Chart(
            key="first-90-days",
            title=_("What they bought in their first %(days)s days")
            % {"days": l10n.format_number(report["first_days"])},
            kind="bar",
            labels=[kind_name(row["kind"]) for row in rows],
            series=[
                {"label": _("New customers"), "data": [row["customers"] for row in rows]},
                {"label": _("Bought"), "data": [row["buyers"] for row in rows]},
                {"label": _("Orders"), "data": [row["orders"] for row in rows]},
            ],
            csv_headers=[
                _("first touch"),
                _("new customers"),
                _("bought"),
                _("orders"),
                _("revenue"),
                _("top products"),
            ],
            csv_rows=[
                [
                    row["kind"],
                    row["customers"],
                    row["buyers"],
                    row["orders"],
                    "; ".join(
                        f"{amount} {currency}" for currency, amount in row["revenue"].items()
                    ),
                    "; ".join(f"{p['product']} × {p['units']}" for p in row["top_products"]),
                ]
                for row in rows
            ],
        )
    )
    return charts, {
        "first_purchases": [{**row, "kind_name": kind_name(row["kind"])} for row in rows],
        "refreshed_at": refreshed,
    }


def ropo_charts(filters):
    report, refreshed = ropo_report(filters["since"], filters["until"], days=filters["days"])
    charts = []
    for key, group, title in (
        ("ropo-by-category", "by_category", _("Researched online, bought offline, by category")),
        ("ropo-by-store", "by_store", _("Researched online, bought offline, by store")),
    ):
        rows = report[group]
        name_key = "category" if group == "by_category" else "store"
        charts.append(
            Chart(
                key=key,
                title=title,
                kind="bar",
                horizontal=True,
                labels=[row[name_key] or _("No category") for row in rows],
                series=[
                    {"label": _("Share researched online"), "data": [r["share"] for r in rows]}
                ],
                value_format=PERCENT,
                csv_headers=[
                    name_key,
                    _("store and phone purchases"),
                    _("researched online"),
                    _("same product"),
                    _("share"),
                ],
                csv_rows=[
                    [r[name_key], r["purchases"], r["researched"], r["same_product"], r["share"]]
                    for r in rows
                ],
            )
        )
    total = {**report["total"], "share_display": display_value(report["total"]["share"], PERCENT)}
    return charts, {"total": total, "window_days": report["days"], "refreshed_at": refreshed}


def journey_charts(filters):
    report, refreshed = journeys_report(filters["since"], filters["until"], days=filters["days"])
    rows = report["journeys"]
    chart = Chart(
        key="journeys",
        title=_("Most common channel journeys before a purchase"),
        kind="bar",
        horizontal=True,
        labels=[journey_name(row["steps"]) for row in rows],
        series=[{"label": _("Purchases"), "data": [row["purchases"] for row in rows]}],
        csv_headers=[_("journey"), _("purchases")],
        csv_rows=[[" > ".join(row["steps"]), row["purchases"]] for row in rows],
    )
    return [chart], {"journeys": report, "refreshed_at": refreshed}


def returns_charts(filters):
    days = max((filters["until"] - filters["since"]).days + 1, 1)
    rows = most_returned_products(days=days, limit=15)
    reasons = dict(ReturnReason.choices)
    split = defaultdict(int)
    for row in rows:
        for code, units in row["reasons"]:
            split[code] += units
    return [
        Chart(
            key="returns-against-sales",
            title=_("Returns against sales, most returned products"),
            kind="bar",
            horizontal=True,
            labels=[f"{row['sku']} · {row['name']}" for row in rows],
            series=[
                {"label": _("Sold"), "data": [row["sold"] for row in rows]},
                {"label": _("Returned"), "data": [row["returned"] for row in rows]},
            ],
            note=_("The last %(days)s days up to today.") % {"days": l10n.format_number(days)},
            csv_headers=[_("SKU"), _("product"), _("sold"), _("returned"), _("rate")],
            csv_rows=[
                [row["sku"], row["name"], row["sold"], row["returned"], round(row["rate"], 4)]
                for row in rows
            ],
        ),
        Chart(
            key="return-reasons",
            title=_("Why they came back"),
            kind="doughnut",
            labels=[str(reasons.get(code, code)) for code in sorted(split)],
            series=[{"label": _("Units"), "data": [split[code] for code in sorted(split)]}],
            csv_headers=[_("reason"), _("units")],
            csv_rows=[[code, split[code]] for code in sorted(split)],
        ),
    ], {}


def channel_group_name(group, *, top=4):
    """ "2 kinds of channel", "3+ kinds of channel" (`top` and over)."""
    if group >= top:
        return _("%(count)s+ kinds of channel") % {"count": l10n.format_number(group)}
    return ngettext("%(count)s kind of channel", "%(count)s kinds of channel", group) % {
        "count": l10n.format_number(group)
    }


def retention_charts(filters):
    cohorts, refreshed = retention_report(filters["since"], filters["until"])
    top = COHORT_GROUPS[-1]
    curves = [curve for curve in cohorts["curves"] if curve["customers"] and curve["customers"][0]]
    rows = stay_by_channels_used(active_days=90)
    labels = [channel_group_name(row["group"]) for row in rows]
    cohort_months = sorted({row["month"] for row in cohorts["cohorts"]})
    sizes = {(row["month"], row["group"]): row["customers"] for row in cohorts["cohorts"]}
    return [
        Chart(
            key="retention-curves",
            title=_("Monthly cohort retention by number of channels used"),
            kind="line",
            labels=[
                _("Month %(number)s") % {"number": l10n.format_number(n)} for n in cohorts["months"]
            ],
            series=[
                {"label": channel_group_name(curve["group"], top=top), "data": curve["share"]}
                for curve in curves
            ],
            value_format=PERCENT,
            note=_(
                "Customers grouped by the calendar month of their first purchase; month N is "
                "the share of the cohorts that have reached it who bought again in it (the "
                "current month so far). Channels: the kinds on the customer's profile now."
            ),
            csv_headers=[
                _("channels"),
                _("cohort month"),
                _("customers"),
                _("months since first purchase"),
                _("bought"),
                _("share"),
            ],
            csv_rows=[
                [
                    f"{row['group']}+" if row["group"] >= top else row["group"],
                    row["month"],
                    row["customers"],
                    months,
                    active,
                    round(active / row["customers"], 4),
                ]
                for row in cohorts["cohorts"]
                for months, active in enumerate(row["active"])
            ],
        ),
        Chart(
            key="retention-cohorts",
            title=_("Customers per cohort by number of channels used"),
            kind="bar",
            stacked=True,
            labels=[day_label(month) for month in cohort_months],
            series=[
                {
                    "label": channel_group_name(group, top=top),
                    "data": [sizes.get((month, group), 0) for month in cohort_months],
                }
                for group in COHORT_GROUPS
            ],
            note=_("Cohorts are calendar months, labelled by their first day."),
            csv_headers=[_("cohort month"), _("channels"), _("customers")],
            csv_rows=[
                [
                    row["month"],
                    f"{row['group']}+" if row["group"] >= top else row["group"],
                    row["customers"],
                ]
                for row in cohorts["cohorts"]
            ],
        ),
        Chart(
            key="retention-active",
            title=_("Seen in the last 90 days, by number of channels used"),
            kind="bar",
            labels=labels,
            series=[
                {
                    "label": _("Share active"),
                    "data": [
                        row["active"] / row["customers"] if row["customers"] else 0 for row in rows
                    ],
                }
            ],
            value_format=PERCENT,
            csv_headers=[_("channels"), _("customers"), _("active"), _("days as customer")],
            csv_rows=[
                [row["group"], row["customers"], row["active"], row["stay_days"]] for row in rows
            ],
        ),
        Chart(
            key="retention-stay",
            title=_("Average days as a customer, by number of channels used"),
            kind="bar",
            labels=labels,
            series=[{"label": _("Days"), "data": [row["stay_days"] for row in rows]}],
        ),
    ], {"refreshed_at": refreshed}


def campaign_charts(filters):
    since, until = start_of(filters["since"]), start_of(filters["until"] + timedelta(days=1))
    results = []
    for campaign in campaigns_created_before(until):
        for variant in campaign_reports.campaign_results(campaign)["variants"]:
            results.append((f"{campaign.name} · {variant['variant']}", variant))
    charts = [
        Chart(
            key="campaign-funnel",
            title=_("Sends, opens, clicks and conversions per campaign and variant"),
            kind="bar",
            horizontal=True,
            labels=[name for name, _v in results],
            series=[
                {"label": label, "data": [v[key] for _n, v in results]}
                for key, label in (
                    ("sent", _("Sent")),
                    ("opened", _("Opened")),
                    ("clicked", _("Clicked")),
                    ("converted", _("Converted")),
                )
            ],
            csv_headers=[_("campaign"), _("sent"), _("opened"), _("clicked"), _("converted")],
            csv_rows=[
                [name, v["sent"], v["opened"], v["clicked"], v["converted"]] for name, v in results
            ],
        )
    ]
    weeks = campaign_reports.campaign_weeks(since=since, until=until)
    mondays = _mondays(filters["since"], filters["until"])
    per_week = {monday: defaultdict(int) for monday in mondays}
    for row in weeks:
        for key in ("sent", "opened", "clicked", "converted"):
            per_week[row["week"]][key] += row[key]
    funnel = (
        ("sent", _("Sent")),
        ("opened", _("Opened")),
        ("clicked", _("Clicked")),
        ("converted", _("Converted")),
    )
    charts.append(
        Chart(
            key="campaign-weeks",
            title=_("Sends, opens, clicks and conversions per week"),
            kind="line",
            labels=[day_label(monday) for monday in mondays],
            series=[
                {"label": label, "data": [per_week[m][key] for m in mondays]}
                for key, label in funnel
            ],
            note=_(
                "Weeks start on Monday; labelled by their first day. Each is counted in the "
                "week it happened."
            ),
            csv_headers=[
                _("week"),
                _("campaign"),
                _("variant"),
                _("sent"),
                _("opened"),
                _("clicked"),
                _("converted"),
                _("revenue"),
            ],
            csv_rows=[
                [
                    row["week"],
                    row["campaign"],
                    row["variant"],
                    row["sent"],
                    row["opened"],
                    row["clicked"],
                    row["converted"],
                    "; ".join(
                        f"{amount} {currency}" for currency, amount in row["revenue"].items()
                    ),
                ]
                for row in weeks
            ],
        )
    )
    revenue = defaultdict(lambda: defaultdict(lambda: defaultdict(Decimal)))
    for row in weeks:
        for currency, amount in row["revenue"].items():
            revenue[currency][f"{row['campaign']} · {row['variant']}"][row["week"]] += amount
    for currency in sorted(revenue):
        names = sorted(revenue[currency], key=lambda n: -sum(revenue[currency][n].values()))
        charts.append(
            Chart(
                key=f"campaign-revenue-{currency.lower()}",
                title=_("Revenue from campaign conversions per week, %(currency)s")
                % {"currency": currency},
                kind="bar",
                stacked=True,
                labels=[day_label(monday) for monday in mondays],
                series=[
                    {"label": name, "data": [revenue[currency][name].get(m, 0) for m in mondays]}
                    for name in names
                ],
                csv_headers=[_("week"), _("campaign and variant"), _("revenue")],
                csv_rows=[
                    [monday, name, revenue[currency][name][monday]]
                    for monday in mondays
                    for name in names
                    if revenue[currency][name].get(monday)
                ],
            )
        )
    attribution = campaign_reports.attribution_over_time(since=since, until=until)
    by_model = attribution["total"]
    model_names = {
        "first_touch": _("First touch"),
        "last_touch": _("Last touch"),
        "linear": _("Linear"),
    }
    for currency in sorted({c for credit in by_model.values() for c in credit}):
        kinds = sorted({k for credit in by_model.values() for k in credit.get(currency, {})})
        charts.append(
            Chart(
                key=f"attribution-{currency.lower()}",
                title=_("Revenue by channel and attribution model, %(currency)s")
                % {"currency": currency},
                kind="bar",
                labels=[kind_name(kind) for kind in kinds],
                series=[
                    {
                        "label": model_names[model],
                        "data": [by_model[model].get(currency, {}).get(k, 0) for k in kinds],
                    }
                    for model in campaign_reports.ATTRIBUTION_MODELS
                ],
                csv_headers=[_("channel"), *[model_names[m] for m in by_model]],
                csv_rows=[
                    [kind, *[by_model[m].get(currency, {}).get(kind, 0) for m in by_model]]
                    for kind in kinds
                ],
            )
        )
        weekly = {m: attribution["weeks"][m].get(currency, {}) for m in by_model}
        charts.append(
            Chart(
                key=f"attribution-weeks-{currency.lower()}",
                title=_("Revenue per week by channel under each attribution model, %(currency)s")
                % {"currency": currency},
                kind="bar",
                stacked=True,
                labels=[day_label(monday) for monday in mondays],
                series=[
                    {
                        "label": f"{kind_name(kind)} · {model_names[model]}",
                        "stack": model,
                        "data": [weekly[model].get(m, {}).get(kind, 0) for m in mondays],
                    }
                    for model in by_model
                    for kind in kinds
                ],
                note=_(
                    "One bar per model each week (first touch, last touch, linear), split by "
                    "the channels credited."
                ),
                csv_headers=[_("week"), _("channel"), *[model_names[m] for m in by_model]],
                csv_rows=[
                    [monday, kind, *[weekly[m].get(monday, {}).get(kind, 0) for m in by_model]]
                    for monday in mondays
                    for kind in kinds
                    if any(weekly[m].get(monday, {}).get(kind) for m in by_model)
                ],
            )
        )
    return charts, {}


def _mondays(since, until):
    monday = since - timedelta(days=since.weekday())
    mondays = []
    while monday <= until:
        mondays.append(monday)
        monday += timedelta(days=7)
    return mondays


def support_charts(filters):
    report, refreshed = support_report(filters["since"], filters["until"])
    volume = report["volume"]
    weeks = report["weeks"]
    mondays = [day_label(row["week"]) for row in weeks]
    teams = [row for row in report["teams"] if row.get("conversations")]
    agents = [row for row in report["agents"] if row.get("conversations")]
    week_note = _("Weeks start on Monday; labelled by their first day.")
    times_csv = [
        _("week"),
        _("conversations"),
        _("first response p50 (s)"),
        _("first response p90 (s)"),
        _("resolution p50 (s)"),
        _("resolution p90 (s)"),
    ]
    times_rows = [
        [
            row["week"],
            row["conversations"],
            _seconds(row["frt_p50"]),
            _seconds(row["frt_p90"]),
            _seconds(row["resolution_p50"]),
            _seconds(row["resolution_p90"]),
        ]
        for row in weeks
    ]

    def percentiles_chart(key, title, figure):
        """Median and 90th percentile of `figure` (frt, resolution) per week."""
        return Chart(
            key=key,
            title=title,
            kind="line",
            labels=mondays,
            series=[
                {"label": _("Median"), "data": [row[f"{figure}_p50"] for row in weeks]},
                {"label": _("90th percentile"), "data": [row[f"{figure}_p90"] for row in weeks]},
            ],
            value_format=SECONDS,
            note=week_note,
            csv_headers=times_csv,
            csv_rows=times_rows,
        )

    return [
        Chart(
            key="support-volume",
            title=_("Messages received per day by channel"),
            kind="line",
            labels=[day_label(row["day"]) for row in volume["days"]],
            series=[
                {"label": kind_name(kind), "data": [row["counts"][i] for row in volume["days"]]}
                for i, kind in enumerate(volume["kinds"])
            ],
            csv_headers=[_("day"), _("channel"), _("messages")],
            csv_rows=[
                [row["day"], kind, row["counts"][i]]
                for row in volume["days"]
                for i, kind in enumerate(volume["kinds"])
            ],
        ),
        percentiles_chart("support-first-response-weeks", _("First response time per week"), "frt"),
        percentiles_chart("support-resolution-weeks", _("Resolution time per week"), "resolution"),
        Chart(
            key="support-breach-weeks",
            title=_("SLA breach rate and satisfied customers per week"),
            kind="line",
            labels=mondays,
            series=[
                {"label": _("Breached"), "data": [row["breach_rate"] for row in weeks]},
                {
                    "label": _("Satisfied (CSAT 4 or 5)"),
                    "data": [row["csat_share"] for row in weeks],
                },
            ],
            value_format=PERCENT,
            note=week_note,
            csv_headers=[
                _("week"),
                _("conversations with an SLA"),
                _("breached"),
                _("CSAT answers"),
                _("satisfied"),
                _("average rating"),
            ],
            csv_rows=[
                [
                    row["week"],
                    row["with_sla"],
                    row["breached"],
                    row["csat_count"],
                    row["csat_satisfied"],
                    round(row["csat_average"], 2) if row["csat_average"] is not None else None,
                ]
                for row in weeks
            ],
        ),
        Chart(
            key="support-times",
            title=_("First response and resolution times per team"),
            kind="bar",
            labels=[row["group"] or _("No team") for row in teams],
            series=[
                {"label": label, "data": [row.get(key) for row in teams]}
                for key, label in (
                    ("frt_p50", _("First response, median")),
                    ("frt_p90", _("First response, 90th percentile")),
                    ("resolution_p50", _("Resolution, median")),
                    ("resolution_p90", _("Resolution, 90th percentile")),
                )
            ],
            value_format=SECONDS,
        ),
        Chart(
            key="support-team-breaches",
            title=_("SLA breach rate per team"),
            kind="bar",
            horizontal=True,
            labels=[row["group"] or _("No team") for row in teams],
            series=[{"label": _("Breached"), "data": [row.get("breach_rate") for row in teams]}],
            value_format=PERCENT,
            csv_headers=[_("team"), _("conversations with an SLA"), _("breached"), _("rate")],
            csv_rows=[
                [
                    row["group"] or "",
                    row.get("with_sla"),
                    row.get("breached"),
                    row.get("breach_rate"),
                ]
                for row in teams
            ],
        ),
        Chart(
            key="support-breaches",
            title=_("SLA breach rate per agent"),
            kind="bar",
            horizontal=True,
            labels=[row["group"] or _("Unassigned") for row in agents],
            series=[{"label": _("Breached"), "data": [row.get("breach_rate") for row in agents]}],
            value_format=PERCENT,
            csv_headers=[_("agent"), _("conversations with an SLA"), _("breached"), _("rate")],
            csv_rows=[
                [
                    row["group"] or "",
                    row.get("with_sla"),
                    row.get("breached"),
                    row.get("breach_rate"),
                ]
                for row in agents
            ],
        ),
        Chart(
            key="support-csat",
            title=_("Satisfied customers (CSAT 4 or 5) per team"),
            kind="bar",
            labels=[row["group"] or _("No team") for row in teams],
            series=[{"label": _("Satisfied"), "data": [row.get("csat_share") for row in teams]}],
            value_format=PERCENT,
        ),
    ], {"refreshed_at": refreshed}


def _seconds(value):
    return None if value is None else round(value)


@dataclass(frozen=True)
class Report:
    key: str
    title: str
    description: str
    perm: str
    charts: object
    form: type = DateRangeForm


REPORTS = {
    report.key: report
    for report in (
        Report(
            "acquisition",
            gettext_lazy("Acquisition"),
            gettext_lazy(
                "New customers per week by the channel of their first touch, and what they "
                "bought in their first 90 days."
            ),
            "customers.view_customer",
            acquisition_charts,
        ),
        Report(
            "ropo",
            gettext_lazy("Research online, buy offline"),
            gettext_lazy(
                "Store and phone purchases preceded by a web or app view of the same product "
                "or its category within the days you choose."
            ),
            "customers.view_customer",
            ropo_charts,
            WindowReportForm,
        ),
        Report(
            "journeys",
            gettext_lazy("Channel journeys"),
            gettext_lazy("The most common sequences of channels before a purchase."),
            "customers.view_customer",
            journey_charts,
            WindowReportForm,
        ),
        Report(
            "returns",
            gettext_lazy("Returns against sales"),
            gettext_lazy("The most returned products, units sold against units returned."),
            "orders.view_order",
            returns_charts,
        ),
        Report(
            "retention",
            gettext_lazy("Retention by number of channels"),
            gettext_lazy(
                "Do customers who use more channels stay longer? Monthly cohorts of first "
                "purchases by number of channels used."
            ),
            "customers.view_customer",
            retention_charts,
            CohortReportForm,
        ),
        Report(
            "campaigns",
            gettext_lazy("Campaigns"),
            gettext_lazy(
                "Campaign results per variant and per week, and revenue by attribution model "
                "side by side."
            ),
            "campaigns.view_campaign",
            campaign_charts,
        ),
        Report(
            "support",
            gettext_lazy("Support"),
            gettext_lazy(
                "Volume by channel, response and resolution times per week, breaches per team "
                "and agent, CSAT."
            ),
            "support.view_conversation",
            support_charts,
        ),
    )
}


def reports_for(user):
    return [
        {
            "key": report.key,
            "title": report.title,
            "description": report.description,
            "url": reverse(f"reports:{report.key}"),
        }
        for report in REPORTS.values()
        if user.has_perm(report.perm)
    ]


@staff_member_required
@reading_replica()
def report_index(request):
    """The reports the staff member's role may read."""
    return render(request, "reports/index.html", {"reports": reports_for(request.user)})


@staff_member_required
@reading_replica()
def report_page(request, key):
    report = REPORTS.get(key)
    if report is None:
        raise Http404
    if not request.user.has_perm(report.perm):
        raise PermissionDenied
    form = filter_form(report.form, request)
    charts, extra = [], {}
    if form.is_valid():
        charts, extra = report.charts(form.cleaned_data)
        if wants_csv(request):
            chart = next((c for c in charts if c.key == request.GET.get("chart")), None)
            if chart is None:
                raise Http404(_("No such chart on this page."))
            return chart_csv(chart, f"{report.key}-{chart.key}")
    return render(
        request,
        "reports/report.html",
        {
            "report": report,
            "form": form,
            "charts": [chart.context(request) for chart in charts],
            "computed_at": timezone.now(),
            **extra,
        },
        status=400 if form.errors else 200,
    )
