"""Partner API of the omnichannel reports (/api/v1/reports/...): acquisition, research online
buy offline, channel journeys and retention cohorts, with the same figures as the staff
pages, need the `customers:read` scope (staff: the customers view permission): they
describe customers' behaviour across channels. The support report needs `support:read`
(staff: the conversations view permission), the campaigns report `campaigns:read` (staff:
the campaigns view permission). Periods are ISO dates; amounts per currency, as strings."""

from datetime import timedelta
from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.selectors.reports import ATTRIBUTION_MODELS, attribution_over_time, campaign_weeks
from core.charts import CohortReportForm, DateRangeForm, WindowReportForm
from core.replica import reading_replica
from customers.reports import COHORT_GROUPS
from customers.services.rollups import (
    acquisition_report,
    journeys_report,
    retention_report,
    ropo_report,
    support_report,
)
from orders.reports import start_of

READ = "customers.view_customer"

PERIOD = [
    OpenApiParameter(
        "since", OpenApiTypes.DATE, description="First day (ISO). Default: 29 days before `until`."
    ),
    OpenApiParameter("until", OpenApiTypes.DATE, description="Last day (ISO). Default: today."),
]
WINDOW = OpenApiParameter(
    "days", int, default=30, description="Days before a purchase that count (1 to 365)."
)


class PeriodOut(serializers.Serializer):
    since = serializers.DateField()
    until = serializers.DateField()


class AcquisitionWeekOut(serializers.Serializer):
    week = serializers.DateField(help_text="The Monday the week starts on.")
    first_touch = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="New customers per channel kind of their first touch ('unknown': none).",
    )


class ProductUnitsOut(serializers.Serializer):
    product = serializers.CharField()
    units = serializers.IntegerField()


class FirstPurchasesOut(serializers.Serializer):
    first_touch = serializers.CharField(help_text="A channel kind, or 'unknown'.")
    customers = serializers.IntegerField()
    buyers = serializers.IntegerField(help_text="Of them, bought in their first days.")
    orders = serializers.IntegerField()
    revenue = serializers.DictField(
        child=serializers.DecimalField(max_digits=20, decimal_places=2),
        help_text="Per currency; never added across currencies.",
    )
    top_products = ProductUnitsOut(many=True)


class AcquisitionOut(PeriodOut):
    first_days = serializers.IntegerField()
    weeks = AcquisitionWeekOut(many=True)
    first_purchases = FirstPurchasesOut(many=True)


class RopoFiguresOut(serializers.Serializer):
    purchases = serializers.IntegerField(help_text="Store and phone purchases.")
    researched = serializers.IntegerField(help_text="Preceded by a web or app product view.")
    same_product = serializers.IntegerField(help_text="Preceded by a view of the very product.")
    share = serializers.FloatField(help_text="researched / purchases, 0 to 1.")


class RopoCategoryOut(RopoFiguresOut):
    category = serializers.CharField()


class RopoStoreOut(RopoFiguresOut):
    store = serializers.CharField(help_text="The store, or the channel of a phone purchase.")


class RopoOut(PeriodOut):
    days = serializers.IntegerField()
    total = RopoFiguresOut()
    by_category = RopoCategoryOut(many=True)
    by_store = RopoStoreOut(many=True)


class JourneyOut(serializers.Serializer):
    steps = serializers.ListField(
        child=serializers.CharField(), help_text="Channel kinds in order, the purchase's last."
    )
    purchases = serializers.IntegerField()


class JourneysOut(PeriodOut):
    days = serializers.IntegerField()
    purchases = serializers.IntegerField()
    multichannel = serializers.IntegerField(help_text="Purchases after more than one channel.")
    journeys = JourneyOut(many=True)


def _filters(request, form_class):
    form = form_class(request.query_params)
    if not form.is_valid():
        raise exceptions.ValidationError(
            {name: [str(error) for error in errors] for name, errors in form.errors.items()}
        )
    return form.cleaned_data


class _ReportView(APIView):
    scope_area = "customers"
    staff_permissions = {"read": READ}


class AcquisitionReportView(_ReportView):
    """New customers per week by the channel kind of their first touch, and what each group
    bought in its first 90 days."""

    @extend_schema(parameters=PERIOD, responses={200: AcquisitionOut})
    @reading_replica()
    def get(self, request):
        filters = _filters(request, DateRangeForm)
        report, _refreshed = acquisition_report(filters["since"], filters["until"])
        return Response(
            {
                "since": filters["since"],
                "until": filters["until"],
                "first_days": report["first_days"],
                "weeks": [
                    {
                        "week": week["week"],
                        "first_touch": {
                            kind: n
                            for kind, n in zip(report["kinds"], week["counts"], strict=True)
                            if n
                        },
                    }
                    for week in report["weeks"]
                ],
                "first_purchases": [
                    {
                        "first_touch": row["kind"],
                        **{k: row[k] for k in ("customers", "buyers", "orders", "top_products")},
                        "revenue": {c: str(amount) for c, amount in row["revenue"].items()},
                    }
                    for row in report["first_purchases"]
                ],
            }
        )


class RopoReportView(_ReportView):
    """Research online, buy offline: the share of store and phone purchases preceded by a
    web or app view of the same product or its category within `days` days, by category and
    by store."""

    @extend_schema(parameters=[*PERIOD, WINDOW], responses={200: RopoOut})
    @reading_replica()
    def get(self, request):
        filters = _filters(request, WindowReportForm)
        report, _refreshed = ropo_report(filters["since"], filters["until"], days=filters["days"])
        return Response({"since": filters["since"], "until": filters["until"], **report})


class JourneysReportView(_ReportView):
    """The most common sequences of channel kinds in the `days` days before a purchase,
    ending with the purchase's own channel."""

    @extend_schema(parameters=[*PERIOD, WINDOW], responses={200: JourneysOut})
    @reading_replica()
    def get(self, request):
        filters = _filters(request, WindowReportForm)
        report, _refreshed = journeys_report(
            filters["since"], filters["until"], days=filters["days"]
        )
        return Response({"since": filters["since"], "until": filters["until"], **report})


class RetentionCurveOut(serializers.Serializer):
    channels = serializers.CharField(help_text="'1', '2' or '3+' kinds of channel used.")
    customers = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Per month since the first purchase (0 first): the customers of the "
        "cohorts that have reached it.",
    )
    bought = serializers.ListField(
        child=serializers.IntegerField(), help_text="Of them, bought in that month."
    )
    share = serializers.ListField(
        child=serializers.FloatField(allow_null=True), help_text="bought / customers, 0 to 1."
    )


class RetentionCohortOut(serializers.Serializer):
    month = serializers.DateField(help_text="The first day of the month of the first purchase.")
    channels = serializers.CharField(help_text="'1', '2' or '3+'.")
    customers = serializers.IntegerField()
    bought = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Customers who bought in each month since the first (0: the cohort's "
        "size), up to the current month.",
    )


class RetentionOut(PeriodOut):
    months = serializers.ListField(
        child=serializers.IntegerField(), help_text="Months since the first purchase."
    )
    curves = RetentionCurveOut(many=True)
    cohorts = RetentionCohortOut(many=True)


def _channels(group):
    return f"{group}+" if group >= COHORT_GROUPS[-1] else str(group)


class RetentionReportView(_ReportView):
    """Monthly cohort retention by number of channel kinds used: the customers whose first
    purchase fell on since..until (default: the last twelve calendar months), grouped by the
    calendar month of that purchase and by the kinds of channel on their profile (1, 2, 3+),
    and how many bought again in each later month up to now (the current month so far). A
    curve's month N covers the cohorts that have reached it."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "since",
                OpenApiTypes.DATE,
                description="First day of first purchases (ISO). Default: the first day of "
                "the month eleven months before `until`'s.",
            ),
            PERIOD[1],
        ],
        responses={200: RetentionOut},
    )
    @reading_replica()
    def get(self, request):
        filters = _filters(request, CohortReportForm)
        report, _refreshed = retention_report(filters["since"], filters["until"])
        return Response(
            {
                "since": filters["since"],
                "until": filters["until"],
                "months": report["months"],
                "curves": [
                    {
                        "channels": _channels(curve["group"]),
                        "customers": curve["customers"],
                        "bought": curve["active"],
                        "share": curve["share"],
                    }
                    for curve in report["curves"]
                ],
                "cohorts": [
                    {
                        "month": row["month"],
                        "channels": _channels(row["group"]),
                        "customers": row["customers"],
                        "bought": row["active"],
                    }
                    for row in report["cohorts"]
                ],
            }
        )


SECONDS_HELP = "Seconds; null when no conversation of the group has it yet."


class SupportFiguresOut(serializers.Serializer):
    conversations = serializers.IntegerField(help_text="Started in the period (or week).")
    with_sla = serializers.IntegerField(help_text="Of them, with an SLA target.")
    breached = serializers.IntegerField(help_text="Of them, any SLA target breached.")
    breach_rate = serializers.FloatField(
        allow_null=True, help_text="breached / with_sla, 0 to 1; null without an SLA."
    )
    first_response_p50 = serializers.FloatField(allow_null=True, help_text=SECONDS_HELP)
    first_response_p90 = serializers.FloatField(allow_null=True, help_text=SECONDS_HELP)
    resolution_p50 = serializers.FloatField(allow_null=True, help_text=SECONDS_HELP)
    resolution_p90 = serializers.FloatField(allow_null=True, help_text=SECONDS_HELP)
    csat_answers = serializers.IntegerField(help_text="Survey answers given in the period.")
    csat_satisfied = serializers.IntegerField(help_text="Of them, rated 4 or 5.")
    csat_average = serializers.FloatField(allow_null=True, help_text="Average rating, 1 to 5.")


class SupportWeekOut(SupportFiguresOut):
    week = serializers.DateField(help_text="The Monday the week starts on.")


class SupportGroupOut(SupportFiguresOut):
    name = serializers.CharField(allow_null=True, help_text="Team or agent; null: none.")


class SupportOut(PeriodOut):
    overall = SupportFiguresOut()
    weeks = SupportWeekOut(many=True)
    teams = SupportGroupOut(many=True)
    agents = SupportGroupOut(many=True, help_text="By username.")


def _support_figures(row):
    return {
        "conversations": row.get("conversations") or 0,
        "with_sla": row.get("with_sla") or 0,
        "breached": row.get("breached") or 0,
        "breach_rate": row.get("breach_rate"),
        "first_response_p50": row.get("frt_p50"),
        "first_response_p90": row.get("frt_p90"),
        "resolution_p50": row.get("resolution_p50"),
        "resolution_p90": row.get("resolution_p90"),
        "csat_answers": row.get("csat_count") or 0,
        "csat_satisfied": row.get("csat_satisfied") or 0,
        "csat_average": (
            float(row["csat_average"]) if row.get("csat_average") is not None else None
        ),
    }


class SupportReportView(APIView):
    """Support over the local days since..until: per week (Monday) of the conversations
    started in it, first response and resolution time percentiles (p50, p90, in seconds),
    the SLA breach rate and CSAT (answers given that week); the same per team and per agent
    over the period. Percentiles by PostgreSQL's percentile_cont (linear interpolation; the
    same in Python on SQLite)."""

    scope_area = "support"
    staff_permissions = {"read": "support.view_conversation"}

    @extend_schema(parameters=PERIOD, responses={200: SupportOut})
    @reading_replica()
    def get(self, request):
        filters = _filters(request, DateRangeForm)
        report, _refreshed = support_report(filters["since"], filters["until"])
        return Response(
            {
                "since": filters["since"],
                "until": filters["until"],
                "overall": _support_figures(report["overall"]),
                "weeks": [
                    {"week": row["week"], **_support_figures(row)} for row in report["weeks"]
                ],
                "teams": [
                    {"name": row["group"], **_support_figures(row)} for row in report["teams"]
                ],
                "agents": [
                    {"name": row["group"], **_support_figures(row)} for row in report["agents"]
                ],
            }
        )


MONEY_PER_CURRENCY = serializers.DictField(
    child=serializers.DecimalField(max_digits=20, decimal_places=2),
    help_text="Per currency; never added across currencies.",
)


class CampaignWeekOut(serializers.Serializer):
    week = serializers.DateField(help_text="The Monday the week starts on.")
    campaign = serializers.CharField()
    variant = serializers.CharField(help_text="'(held)' for messages without a variant.")
    sent = serializers.IntegerField(help_text="Messages sent that week.")
    opened = serializers.IntegerField(help_text="Messages first opened that week.")
    clicked = serializers.IntegerField(help_text="Messages first clicked that week.")
    converted = serializers.IntegerField(help_text="Messages that converted that week.")
    revenue = serializers.DictField(
        child=serializers.DecimalField(max_digits=20, decimal_places=2),
        help_text="Revenue of those conversions per currency of the order.",
    )


class AttributionWeekOut(serializers.Serializer):
    week = serializers.DateField(help_text="The Monday the week starts on.")
    currency = serializers.CharField()
    channel = serializers.CharField(help_text="A channel kind credited, or 'unknown'.")
    first_touch = serializers.DecimalField(max_digits=20, decimal_places=2)
    last_touch = serializers.DecimalField(max_digits=20, decimal_places=2)
    linear = serializers.DecimalField(max_digits=20, decimal_places=2)


class CampaignsOut(PeriodOut):
    lookback_days = serializers.IntegerField(help_text="Touches this many days before an order.")
    weeks = CampaignWeekOut(many=True)
    attribution = AttributionWeekOut(
        many=True,
        help_text="Revenue of the orders completed each week credited to channel kinds under "
        "the three models side by side, per currency.",
    )


class CampaignsReportView(APIView):
    """Campaigns over the local days since..until, per week (Monday): sends, opens, clicks,
    conversions and their revenue per campaign and variant, each counted in the week it
    happened; and the revenue of the orders completed each week credited to channel kinds
    under first-touch, last-touch and linear attribution side by side (touches of the 30
    days before an order; an order without one credits its own channel), per currency."""

    scope_area = "campaigns"
    staff_permissions = {"read": "campaigns.view_campaign"}

    @extend_schema(parameters=PERIOD, responses={200: CampaignsOut})
    @reading_replica()
    def get(self, request):
        filters = _filters(request, DateRangeForm)
        since = start_of(filters["since"])
        until = start_of(filters["until"] + timedelta(days=1))
        weeks = campaign_weeks(since=since, until=until)
        attribution = attribution_over_time(since=since, until=until)["weeks"]
        cells: dict = {}
        for model, by_currency in attribution.items():
            for currency, by_week in by_currency.items():
                for week, kinds in by_week.items():
                    for kind, value in kinds.items():
                        cell = cells.setdefault(
                            (week, currency, kind),
                            dict.fromkeys(ATTRIBUTION_MODELS, Decimal("0.00")),
                        )
                        cell[model] = value
        return Response(
            {
                "since": filters["since"],
                "until": filters["until"],
                "lookback_days": 30,
                "weeks": [
                    {**row, "revenue": {c: str(v) for c, v in row["revenue"].items()}}
                    for row in weeks
                ],
                "attribution": [
                    {
                        "week": week,
                        "currency": currency,
                        "channel": kind,
                        **{model: str(value) for model, value in models.items()},
                    }
                    for (week, currency, kind), models in sorted(cells.items())
                ],
            }
        )
