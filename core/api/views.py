"""Core endpoints: channels, and who am I."""

import django_filters
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.authentication import ApiClient
from core.api.serializers import StrictModelSerializer
from core.models import Channel, ChannelKind


class ChannelSerializer(StrictModelSerializer):
    kind = serializers.ChoiceField(choices=ChannelKind.choices)

    class Meta:
        model = Channel
        fields = [
            "id",
            "code",
            "name",
            "kind",
            "sells",
            "messages",
            "is_active",
            "currency",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class ChannelFilter(django_filters.FilterSet):
    class Meta:
        model = Channel
        fields = ["kind", "sells", "messages", "is_active", "currency"]


class ChannelListView(generics.ListCreateAPIView):
    """The configured channels. Partners read them to learn which `channel` codes exist."""

    queryset = Channel.objects.all()
    serializer_class = ChannelSerializer
    filterset_class = ChannelFilter
    ordering_fields = ["name", "code", "created_at"]
    scope_area = "channels"
    staff_permissions = {"read": "core.view_channel", "write": "core.add_channel"}


class ChannelDetailView(generics.RetrieveUpdateAPIView):
    queryset = Channel.objects.all()
    serializer_class = ChannelSerializer
    lookup_field = "code"
    scope_area = "channels"
    staff_permissions = {"read": "core.view_channel", "write": "core.change_channel"}


class WhoAmIView(APIView):
    """The key (or staff user) making the request and what it may do."""

    @extend_schema(
        responses=inline_serializer(
            "WhoAmI",
            {
                "kind": serializers.CharField(),
                "name": serializers.CharField(),
                "scopes": serializers.ListField(child=serializers.CharField()),
            },
        )
    )
    def get(self, request):
        user = request.user
        if isinstance(user, ApiClient):
            key = user.api_key
            return Response(
                {"kind": "api_key", "name": key.name, "prefix": key.prefix, "scopes": key.scopes}
            )
        return Response({"kind": "staff", "name": user.get_username(), "scopes": []})
