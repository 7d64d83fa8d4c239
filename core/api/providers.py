"""Delivery reports from messaging providers: our generic HTTP provider's (signed with the
channel's secret) and Twilio's StatusCallback (signed by X-Twilio-Signature)."""

import json

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed, NotFound, ParseError, PermissionDenied
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.parsers import check_json_body
from core.api.serializers import StrictSerializer
from core.models import Channel
from core.providers import delivery_reported, twilio
from core.services.outbox import has_valid_signature

STATUSES = ["delivered", "failed", "bounced", "complained", "read"]


class DeliveryReportSerializer(StrictSerializer):
    id = serializers.CharField(max_length=255, help_text="The provider's message id.")
    status = serializers.ChoiceField(choices=STATUSES)
    detail = serializers.DictField(required=False, default=dict)


class DeliveryReportView(APIView):
    """A provider tells us what happened to a message. Authenticated by the
    `X-Omni-Signature: sha256=<hmac of the body>` header under the channel's secret, not by an
    API key: providers do not hold our keys."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=DeliveryReportSerializer,
        responses={
            202: inline_serializer(
                "DeliveryReportAccepted", {"accepted": serializers.BooleanField()}
            )
        },
    )
    def post(self, request, channel_code):
        channel = Channel.objects.filter(code=channel_code, provider="http").first()
        if channel is None:
            raise NotFound(f"No HTTP-provider channel {channel_code!r}.")
        secret = channel.provider_settings.get("secret", "")
        given = request.headers.get("X-Omni-Signature", "")
        if not has_valid_signature(secret, request.body, given):
            raise AuthenticationFailed("Bad or missing X-Omni-Signature.")
        check_json_body(request.body)
        try:
            body = json.loads(request.body or b"{}")
        except ValueError as error:
            raise ParseError(f"Body is not JSON: {error}") from error
        serializer = DeliveryReportSerializer(data=body)
        serializer.is_valid(raise_exception=True)
        delivery_reported.send(
            sender=Channel,
            channel=channel,
            provider_message_id=serializer.validated_data["id"],
            status=serializer.validated_data["status"],
            detail=serializer.validated_data["detail"],
        )
        return Response({"accepted": True}, status=status.HTTP_202_ACCEPTED)


# Twilio's statuses that say nothing new (the message is "sent" once accepted), besides
# those that report a delivery (twilio.RECEIPT_STATUSES).
TWILIO_STATUSES = [
    "accepted",
    "scheduled",
    "queued",
    "sending",
    "canceled",
    *twilio.RECEIPT_STATUSES,
]


class TwilioStatusSerializer(serializers.Serializer):
    # Twilio posts many more fields (AccountSid, From, To, SmsSid, ApiVersion...): all are
    # signed, none needed here, so unknown fields are accepted, not refused.
    MessageSid = serializers.RegexField(r"^[A-Za-z0-9_-]{1,64}$", help_text="The message's SID.")
    MessageStatus = serializers.ChoiceField(choices=TWILIO_STATUSES)
    ErrorCode = serializers.CharField(max_length=20, required=False, allow_blank=True)


class TwilioStatusView(APIView):
    """Twilio's StatusCallback for an SMS channel: a form POST signed by
    `X-Twilio-Signature` (HMAC-SHA1 under the channel's auth token of our callback URL and the
    sorted form fields, base64), compared in constant time. The status moves the message
    forward through core.providers.delivery_reported (support replies and campaign messages);
    a repeated or late callback never moves it back."""

    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [FormParser]

    @extend_schema(
        request={"application/x-www-form-urlencoded": TwilioStatusSerializer},
        parameters=[
            OpenApiParameter(
                "X-Twilio-Signature",
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="base64 HMAC-SHA1 of the callback URL and sorted form fields.",
            )
        ],
        responses={
            200: inline_serializer(
                "TwilioStatusAccepted", {"accepted": serializers.BooleanField()}
            ),
            400: OpenApiResponse(description="A field is missing or not one Twilio sends."),
            403: OpenApiResponse(description="Bad or missing X-Twilio-Signature."),
            404: OpenApiResponse(description="No Twilio channel with this code."),
        },
    )
    def post(self, request, channel_code):
        channel = Channel.objects.filter(code=channel_code, provider="twilio").first()
        if channel is None:
            raise NotFound(f"No Twilio channel {channel_code!r}.")
        token = str(channel.provider_settings.get("auth_token") or "")
        params = {name: request.POST.getlist(name) for name in request.POST}
        url = twilio.status_callback_url(channel)
        if request.META.get("QUERY_STRING"):
            url += "?" + request.META["QUERY_STRING"]
        given = request.headers.get("X-Twilio-Signature", "")
        if not twilio.is_valid_signature(token, url, params, given):
            raise PermissionDenied("Bad or missing X-Twilio-Signature.")
        serializer = TwilioStatusSerializer(data=request.POST.dict())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        status_reported = twilio.RECEIPT_STATUSES.get(data["MessageStatus"])
        if status_reported:
            detail = {"twilio_status": data["MessageStatus"]}
            if data.get("ErrorCode"):
                detail["error_code"] = data["ErrorCode"]
            delivery_reported.send(
                sender=Channel,
                channel=channel,
                provider_message_id=data["MessageSid"],
                status=status_reported,
                detail=detail,
            )
        return Response({"accepted": True}, status=status.HTTP_200_OK)
