"""Support API: inbound channel webhooks, and conversations for partners and staff (list,
read, reply, note, assign, status, logged calls and visits). Thin: parse, call a service or a
selector, shape the answer."""

import hmac

from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.models import Channel
from core.providers import delivery_reported
from core.selectors import channel_for
from support import adapters, selectors, services
from support.api.serializers import (
    AssignSerializer,
    ContactLogSerializer,
    ConversationDetailSerializer,
    ConversationQuerySerializer,
    ConversationSerializer,
    InboundAcceptedSerializer,
    MergeSerializer,
    MessageSerializer,
    NoteSerializer,
    ReplySerializer,
    StatusSerializer,
)
from support.errors import CannotMerge, InvalidPayload, InvalidSignature, UnknownChannel
from support.models import Conversation, Message

STAFF = {"read": "support.view_conversation", "write": "support.change_conversation"}


def inbound_channel(kind: str, code: str | None):
    """The active channel of this kind holding an inbound secret (or the one named)."""
    if kind not in adapters.ADAPTERS:
        raise UnknownChannel(
            f"No inbound adapter for {kind!r}.",
            fields={"channel": [f"Use one of: {', '.join(sorted(adapters.ADAPTERS))}."]},
        )
    channel_kind, parse = adapters.ADAPTERS[kind]
    channels = Channel.objects.active().filter(kind=channel_kind)
    if code:
        channels = channels.filter(code=code)
    candidates = [c for c in channels if (c.provider_settings or {}).get("inbound_secret")]
    if not candidates:
        raise UnknownChannel(f"No active {kind} channel takes inbound messages.")
    if len(candidates) > 1:
        raise InvalidPayload(
            f"Several {kind} channels take inbound messages; name one.",
            fields={"channel": ["Add ?channel=<code>."]},
        )
    return candidates[0], parse


class InboundWebhookView(APIView):
    """A channel provider delivers customer messages (and, for Meta, delivery statuses).
    Authenticated by the provider's signature under the channel's inbound secret, not by an
    API key. Retries are harmless: a channel message id is stored once."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        parameters=[
            OpenApiParameter("channel", str, description="Channel code, when several match."),
            OpenApiParameter("hub.mode", str),
            OpenApiParameter("hub.verify_token", str),
            OpenApiParameter("hub.challenge", str),
        ],
        responses={200: OpenApiResponse(OpenApiTypes.STR, description="The hub.challenge.")},
    )
    def get(self, request, kind):
        """Meta's subscription check: echo hub.challenge when hub.verify_token matches."""
        channel, _parse = inbound_channel(kind, request.query_params.get("channel"))
        expected = str((channel.provider_settings or {}).get("verify_token") or "")
        given = request.query_params.get("hub.verify_token", "")
        # Compared in constant time: the token is a secret shared with Meta.
        if (
            request.query_params.get("hub.mode") != "subscribe"
            or not expected
            or not hmac.compare_digest(given.encode(), expected.encode())
        ):
            raise InvalidSignature("The verify token does not match.")
        return HttpResponse(
            request.query_params.get("hub.challenge", ""), content_type="text/plain"
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("channel", str, description="Channel code, when several match.")
        ],
        request={
            "application/json": OpenApiTypes.OBJECT,
            "message/rfc822": OpenApiTypes.BINARY,
            "application/x-www-form-urlencoded": OpenApiTypes.OBJECT,
        },
        responses={200: InboundAcceptedSerializer},
    )
    def post(self, request, kind):
        channel, parse = inbound_channel(kind, request.query_params.get("channel"))
        django_request = request._request
        adapters.verify(channel, django_request)
        parsed = parse(channel, django_request)
        accepted = duplicates = 0
        ids = []
        for inbound in parsed.messages:
            result = services.receive_inbound(inbound)
            accepted += int(result.created)
            duplicates += int(not result.created)
            ids.append(result.message.pk)
        for provider_id, state, detail in parsed.statuses:
            # Every listener hears a receipt (support's replies and campaigns' messages alike).
            delivery_reported.send(
                sender=Channel,
                channel=channel,
                provider_message_id=provider_id,
                status=state,
                detail=detail,
            )
        return Response(
            {
                "accepted": accepted,
                "duplicates": duplicates,
                "statuses": len(parsed.statuses),
                "messages": ids,
            }
        )


def _staff_user(request):
    user = request.user
    return user if isinstance(user, get_user_model()) else None


class ConversationListView(generics.ListAPIView):
    """The inbox: filter like the staff page; sorted by what breaches first."""

    serializer_class = ConversationSerializer
    scope_area = "support"
    staff_permissions = STAFF
    filter_backends: list = []
    queryset = Conversation.objects.none()

    def get_queryset(self):
        query = ConversationQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        data = dict(query.validated_data)
        data.pop("page", None)
        data.pop("page_size", None)
        if data.get("view") == "mine" and _staff_user(self.request) is None:
            raise InvalidPayload(
                "view=mine needs a staff session.", fields={"view": ["Staff only."]}
            )
        return (
            selectors.inbox_conversations(_staff_user(self.request), selectors.InboxFilters(**data))
            .select_related("started_channel", "last_inbound_channel")
            .prefetch_related("tags")
        )

    @extend_schema(parameters=[ConversationQuerySerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ConversationDetailView(generics.RetrieveAPIView):
    serializer_class = ConversationDetailSerializer
    scope_area = "support"
    staff_permissions = STAFF
    queryset = Conversation.objects.select_related(
        "customer", "assignee", "team", "started_channel", "last_inbound_channel"
    ).prefetch_related(
        "tags", Prefetch("messages", queryset=Message.objects.select_related("channel", "author"))
    )


class MessageListView(generics.ListAPIView):
    """A conversation's messages, oldest first."""

    serializer_class = MessageSerializer
    scope_area = "support"
    staff_permissions = STAFF
    filter_backends: list = []
    queryset = Message.objects.none()

    def get_queryset(self):
        conversation = get_object_or_404(Conversation, pk=self.kwargs["pk"])
        return (
            Message.objects.filter(conversation=conversation)
            .select_related("channel", "author")
            .order_by("created_at", "id")
        )


class _ConversationAction(APIView):
    scope_area = "support"
    staff_permissions = STAFF

    def conversation(self):
        return get_object_or_404(Conversation, pk=self.kwargs["pk"])

    def body(self, serializer_class):
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


def _channel(code):
    return channel_for(code, error=UnknownChannel)


class ReplyView(_ConversationAction):
    """Answer the customer; sent by a worker. Send an Idempotency-Key to make retries safe."""

    @extend_schema(request=ReplySerializer, responses={201: MessageSerializer})
    def post(self, request, pk):
        data = self.body(ReplySerializer)
        channel = _channel(data["channel"]) if data.get("channel") else None
        message = services.reply(
            self.conversation(),
            _staff_user(request),
            data["text"],
            channel=channel,
            html=data.get("html", ""),
            idempotency_key=request.headers.get("Idempotency-Key") or None,
        )
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class NoteView(_ConversationAction):
    """An internal note; @username mentions notify those agents."""

    @extend_schema(request=NoteSerializer, responses={201: MessageSerializer})
    def post(self, request, pk):
        data = self.body(NoteSerializer)
        note = services.add_note(self.conversation(), _staff_user(request), data["text"])
        return Response(MessageSerializer(note).data, status=status.HTTP_201_CREATED)


class AssignView(_ConversationAction):
    @extend_schema(request=AssignSerializer, responses={200: ConversationSerializer})
    def post(self, request, pk):
        data = self.body(AssignSerializer)
        agent = None
        if data["assignee"]:
            agent = (
                get_user_model()
                .objects.filter(username=data["assignee"], is_active=True, is_staff=True)
                .first()
            )
            if agent is None:
                raise InvalidPayload("No such agent.", fields={"assignee": ["Unknown agent."]})
        conversation = services.assign(self.conversation(), agent, by=_staff_user(request))
        return Response(ConversationSerializer(conversation).data)


class StatusView(_ConversationAction):
    @extend_schema(request=StatusSerializer, responses={200: ConversationSerializer})
    def post(self, request, pk):
        data = self.body(StatusSerializer)
        conversation = self.conversation()
        if data.get("priority"):
            conversation = services.set_priority(conversation, data["priority"])
        conversation = services.set_status(
            conversation,
            data["status"],
            by=_staff_user(request),
            snoozed_until=data.get("snoozed_until"),
        )
        conversation.refresh_from_db()
        return Response(ConversationSerializer(conversation).data)


class MergeView(_ConversationAction):
    """Merge another conversation of the same customer into this one: its messages move here
    keeping their channels, it is closed and points here. Idempotent: merging the same
    conversation again answers the same. 409 (field named) for two customers' conversations or
    one already merged elsewhere."""

    @extend_schema(
        request=MergeSerializer,
        responses={
            200: ConversationSerializer,
            400: OpenApiResponse(description="Invalid input (field named)."),
            404: OpenApiResponse(description="No such conversation."),
            409: OpenApiResponse(description="Another customer's, or already merged."),
        },
    )
    def post(self, request, pk):
        data = self.body(MergeSerializer)
        conversation = self.conversation()
        other = Conversation.objects.filter(pk=data["conversation"]).first()
        if other is None:
            raise CannotMerge(
                "No such conversation.", fields={"conversation": ["Unknown conversation."]}
            )
        target = services.merge_conversations(
            conversation, other, by=_staff_user(request), source_field="conversation"
        )
        target.refresh_from_db()
        return Response(ConversationSerializer(target).data)


class ContactLogView(APIView):
    """Log a phone call or a store visit as a message of that channel."""

    scope_area = "support"
    staff_permissions = STAFF

    @extend_schema(request=ContactLogSerializer, responses={201: MessageSerializer})
    def post(self, request):
        serializer = ContactLogSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        conversation = None
        if data.get("conversation"):
            conversation = Conversation.objects.filter(pk=data["conversation"]).first()
            if conversation is None:
                raise InvalidPayload("No such conversation.", fields={"conversation": ["Unknown."]})
        message = services.log_contact(
            _channel(data["channel"]),
            author=_staff_user(request),
            text=data["text"],
            conversation=conversation,
            identities=[dict(i) for i in data.get("identities") or []],
            external_id=data.get("external_id", ""),
        )
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)
