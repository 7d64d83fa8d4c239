"""Loyalty and referrals for partners (the POS, the shop, the app), under the customer:

GET  /api/v1/customers/<id>/loyalty                  her balance, tier, expiring points, entries
POST /api/v1/customers/<id>/loyalty/earn             points given by a partner, once per `key`
POST /api/v1/customers/<id>/loyalty/spend            points taken for a reward, once per `key`
POST /api/v1/customers/<id>/referral-code            her referral code (made once)
POST /api/v1/customers/<id>/referral                 apply a friend's code at sign-up
GET  /api/v1/campaigns/referrals                     who brought whom (the report)

Spending on an order goes through the order's `coupon_code` (`POINTS-<n>`), like any coupon.
Reads need `loyalty:read`, writes `loyalty:write`; staff need campaigns' loyalty permissions.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.models import LoyaltyEntry, Referral, ReferralStatus
from campaigns.services import loyalty
from core.api.serializers import StrictSerializer
from customers.selectors import customer_by_public_id

MAX_POINTS = 10_000_000
ENTRIES_SHOWN = 50


class LoyaltyApi:
    scope_area = "loyalty"
    staff_permissions = {
        "read": "campaigns.view_loyaltyentry",
        "write": "campaigns.add_loyaltyentry",
    }


class EntryOut(serializers.ModelSerializer):
    channel = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = LoyaltyEntry
        fields = [
            "id",
            "kind",
            "points",
            "source",
            "order_number",
            "channel",
            "note",
            "expires_at",
            "created_at",
        ]


class LoyaltyOut(serializers.Serializer):
    customer = serializers.UUIDField()
    balance = serializers.IntegerField()
    currency = serializers.CharField(help_text="The currency her points are valued in.")
    value = serializers.CharField(
        allow_blank=True, help_text="What her balance takes off an order, in `currency`."
    )
    tier = serializers.CharField(allow_blank=True)
    next_tier = serializers.CharField(allow_blank=True)
    next_tier_spend = serializers.CharField(
        allow_blank=True, help_text="Lifetime spend the next tier needs."
    )
    expiring_points = serializers.IntegerField(help_text="Points expiring within 30 days.")
    expiring_at = serializers.DateTimeField(allow_null=True)
    spend_code = serializers.CharField(
        allow_blank=True, help_text="The coupon code that spends her whole balance on an order."
    )
    referral_code = serializers.CharField(allow_blank=True)
    entries = EntryOut(many=True, help_text=f"Her newest {ENTRIES_SHOWN} entries.")


class PointsIn(StrictSerializer):
    points = serializers.IntegerField(min_value=1, max_value=MAX_POINTS)
    key = serializers.CharField(
        max_length=100,
        help_text="Your id for this movement: the same key again changes nothing.",
    )
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class MovementOut(serializers.Serializer):
    entry = EntryOut()
    balance = serializers.IntegerField()
    created = serializers.BooleanField(help_text="False: this key was applied before.")


class ReferralCodeOut(serializers.Serializer):
    code = serializers.CharField()


class ReferralIn(StrictSerializer):
    code = serializers.CharField(max_length=20)


class ReferralOut(serializers.ModelSerializer):
    referrer = serializers.UUIDField(source="referrer.public_id", read_only=True)
    referee = serializers.UUIDField(source="referee.public_id", read_only=True)

    class Meta:
        model = Referral
        fields = [
            "id",
            "referrer",
            "referee",
            "code",
            "status",
            "refusal",
            "order_number",
            "referrer_points",
            "referee_points",
            "created_at",
            "decided_at",
        ]


def _loyalty_body(customer) -> dict:
    return {
        "customer": customer.public_id,
        **loyalty.summary(customer),
        "entries": loyalty.entries_of(customer)[:ENTRIES_SHOWN],
    }


class LoyaltyView(LoyaltyApi, APIView):
    """Her points: balance (the sum of her ledger), tier, what expires soon, newest entries."""

    @extend_schema(responses={200: LoyaltyOut})
    def get(self, request, public_id):
        customer = customer_by_public_id(public_id)
        return Response(LoyaltyOut(_loyalty_body(customer)).data)


class _Movement(LoyaltyApi, APIView):
    @extend_schema(request=PointsIn, responses={201: MovementOut, 200: MovementOut})
    def post(self, request, public_id):
        customer = customer_by_public_id(public_id)
        body = PointsIn(data=request.data)
        body.is_valid(raise_exception=True)
        entry, created = self.move(customer, **body.validated_data)
        answer = {"entry": entry, "balance": loyalty.balance_of(customer.pk), "created": created}
        return Response(
            MovementOut(answer).data, status=status.HTTP_201_CREATED if created else 200
        )


class EarnView(_Movement):
    """Give her points (a partner's promotion, a goodwill gesture). They expire like earned
    points. The same `key` again returns the first entry (200)."""

    def move(self, customer, *, points, key, note):
        return loyalty.adjust(customer, points, key=key, note=note)


class SpendView(_Movement):
    """Take points for a reward outside an order (to pay an order with points, put
    `POINTS-<n>` in its coupon code). 400 naming `points` when she has fewer."""

    def move(self, customer, *, points, key, note):
        return loyalty.spend(customer, points, source=f"partner:{key}", note=note)


class ReferralCodeView(LoyaltyApi, APIView):
    """Her referral code, made on the first call; later calls return the same (200)."""

    @extend_schema(request=None, responses={200: ReferralCodeOut, 201: ReferralCodeOut})
    def post(self, request, public_id):
        customer = customer_by_public_id(public_id)
        existed = customer.referral_codes.exists()
        code = loyalty.referral_code_for(customer)
        return Response({"code": code.code}, status=200 if existed else status.HTTP_201_CREATED)


class ApplyReferralView(LoyaltyApi, APIView):
    """A new customer signed up with a friend's code. Both are credited when her first order
    completes, once; refused (400 naming `code`) for her own code, a customer who has ordered
    before, one referred by someone else, or one sharing a contact with the friend."""

    @extend_schema(request=ReferralIn, responses={201: ReferralOut, 200: ReferralOut})
    def post(self, request, public_id):
        customer = customer_by_public_id(public_id)
        body = ReferralIn(data=request.data)
        body.is_valid(raise_exception=True)
        referral, created = loyalty.apply_referral(customer, body.validated_data["code"])
        return Response(
            ReferralOut(referral).data, status=status.HTTP_201_CREATED if created else 200
        )


class ReferralList(generics.ListAPIView):
    """Who brought whom: every referral, newest first, with its status and the points."""

    scope_area = "loyalty"
    staff_permissions = {"read": "campaigns.view_referral"}
    serializer_class = ReferralOut
    filter_backends = []

    def get_queryset(self):
        wanted = self.request.query_params.get("status") or None
        if wanted and wanted not in ReferralStatus.values:
            raise serializers.ValidationError({"status": [_("Unknown status.")]})
        return loyalty.referral_report(status=wanted)

    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=list(ReferralStatus.values))],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
