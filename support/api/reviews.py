"""Reviews in the partner API: a product's approved reviews (beside catalog's product, whose
`rating` holds their average and count) and the Google product reviews feed of a channel.
Support owns reviews, so these live here; catalog does not read support."""

import hmac

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import BasePermission

from catalog.errors import FeedNotConfigured
from catalog.services import feeds
from core.api.permissions import HasScope
from support import reviews_feed
from support.models import Review, ReviewStatus

GOOGLE = "google"  # catalog's FeedFormat.GOOGLE: the channel feed this one sits beside


class ProductReviewSerializer(serializers.ModelSerializer):
    reviewer = serializers.CharField(source="customer.first_name")
    has_photo = serializers.SerializerMethodField()

    class Meta:
        model = Review
        fields = ["id", "sku", "rating", "text", "language", "reviewer", "has_photo", "created_at"]

    def get_has_photo(self, obj) -> bool:
        return bool(obj.photo)


class ProductReviewListView(generics.ListAPIView):
    """A product's approved reviews, newest first (any of its variants). The average and
    count are the product's `rating` in the catalog API."""

    serializer_class = ProductReviewSerializer
    scope_area = "catalog"
    staff_permissions = {"read": "catalog.view_product"}
    filter_backends: list = []
    queryset = Review.objects.none()

    def get_queryset(self):
        return (
            Review.objects.filter(product_id=self.kwargs["pk"], status=ReviewStatus.APPROVED)
            .select_related("customer")
            .order_by("-created_at", "-id")
        )


class IgnoreAcceptHeader(BaseContentNegotiation):
    """The feed answers XML whatever the fetcher puts in Accept."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class FeedTokenOrScope(BasePermission):
    """The channel's Google feed token (`?token=`, what Merchant Center's scheduled fetch can
    send), else a key with catalog:read or staff with catalog.view_channelfeed."""

    message = "Send a catalog:read API key or the channel's Google feed token (?token=...)."

    def has_permission(self, request, view):
        token = request.query_params.get("token")
        if token:
            feed = view.feed_or_none(view.kwargs["code"])
            return feed is not None and hmac.compare_digest(token, feed.token)
        return HasScope().has_permission(request, view)


class GoogleReviewsFeedView(generics.GenericAPIView):
    """The channel's Google product reviews feed (Product Review Feeds schema 2.4): every
    approved review with words, linked to the product page of the channel's Google feed.
    404 `feed_not_configured` when the channel has no active Google feed."""

    scope_area = "catalog"
    staff_permissions = {"read": "catalog.view_channelfeed"}
    permission_classes = [FeedTokenOrScope]
    content_negotiation_class = IgnoreAcceptHeader

    @staticmethod
    def feed_or_none(code):
        try:
            return feeds.feed_for(code, GOOGLE)
        except FeedNotConfigured:
            return None

    @extend_schema(
        operation_id="reviews_google_feed",
        parameters=[
            OpenApiParameter("code", str, OpenApiParameter.PATH, description="Channel code."),
            OpenApiParameter("token", str, description="The channel's Google feed token."),
        ],
        responses={
            (200, "application/xml"): OpenApiResponse(
                OpenApiTypes.STR, description="Google product reviews feed (schema 2.4)"
            )
        },
    )
    def get(self, request, code):
        feed = feeds.feed_for(code, GOOGLE)
        response = StreamingHttpResponse(
            reviews_feed.stream_google_reviews(feed), content_type="application/xml; charset=utf-8"
        )
        response["Content-Disposition"] = 'inline; filename="google-reviews.xml"'
        return response
