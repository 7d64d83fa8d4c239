"""The door WooCommerce's webhooks knock at: `POST /api/v1/providers/<channel code>/woocommerce`.
Authenticated by the shop's signature, not an API key (the shop holds none of ours); thin:
woocommerce.services.deliveries verifies and applies."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.schema import ErrorSerializer
from orders.woocommerce.services.deliveries import TOPICS, receive_delivery

HEADERS = [
    ("X-WC-Webhook-Signature", "base64 HMAC-SHA256 of the raw body under the webhook secret."),
    ("X-WC-Webhook-Topic", f"What happened; read: {', '.join(TOPICS)}; others are ignored."),
    ("X-WC-Webhook-Resource", "order, customer, product (the topic's first half)."),
    ("X-WC-Webhook-Event", "created, updated (the topic's second half)."),
    ("X-WC-Webhook-ID", "The webhook's id in the shop."),
    ("X-WC-Webhook-Delivery-ID", "The delivery's id in the shop's log."),
    ("X-WC-Webhook-Source", "The shop's address."),
]


class PingSerializer(serializers.Serializer):
    webhook_id = serializers.IntegerField(
        min_value=1, help_text="The new webhook's id: WooCommerce's check that the URL answers."
    )


class DeliveryAnswerSerializer(serializers.Serializer):
    accepted = serializers.BooleanField()
    outcome = serializers.ChoiceField(
        choices=["ping", "applied", "ignored"],
        help_text="`ignored`: an update no newer than the one applied, a draft, an order "
        "first seen cancelled, a topic not read, products whose SKUs are not ours.",
    )
    topic = serializers.CharField(allow_blank=True)
    duplicate = serializers.BooleanField(
        help_text="This very delivery was received before: nothing was stored again."
    )
    detail = serializers.CharField(allow_blank=True)


class WebhookView(APIView):
    """A WooCommerce shop's webhook (order.created, order.updated, customer.created,
    product.updated; customer.updated and product.created are read too). The signature is
    checked in constant time before anything is read; the ping sent when a webhook is
    created (`webhook_id=N`, unsigned) is answered 200 and changes nothing. Orders go
    through the same services as `POST /api/v1/orders/`: idempotent by the WooCommerce id, an
    update older than the one applied ignored; customers are identified by email, phone and
    the shop's customer id; products are linked to our variants by SKU, their price and name
    written to our listing (never their stock)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        operation_id="woocommerce_webhook",
        parameters=[
            OpenApiParameter(name, str, OpenApiParameter.HEADER, description=description)
            for name, description in HEADERS
        ],
        request={
            "application/json": OpenApiTypes.OBJECT,
            "application/x-www-form-urlencoded": PingSerializer,
        },
        responses={
            200: DeliveryAnswerSerializer,
            401: OpenApiResponse(description="Bad or missing X-WC-Webhook-Signature."),
            404: OpenApiResponse(description="No active WooCommerce channel with this code."),
            409: OpenApiResponse(
                description="The order cannot be taken: a unit not in stock, an illegal move."
            ),
            502: OpenApiResponse(
                response=ErrorSerializer,
                description="The shop's REST API did not answer a question the delivery needs "
                "(a variable product's variations).",
            ),
        },
    )
    def post(self, request, channel_code):
        received = receive_delivery(channel_code, request.body, request.headers)
        return Response(
            {
                "accepted": True,
                "outcome": received.outcome,
                "topic": received.topic,
                "duplicate": received.duplicate,
                "detail": received.detail,
            }
        )
