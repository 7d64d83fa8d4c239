"""GET /api/v1/customers/<public_id>/recommendations: products and the best offer for her,
for the shop, the app and the POS screen alike (campaigns.services.recommendations holds
the method). Read with `customers:read`: it reads her timeline."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.errors import InvalidRecommendationRequest
from campaigns.services.recommendations import DEFAULT_LIMIT, MAX_LIMIT, recommendations_for
from customers.selectors import customer_by_public_id


class SizeOut(serializers.Serializer):
    sku = serializers.CharField()
    size = serializers.CharField(allow_blank=True)
    colour = serializers.CharField(allow_blank=True)
    price = serializers.DecimalField(max_digits=16, decimal_places=2, coerce_to_string=True)
    available = serializers.IntegerField(help_text="Units available to promise on the channel.")


class RecommendedProductOut(serializers.Serializer):
    product_id = serializers.IntegerField()
    name = serializers.CharField()
    sku = serializers.CharField(help_text="The variant to show: her usual size when in stock.")
    size = serializers.CharField(allow_blank=True)
    colour = serializers.CharField(allow_blank=True)
    price = serializers.DecimalField(max_digits=16, decimal_places=2, coerce_to_string=True)
    currency = serializers.CharField()
    sizes = SizeOut(many=True, help_text="Every variant in stock for her, her usual size first.")
    score = serializers.FloatField(help_text="r(b) of the documented method; higher first.")
    reason = serializers.ChoiceField(choices=["bought_together", "viewed_together"])
    because = serializers.CharField(
        allow_blank=True, help_text="The SKU of hers (or of the context) that led to it."
    )


class OfferOut(serializers.Serializer):
    kind = serializers.CharField(help_text="coupon, or points (`code` spends them).")
    code = serializers.CharField()
    discount = serializers.CharField(help_text='"10%" or "5 USD".')
    saving = serializers.DecimalField(
        max_digits=16, decimal_places=2, coerce_to_string=True, help_text="On her usual basket."
    )
    minimum_spend = serializers.DecimalField(max_digits=16, decimal_places=2, coerce_to_string=True)
    valid_until = serializers.DateTimeField(allow_null=True)


class RecommendationsOut(serializers.Serializer):
    customer = serializers.UUIDField()
    channel = serializers.CharField()
    context = serializers.CharField()
    products = RecommendedProductOut(many=True)
    offer = OfferOut(allow_null=True)


class RecommendationsView(APIView):
    """Products for her on a channel (listed and in stock there, in sizes she can get, never
    what she bought and kept, never a variant she returned) and the best offer she may use,
    from co-purchase and co-view counts weighted by recency. The method is written out in
    campaigns/services/recommendations.py."""

    scope_area = "customers"
    staff_permissions = {"read": "customers.view_customer"}

    @extend_schema(
        parameters=[
            OpenApiParameter("channel", str, required=True, description="A channel code."),
            OpenApiParameter(
                "context",
                str,
                description="home (default), cart, or product:<sku> (the page she is on).",
            ),
            OpenApiParameter(
                "limit", int, description=f"1 to {MAX_LIMIT} products (default {DEFAULT_LIMIT})."
            ),
        ],
        responses={200: RecommendationsOut},
    )
    def get(self, request, public_id):
        customer = customer_by_public_id(public_id)
        params = request.query_params
        raw_limit = params.get("limit", str(DEFAULT_LIMIT))
        if not raw_limit.isdigit():
            raise InvalidRecommendationRequest(
                _("Ask for a whole number of products."), fields={"limit": [_("A whole number.")]}
            )
        answer = recommendations_for(
            customer,
            channel=params.get("channel"),
            context=params.get("context"),
            limit=int(raw_limit),
        )
        # The service's answer is plain values already in this shape (RecommendationsOut
        # documents it): a nested serializer over them cost a third of the request.
        return Response(answer)
