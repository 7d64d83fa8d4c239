"""Doors of the shop's chat widget: the script and its stylesheet (served for a script tag on
the shop's own origin), a demo shop page, and the visitor's JSON endpoints under
/api/v1/webchat/. The endpoints are public: the visitor token (support.widget) authenticates
them, never a cookie, so they need no CSRF token and send no credentials across origins."""

import hashlib
from pathlib import Path

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.contrib.staticfiles import finders
from django.core.handlers.asgi import ASGIRequest
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import renderers, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from core.api.parsers import NUL_MESSAGE, JSONParser
from core.api.serializers import StrictSerializer
from core.models import Channel, ChannelKind
from core.services import shared_cache
from support import adapters, widget
from support.api.views import inbound_channel
from support.errors import InvalidPayload
from support.models import Message
from support.services import receive_inbound

CORS_HEADERS = {
    # Any shop origin may call: nothing here reads a cookie, the token is in the request.
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, X-Visitor-Id, X-Visitor-Token",
    "Access-Control-Max-Age": "86400",
}
SCRIPT_CACHE = "public, max-age=86400, stale-while-revalidate=604800"


# --- the script, its stylesheet and a demo shop page --------------------------------------
def _static(name, content_type):
    path = finders.find(f"support/widget/{name}")
    if not path:
        raise Http404
    response = HttpResponse(Path(path).read_bytes(), content_type=content_type)
    response["Cache-Control"] = SCRIPT_CACHE
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def script(request):
    return _static("chat.js", "text/javascript; charset=utf-8")


@require_GET
def stylesheet(request):
    return _static("chat.css", "text/css; charset=utf-8")


@require_GET
def demo_shop(request):
    """A shop page with the widget's script tag, for trying the chat (and the browser test);
    ?channel= names the web chat channel, else the first by code."""
    channels = Channel.objects.active().filter(kind=ChannelKind.WEB).order_by("code")
    if request.GET.get("channel"):
        channels = channels.filter(code=request.GET["channel"])
    # The first web channel taking chat messages (a shop per country has one each).
    channel = next((c for c in channels if (c.provider_settings or {}).get("inbound_secret")), None)
    if channel is None:
        raise Http404("No web chat channel is set up.")
    language = translation.get_language()
    src = request.build_absolute_uri(reverse("support:widget-script"))
    snippet = f'<script src="{src}" data-channel="{channel.code}" data-lang="{language}" defer>'
    return render(
        request,
        "support/widget_demo.html",
        {"channel_code": channel.code, "language": language, "snippet": snippet + "</script>"},
    )


# --- the visitor's endpoints --------------------------------------------------------------
class VisitorRateThrottle(SimpleRateThrottle):
    """Per visitor id (else per address); fails open when the shared cache is down."""

    setting = "WEBCHAT_SEND_RATE"
    default_rate = "20/min"
    scope = "webchat"

    def get_rate(self):
        return getattr(settings, self.setting, self.default_rate)

    def get_cache_key(self, request, view):
        visitor = request.headers.get("X-Visitor-Id") or ""
        if not visitor and isinstance(request.data, dict):
            visitor = str(request.data.get("visitor_id") or "")
        # Hashed: the id is the visitor's input, and must not shape the cache key.
        digest = hashlib.sha256(visitor.encode(errors="replace")).hexdigest()[:32]
        ident = f"v:{digest}" if visitor else f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": f"{self.scope}:{self.setting}", "ident": ident}

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except shared_cache.CACHE_ERRORS as error:
            shared_cache.unavailable("rate limit", error)
            return True


class PollRateThrottle(VisitorRateThrottle):
    setting = "WEBCHAT_POLL_RATE"
    default_rate = "120/min"  # a poll every 2 s is 30


class SessionSerializer(StrictSerializer):
    channel = serializers.SlugField(required=False, help_text="Web channel code, if several.")
    visitor_id = serializers.CharField(required=False, max_length=64)
    visitor_token = serializers.CharField(required=False, max_length=128)
    identifier = serializers.CharField(required=False, max_length=255)
    identifier_hash = serializers.CharField(required=False, max_length=128)
    lang = serializers.ChoiceField(
        choices=[code for code, _name in settings.LANGUAGES], required=False
    )


class SendSerializer(StrictSerializer):
    channel = serializers.SlugField(required=False)
    visitor_id = serializers.CharField(max_length=64)
    visitor_token = serializers.CharField(max_length=128)
    id = serializers.CharField(max_length=64, help_text="The widget's id for this message.")
    text = serializers.CharField(
        max_length=widget.MAX_TEXT,
        required=False,
        allow_blank=True,
        help_text="Required unless a file is sent.",
    )
    email = serializers.CharField(required=False, max_length=254, allow_blank=True)
    name = serializers.CharField(required=False, max_length=200, allow_blank=True)
    identifier = serializers.CharField(required=False, max_length=255)
    identifier_hash = serializers.CharField(required=False, max_length=128)
    file = serializers.FileField(
        required=False,
        help_text="A photo (JPEG, PNG, GIF, WebP) or a PDF, as multipart/form-data; its type "
        "is read from its bytes and its size is limited (WEBCHAT_ATTACHMENT_MAX_BYTES).",
    )

    def validate(self, attrs):
        for name, value in attrs.items():
            if isinstance(value, str) and "\x00" in value:
                raise serializers.ValidationError({name: [NUL_MESSAGE]})
        if not (attrs.get("text") or "").strip() and not attrs.get("file"):
            raise serializers.ValidationError({"text": ["Write a message or send a file."]})
        return attrs


class WidgetAttachmentSerializer(serializers.Serializer):
    filename = serializers.CharField()
    content_type = serializers.CharField()


class WidgetMessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sender = serializers.ChoiceField(choices=["visitor", "agent"])
    text = serializers.CharField()
    agent = serializers.CharField()
    attachments = WidgetAttachmentSerializer(many=True)
    created_at = serializers.DateTimeField()


class SessionOutSerializer(serializers.Serializer):
    visitor_id = serializers.CharField()
    visitor_token = serializers.CharField()
    online = serializers.BooleanField()
    dir = serializers.ChoiceField(choices=["ltr", "rtl"])
    strings = serializers.DictField(child=serializers.CharField())
    poll_seconds = serializers.IntegerField()
    max_attachment_bytes = serializers.IntegerField()
    messages = WidgetMessageSerializer(many=True)


class RepliesOutSerializer(serializers.Serializer):
    online = serializers.BooleanField()
    messages = WidgetMessageSerializer(many=True)


class _WidgetView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [VisitorRateThrottle]

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        for name, value in CORS_HEADERS.items():
            response[name] = value
        response["Cache-Control"] = "no-store"
        return response

    def options(self, request, *args, **kwargs):
        return Response(status=status.HTTP_204_NO_CONTENT)

    def body(self, serializer_class):
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @staticmethod
    def channel(code):
        channel, _parse = inbound_channel("webchat", code or None)
        return channel

    def visitor_from_headers(self):
        """(channel, visitor id) of a GET: the token travels in headers, never in the URL."""
        channel = self.channel(self.request.query_params.get("channel"))
        headers = self.request.headers
        visitor = widget.check_visitor(
            channel, headers.get("X-Visitor-Id"), headers.get("X-Visitor-Token")
        )
        return channel, visitor

    def message_id(self, name) -> int:
        """The query parameter `name`, a message id (0 when absent); 400 naming it else."""
        value = self.request.query_params.get(name) or "0"
        if not value.isdigit() or len(value) > 18:
            raise InvalidPayload(f"{name} is a message id.", fields={name: ["Not a number."]})
        return int(value)


class WebchatSessionView(_WidgetView):
    """Start or resume the visitor's chat: a new visitor gets an id and its token (the widget
    keeps both); a known one sends them back and gets her messages. The shop may vouch for a
    signed-in customer with identifier and identifier_hash (as on the web chat webhook)."""

    @extend_schema(
        request=SessionSerializer,
        responses={
            200: SessionOutSerializer,
            400: OpenApiResponse(description="Invalid input (field named)."),
            401: OpenApiResponse(description="identifier_hash does not match."),
            403: OpenApiResponse(description="visitor_token does not match."),
            429: OpenApiResponse(description="Too many requests (Retry-After)."),
        },
    )
    def post(self, request):
        data = self.body(SessionSerializer)
        channel = self.channel(data.get("channel"))
        with translation.override(data.get("lang") or translation.get_language()):
            if data.get("identifier") or data.get("identifier_hash"):
                if not data.get("identifier"):
                    raise InvalidPayload(
                        "identifier is required with identifier_hash.",
                        fields={"identifier": ["Required."]},
                    )
                adapters.vouched_identity(channel, data["identifier"], data.get("identifier_hash"))
            if data.get("visitor_id") or data.get("visitor_token"):
                visitor = widget.check_visitor(
                    channel, data.get("visitor_id"), data.get("visitor_token")
                )
            else:
                visitor = widget.new_visitor_id()
            context = widget.session_context(channel, visitor)
        return Response(context)


class WebchatMessagesView(_WidgetView):
    """The visitor's messages and the agents' replies after `after` (GET: the widget asks when
    its event stream says so, or every poll_seconds without one), and a new message from her
    (POST, threaded like any web chat message; the same id twice stores one): JSON, or
    multipart/form-data with a photo or PDF in `file`."""

    parser_classes = [JSONParser, MultiPartParser]

    def get_throttles(self):
        if self.request.method == "GET":
            return [PollRateThrottle()]
        return super().get_throttles()

    @extend_schema(
        parameters=[
            OpenApiParameter("X-Visitor-Id", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("X-Visitor-Token", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("after", int, description="The last message id the widget has."),
            OpenApiParameter("channel", str, description="Web channel code, if several."),
        ],
        responses={
            200: RepliesOutSerializer,
            400: OpenApiResponse(description="Invalid input (field named)."),
            403: OpenApiResponse(description="visitor_token does not match."),
            429: OpenApiResponse(description="Too many requests (Retry-After)."),
        },
    )
    def get(self, request):
        channel, visitor = self.visitor_from_headers()
        messages = widget.messages_for(channel, visitor, after=self.message_id("after"))
        return Response({"online": widget.is_open(channel), "messages": messages})

    @extend_schema(
        request={"application/json": SendSerializer, "multipart/form-data": SendSerializer},
        responses={
            201: WidgetMessageSerializer,
            200: WidgetMessageSerializer,
            400: OpenApiResponse(description="Invalid input (field named)."),
            401: OpenApiResponse(description="identifier_hash does not match."),
            403: OpenApiResponse(description="visitor_token does not match."),
            429: OpenApiResponse(description="Too many requests (Retry-After)."),
        },
    )
    def post(self, request):
        data = self.body(SendSerializer)
        channel = self.channel(data.get("channel"))
        visitor = widget.check_visitor(channel, data["visitor_id"], data["visitor_token"])
        fields = {
            "id": f"widget:{visitor}:{data['id']}",
            "visitor_id": visitor,
            "text": data.get("text") or "",
        }
        for name in ("email", "name", "identifier", "identifier_hash"):
            if data.get(name):
                fields[name] = data[name]
        attachments = []
        if data.get("file"):
            attachments.append(widget.store_attachment(channel, visitor, data["id"], data["file"]))
        result = receive_inbound(adapters.webchat_message(channel, fields, attachments=attachments))
        message = result.message
        return Response(
            {
                "id": message.pk,
                "sender": "visitor",
                "text": message.text,
                "agent": "",
                "attachments": [
                    {"filename": a.get("filename", ""), "content_type": a.get("content_type", "")}
                    for a in message.attachments or []
                ],
                "created_at": message.created_at,
            },
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class EventStreamRenderer(renderers.BaseRenderer):
    """Lets a request that accepts only text/event-stream through content negotiation; the
    stream itself is a StreamingHttpResponse, and errors are answered as JSON (below)."""

    media_type = "text/event-stream"
    format = "sse"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return renderers.JSONRenderer().render(data)


class WebchatEventsView(_WidgetView):
    """Server-sent events for the visitor's widget: an event `message` whenever she may have
    something new (an agent's reply, a merge of her thread), which the widget then fetches with
    GET messages?after=. The stream ends after LIVE_EVENTS_STREAM_SECONDS and the widget opens
    another; `after_message` (the last message id it has) makes the first event come at once
    when something arrived while it was away, so nothing is missed."""

    renderer_classes = [renderers.JSONRenderer, EventStreamRenderer]

    def get_throttles(self):
        return [PollRateThrottle()]

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response):
            # An error (bad token, rate limit, unknown channel) is the API's JSON error
            # object, whatever the request accepted.
            request.accepted_renderer = renderers.JSONRenderer()
            request.accepted_media_type = "application/json"
        return super().finalize_response(request, response, *args, **kwargs)

    @extend_schema(
        parameters=[
            OpenApiParameter("X-Visitor-Id", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("X-Visitor-Token", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("after_message", int, description="The last message id it has."),
            OpenApiParameter("channel", str, description="Web channel code, if several."),
        ],
        responses={
            (200, "text/event-stream"): OpenApiResponse(
                response=OpenApiTypes.STR,
                description="`event: message` lines (data `{}`), a heartbeat comment now and "
                "then, until the stream ends.",
            ),
            400: OpenApiResponse(description="Invalid input (field named)."),
            403: OpenApiResponse(description="visitor_token does not match."),
            429: OpenApiResponse(description="Too many requests (Retry-After)."),
        },
    )
    def get(self, request):
        channel, visitor = self.visitor_from_headers()
        after = self.message_id("after_message")
        stream = widget.visitor_stream(channel, visitor, after_message=after)
        body = stream.__aiter__() if isinstance(request._request, ASGIRequest) else iter(stream)
        response = StreamingHttpResponse(body, content_type="text/event-stream")
        response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
        return response


# --- a visitor's file, for staff ------------------------------------------------------------
@staff_member_required
@permission_required("support.view_conversation", raise_exception=True)
@require_GET
def attachment(request, pk, index):
    """A file a visitor sent through the widget: only to staff who may read conversations,
    as the type its bytes were checked to be, and never run by the browser (sandboxed)."""
    message = get_object_or_404(Message, pk=pk)
    entries = message.attachments or []
    entry = entries[index] if index < len(entries) else None
    if not isinstance(entry, dict) or not entry.get("stored"):
        raise Http404
    storage = widget.attachment_storage()
    if not storage.exists(entry["stored"]):
        raise Http404
    inline = entry.get("content_type", "").startswith("image/")
    response = FileResponse(
        storage.open(entry["stored"], "rb"),
        content_type=entry.get("content_type") or "application/octet-stream",
        as_attachment=not inline,
        filename=entry.get("filename") or "file",
    )
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
