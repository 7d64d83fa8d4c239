"""Campaigns partner API (campaigns:read / campaigns:write): segments with live counts,
templates and previews, campaigns (create, schedule, send, results), coupon pools, codes and
validation, journeys, attribution and audience exports. Thin doors over the services."""

from datetime import timedelta

from django.db.models import Count, Prefetch, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.api import serializers as s
from campaigns.models import (
    Campaign,
    CampaignVariant,
    CouponPool,
    Journey,
    JourneyStep,
    MessageTemplate,
    RunStatus,
    Segment,
)
from campaigns.segment_words import describe
from campaigns.selectors import reports
from campaigns.services import (
    abtest,
    coupons,
    launch,
    rendering,
    segments,
    template_context,
)
from core.api.errors import DomainError
from customers.selectors import customer_by_public_id

AREA = "campaigns"
VIEW = "campaigns.view_campaign"
CHANGE = "campaigns.change_campaign"


class CampaignsApi:
    scope_area = AREA
    staff_permissions = {"read": VIEW, "write": CHANGE}
    filter_backends = []


class ReadingPost(CampaignsApi):
    """A POST that changes nothing (a count, a preview, a coupon check): reading is enough."""

    required_scopes = {"POST": "campaigns:read"}
    staff_permissions = {"read": VIEW, "write": VIEW}


class SegmentList(CampaignsApi, generics.ListCreateAPIView):
    """Segments (without counts: open one for its live count). POST rules, get the count."""

    serializer_class = s.SegmentSerializer
    queryset = Segment.objects.order_by("name")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "with_count": self.request.method != "GET"}


class SegmentDetail(CampaignsApi, generics.RetrieveUpdateAPIView):
    """A segment with its live member count."""

    serializer_class = s.SegmentSerializer
    queryset = Segment.objects.all()
    http_method_names = ["get", "patch", "head", "options"]


class SegmentCount(ReadingPost, APIView):
    """Count the members of rules without saving them (the builder's live count)."""

    @extend_schema(request=s.RulesCountSerializer, responses=s.RulesCountAnswerSerializer)
    def post(self, request):
        serializer = s.RulesCountSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rules = serializer.validated_data["rules"]
        return Response(
            {
                "count": segments.count_members(rules),
                "compiled_description": describe(rules),
            }
        )


class AudienceExport(CampaignsApi, APIView):
    """The segment as a customer list for ad platforms: CSV `email,phone` of SHA-256 hashes of
    the normalised values."""

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, pk):
        segment = get_object_or_404(Segment, pk=pk)
        response = HttpResponse(reports.audience_csv(segment), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="audience-{segment.pk}.csv"'
        return response


# The allowed variables, in every templates operation of the schema.
TEMPLATES_SCHEMA = extend_schema(description=template_context.variables_help())


@extend_schema_view(get=TEMPLATES_SCHEMA, post=TEMPLATES_SCHEMA)
class TemplateList(CampaignsApi, generics.ListCreateAPIView):
    """Message templates with their translations; POST checks every part in the sandbox."""

    serializer_class = s.MessageTemplateSerializer
    queryset = MessageTemplate.objects.prefetch_related("translations").order_by("name")


@extend_schema_view(get=TEMPLATES_SCHEMA, patch=TEMPLATES_SCHEMA)
class TemplateDetail(CampaignsApi, generics.RetrieveUpdateAPIView):
    serializer_class = s.MessageTemplateSerializer
    queryset = MessageTemplate.objects.prefetch_related("translations")
    http_method_names = ["get", "patch", "head", "options"]


class TemplatePreview(ReadingPost, APIView):
    """What the customer would receive, in her language (SMS: length, encoding, segments).
    A stored template the sandbox refuses answers 400 naming the variable."""

    @extend_schema(
        request=s.MessageTemplatePreviewRequestSerializer,
        responses=s.MessageTemplatePreviewSerializer,
        description=template_context.variables_help(),
    )
    def post(self, request, pk):
        template = get_object_or_404(MessageTemplate, pk=pk)
        serializer = s.MessageTemplatePreviewRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer = customer_by_public_id(serializer.validated_data["customer"])
        return Response(
            rendering.preview(template, customer, journey_data=serializer.validated_data["context"])
        )


def campaigns_queryset():
    return Campaign.objects.select_related("segment", "channel", "coupon_pool").prefetch_related(
        Prefetch("variants", queryset=CampaignVariant.objects.order_by("name"))
    )


class CampaignList(CampaignsApi, generics.ListCreateAPIView):
    """Campaigns, newest first; POST creates a draft with its variants."""

    serializer_class = s.CampaignSerializer

    def get_queryset(self):
        return campaigns_queryset().order_by("-created_at", "-id")


class CampaignDetail(CampaignsApi, generics.RetrieveAPIView):
    serializer_class = s.CampaignSerializer

    def get_queryset(self):
        return campaigns_queryset()


class CampaignSchedule(CampaignsApi, APIView):
    """Send at a time, optionally at that wall-clock time in each customer's time zone."""

    @extend_schema(request=s.ScheduleSerializer, responses=s.CampaignSerializer)
    def post(self, request, pk):
        campaign = get_object_or_404(Campaign, pk=pk)
        serializer = s.ScheduleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        campaign = launch.schedule_campaign(
            campaign, data["send_at"], in_customer_time_zone=data["in_customer_time_zone"]
        )
        return Response(s.CampaignSerializer(campaigns_queryset().get(pk=campaign.pk)).data)


class CampaignSend(CampaignsApi, APIView):
    """Send now: the segment is snapshotted, one message row per member, sent by workers."""

    @extend_schema(request=None, responses={202: s.CampaignSerializer})
    def post(self, request, pk):
        campaign = get_object_or_404(Campaign, pk=pk)
        launch.start_campaign(campaign)
        return Response(
            s.CampaignSerializer(campaigns_queryset().get(pk=campaign.pk)).data,
            status=status.HTTP_202_ACCEPTED,
        )


class CampaignDecideWinner(CampaignsApi, APIView):
    """Choose the A/B winner now (significance test on the campaign's metric)."""

    @extend_schema(request=None, responses=s.CampaignResultsSerializer)
    def post(self, request, pk):
        campaign = get_object_or_404(Campaign, pk=pk)
        abtest.decide_winner(campaign, force=True)
        campaign.refresh_from_db()
        return Response({**reports.campaign_results(campaign), "ab_result": campaign.ab_result})


class CampaignResults(CampaignsApi, APIView):
    """Sent, delivered, opened, clicked, converted, revenue, unsubscribes: total and per
    variant."""

    @extend_schema(responses=s.CampaignResultsSerializer)
    def get(self, request, pk):
        campaign = get_object_or_404(Campaign, pk=pk)
        return Response({**reports.campaign_results(campaign), "ab_result": campaign.ab_result})


class CouponPoolList(CampaignsApi, generics.ListCreateAPIView):
    serializer_class = s.CouponPoolSerializer

    def get_queryset(self):
        return (
            CouponPool.objects.annotate(issued=Count("codes"))
            .prefetch_related("allowed_channels", "allowed_stores")
            .order_by("name")
        )

    def perform_create(self, serializer):
        serializer.instance = coupons.create_pool(**serializer.validated_data)
        serializer.instance.issued = serializer.instance.codes.count()


class CouponPoolDetail(CampaignsApi, generics.RetrieveAPIView):
    serializer_class = s.CouponPoolSerializer

    def get_queryset(self):
        return CouponPool.objects.annotate(issued=Count("codes")).prefetch_related(
            "allowed_channels", "allowed_stores"
        )


class CouponCodes(CampaignsApi, APIView):
    """Issue a customer's own code (idempotent), or make unassigned codes for print."""

    @extend_schema(request=s.IssueCodesSerializer, responses={201: s.IssuedCodesSerializer})
    def post(self, request, pk):
        pool = get_object_or_404(CouponPool, pk=pk)
        serializer = s.IssueCodesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "customer" in data:
            code = coupons.issue_code(pool, customer_by_public_id(data["customer"]))
            return Response({"codes": [code.code], "made": 1}, status=status.HTTP_201_CREATED)
        made = coupons.generate_codes(pool, data["count"])
        codes = list(pool.codes.order_by("-id").values_list("code", flat=True)[:made])
        return Response({"codes": codes, "made": made}, status=status.HTTP_201_CREATED)


class CouponValidate(ReadingPost, APIView):
    """Would this code apply to this basket? Answers 200 with `valid` and the reason."""

    @extend_schema(request=s.ValidateCouponSerializer, responses=s.CouponValidationSerializer)
    def post(self, request):
        serializer = s.ValidateCouponSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        customer = customer_by_public_id(data["customer"]) if data.get("customer") else None
        try:
            quote = coupons.quote(
                data["code"],
                customer=customer,
                channel=data.get("channel"),
                store=data.get("store"),
                subtotal=data["subtotal"],
            )
        except DomainError as error:
            if error.code != "coupon_refused":
                raise
            return Response(
                s.CouponValidationSerializer(
                    {
                        "valid": False,
                        "code": coupons.normalise_code(data["code"]),
                        "discount": None,
                        "description": "",
                        "reason": str(error),
                    }
                ).data
            )
        answer = {
            "valid": True,
            "code": quote.code,
            "discount": quote.discount,
            "description": quote.description,
            "reason": "",
        }
        return Response(s.CouponValidationSerializer(answer).data)


class JourneyList(CampaignsApi, generics.ListAPIView):
    serializer_class = s.JourneySerializer

    def get_queryset(self):
        return (
            Journey.objects.annotate(
                active_runs=Count("runs", filter=Q(runs__status=RunStatus.ACTIVE))
            )
            .prefetch_related(
                Prefetch(
                    "steps",
                    queryset=JourneyStep.objects.select_related("template", "channel").order_by(
                        "position"
                    ),
                )
            )
            .order_by("name")
        )


class StorePurchasesSerializer(serializers.Serializer):
    store_purchases = serializers.IntegerField()
    after_online_touch = serializers.IntegerField()
    share = serializers.FloatField(help_text="after_online_touch / store_purchases, 0 to 1.")
    lookback_days = serializers.IntegerField()


class AttributionSerializer(serializers.Serializer):
    model = serializers.CharField()
    days = serializers.IntegerField()
    # Amounts are JSON numbers here (a report, not a ledger): the renderer writes the
    # service's Decimals as numbers, so the schema must say number, not a decimal string.
    revenue_by_channel = serializers.DictField(
        child=serializers.DictField(child=serializers.FloatField()),
        help_text="Per currency (ISO code), the revenue credited to each channel kind; "
        "amounts in different currencies are never added together.",
    )
    store_purchases = StorePurchasesSerializer()


class Attribution(CampaignsApi, APIView):
    """Revenue per channel under first_touch, last_touch or linear attribution, and the
    share of store purchases that followed an online touch."""

    @extend_schema(
        parameters=[
            OpenApiParameter("model", str, enum=list(reports.ATTRIBUTION_MODELS)),
            OpenApiParameter("days", int, description="Orders of the last N days (30)."),
            OpenApiParameter("lookback_days", int, description="Touches before an order (30)."),
        ],
        responses={200: AttributionSerializer, 400: OpenApiResponse(description="Bad input.")},
    )
    def get(self, request):
        params = request.query_params
        fields = {}
        numbers = {}
        for name in ("days", "lookback_days"):
            try:
                numbers[name] = int(params.get(name, 30))
                if not 1 <= numbers[name] <= 3650:
                    raise ValueError
            except ValueError:
                fields[name] = ["A whole number of days from 1 to 3650."]
        if fields:
            raise serializers.ValidationError(fields)
        until = timezone.now()
        since = until - timedelta(days=numbers["days"])
        model = params.get("model", "linear")
        return Response(
            {
                "model": model,
                "days": numbers["days"],
                "revenue_by_channel": reports.channel_attribution(
                    since=since, until=until, lookback_days=numbers["lookback_days"], model=model
                ),
                "store_purchases": reports.store_purchases_after_online_touch(
                    since=since, until=until, lookback_days=numbers["lookback_days"]
                ),
            }
        )
