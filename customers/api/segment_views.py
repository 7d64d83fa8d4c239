"""The Segment-spec tracking endpoints (`/v1/batch`, `/v1/track`, ...): see customers.segment.

Authenticated as Segment's SDKs do it: the write key (one of our API keys with the
`customers:write` scope) as the HTTP Basic user, or `writeKey` in the body."""

import base64
import json

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from core.services.api_keys import key_for
from customers.segment import MAX_BATCH_BYTES, MAX_CALL_BYTES, SegmentError, decoded_body, ingest

SCOPE = "customers:write"

Accepted = inline_serializer(
    "SegmentAccepted",
    {
        "success": serializers.BooleanField(),
        "errors": serializers.ListField(
            child=serializers.DictField(),
            required=False,
            help_text="Messages that could not be stored: their index, code and field.",
        ),
    },
)
Refused = inline_serializer(
    "SegmentRefused",
    {"code": serializers.CharField(), "message": serializers.CharField()},
)


class RawBody(BaseParser):
    """The body is read by the view itself (it may be gzip): DRF only has to accept it."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return None


def _refused(error: SegmentError, status=400):
    return JsonResponse(error.as_dict(), status=status)


def _write_key(request, body: dict):
    header = request.headers.get("Authorization", "")
    keyword, _sep, value = header.partition(" ")
    raw = ""
    if keyword.lower() == "basic":
        try:
            raw = base64.b64decode(value.strip(), validate=True).decode().partition(":")[0]
        except (ValueError, UnicodeDecodeError):
            raw = ""
    elif keyword.lower() == "bearer":
        raw = value.strip()
    if not raw and isinstance(body.get("writeKey"), str):
        raw = body["writeKey"]
    return key_for(raw) if raw else None


class SegmentView(APIView):
    """One Segment HTTP Tracking API call."""

    authentication_classes = []
    permission_classes = [AllowAny]  # the write key is checked in post(), as Segment does
    parser_classes = [RawBody]
    kind = None  # a message type, or None for /v1/batch
    limit = MAX_CALL_BYTES
    # Outside /api/v1/: a retried message is recognised by its messageId, as in Segment; the
    # answers are Segment's ({"code", "message"}, which its SDKs read), and, as Segment's, the
    # endpoints have no rate limit (a write key's volume is the shop's own traffic).
    honours_idempotency_key = False
    documents_own_errors = True
    throttle_classes = []

    def post(self, request):
        try:
            try:
                body_bytes = request.body
            except RequestDataTooBig:
                raise SegmentError(
                    "request_too_large", "The body is larger than 500 KB.", "body"
                ) from None
            raw = decoded_body(body_bytes, request.headers.get("Content-Encoding", ""), self.limit)
            if b"\x00" in raw or b"\\u0000" in raw:
                raise SegmentError("invalid_body", "The body holds a NUL character.", "body")
            try:
                body = json.loads(raw)
            except (ValueError, RecursionError):
                raise SegmentError("invalid_json", "The body is not JSON.", "body") from None
            if not isinstance(body, dict):
                raise SegmentError("invalid_json", "The body must be a JSON object.", "body")
        except SegmentError as error:
            return _refused(error)
        api_key = _write_key(request, body)
        if api_key is None:
            return _refused(SegmentError("unauthorized", "Unknown or revoked write key."), 401)
        if not api_key.has_scope(SCOPE):
            return _refused(SegmentError("forbidden", f"The write key lacks {SCOPE}."), 403)
        try:
            messages, context = self._messages(body)
        except SegmentError as error:
            return _refused(error)
        errors = ingest(
            api_key, messages, sent_at=body.get("sentAt"), context=context, source=api_key.name
        )
        if self.kind is not None and errors:
            single = errors[0]
            return JsonResponse({k: v for k, v in single.items() if k != "index"}, status=400)
        answer = {"success": True}
        if errors:
            answer["errors"] = errors
        return JsonResponse(answer)

    def _messages(self, body):
        if self.kind is not None:
            return [{**body, "type": self.kind}], None
        batch = body.get("batch")
        if not isinstance(batch, list) or not batch:
            raise SegmentError("invalid_batch", "batch must be a non-empty list.", "batch")
        for index, message in enumerate(batch):
            if len(json.dumps(message, default=str)) > MAX_CALL_BYTES:
                raise SegmentError(
                    "message_too_large", "A message is larger than 32 KB.", f"batch.{index}"
                )
        context = body.get("context") if isinstance(body.get("context"), dict) else None
        return batch, context


def _view(kind, limit, summary):
    @extend_schema(
        summary=summary,
        request={"application/json": OpenApiTypes.OBJECT},
        responses={200: Accepted, 400: Refused, 401: Refused, 403: Refused},
        auth=[{"segmentWriteKey": []}],
        examples=[
            OpenApiExample(
                "track",
                request_only=True,
                value={
                    "type": "track",
                    "anonymousId": "c-42",
                    "event": "Product Viewed",
                    "properties": {"sku": "ARIA-RUN-BLK-38"},
                },
            )
        ],
        tags=["segment"],
    )
    def post(self, request):
        return SegmentView.post(self, request)

    return type(
        f"Segment{kind.title() if kind else 'Batch'}View",
        (SegmentView,),
        {"kind": kind, "limit": limit, "post": post, "__doc__": summary},
    )


BatchView = _view(None, MAX_BATCH_BYTES, "Many Segment messages at once (up to 500 KB).")
TrackView = _view("track", MAX_CALL_BYTES, "A Segment track call.")
IdentifyView = _view("identify", MAX_CALL_BYTES, "A Segment identify call.")
PageView = _view("page", MAX_CALL_BYTES, "A Segment page call.")
ScreenView = _view("screen", MAX_CALL_BYTES, "A Segment screen call.")
AliasView = _view("alias", MAX_CALL_BYTES, "A Segment alias call.")
GroupView = _view("group", MAX_CALL_BYTES, "A Segment group call (accepted, not stored).")
