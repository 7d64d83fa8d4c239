"""Delivery reports from HTTP messaging providers, signed with the channel's secret."""

import json

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed, NotFound, ParseError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.parsers import check_json_body
from core.api.serializers import StrictSerializer
from core.models import Channel
from core.providers import delivery_reported
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
