"""Partner API of the omnichannel reports (/api/v1/reports/...): acquisition, research online
buy offline and channel journeys, with the same figures as the staff pages. Reads need the
`customers:read` scope (staff: the customers view permission): they describe customers'
behaviour across channels. Periods are ISO dates; amounts per currency, as strings."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.charts import DateRangeForm, WindowReportForm
from customers.services.rollups import acquisition_report, journeys_report, ropo_report

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
    def get(self, request):
        filters = _filters(request, WindowReportForm)
        report, _refreshed = ropo_report(filters["since"], filters["until"], days=filters["days"])
        return Response({"since": filters["since"], "until": filters["until"], **report})


class JourneysReportView(_ReportView):
    """The most common sequences of channel kinds in the `days` days before a purchase,
    ending with the purchase's own channel."""

    @extend_schema(parameters=[*PERIOD, WINDOW], responses={200: JourneysOut})
    def get(self, request):
        filters = _filters(request, WindowReportForm)
        report, _refreshed = journeys_report(
            filters["since"], filters["until"], days=filters["days"]
        )
        return Response({"since": filters["since"], "until": filters["until"], **report})
