"""Shapes of support's API: conversations, messages, and the bodies of its actions."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.serializers import StrictSerializer
from support.models import (
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Message,
    MessageKind,
    Priority,
)


def named_choice_field(name, choices, schema_type="string"):
    """A ChoiceField documented as its own named enum: `status`, `kind` and `priority` carry
    other choice sets in other apps, and the schema must not mix them."""
    values = [value for value, _label in choices]

    @extend_schema_field({"type": schema_type, "enum": values}, component_name=name)
    class NamedChoiceField(serializers.ChoiceField):
        def __init__(self, **kwargs):
            super().__init__(choices=choices, **kwargs)

    return NamedChoiceField


ConversationStatusField = named_choice_field("ConversationStatus", ConversationStatus.choices)
PriorityField = named_choice_field("ConversationPriority", Priority.choices, "integer")
DirectionField = named_choice_field("MessageDirection", Direction.choices)
MessageKindField = named_choice_field("MessageKind", MessageKind.choices)
DeliveryStatusField = named_choice_field("MessageDeliveryStatus", DeliveryStatus.choices)


class MessageSerializer(serializers.ModelSerializer):
    channel = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    author = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    direction = DirectionField(read_only=True)
    kind = MessageKindField(read_only=True)
    delivery_status = DeliveryStatusField(read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "direction",
            "kind",
            "channel",
            "author",
            "address",
            "subject",
            "text",
            "html",
            "attachments",
            "claimed_identities",
            "external_id",
            "delivery_status",
            "created_at",
            "sent_at",
        ]
        read_only_fields = fields


class ConversationSerializer(serializers.ModelSerializer):
    customer = serializers.UUIDField(source="customer.public_id", read_only=True)
    customer_name = serializers.CharField(source="customer.display_name", read_only=True)
    started_channel = serializers.SlugRelatedField(slug_field="code", read_only=True)
    last_inbound_channel = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    team = serializers.StringRelatedField(allow_null=True)
    tags = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    status = ConversationStatusField(read_only=True)
    priority = PriorityField(read_only=True)

    class Meta:
        model = Conversation
        fields = [
            "id",
            "customer",
            "customer_name",
            "subject",
            "status",
            "priority",
            "team",
            "assignee",
            "tags",
            "started_channel",
            "last_inbound_channel",
            "channels_used",
            "related_order_number",
            "created_at",
            "last_message_at",
            "first_response_due_at",
            "next_response_due_at",
            "resolution_due_at",
            "sla_due_at",
            "first_response_breached",
            "next_response_breached",
            "resolution_breached",
            "first_response_at",
            "first_response_seconds",
            "resolved_at",
            "resolution_seconds",
        ]
        read_only_fields = fields


class ConversationDetailSerializer(ConversationSerializer):
    messages = MessageSerializer(many=True, read_only=True)

    class Meta(ConversationSerializer.Meta):
        fields = [*ConversationSerializer.Meta.fields, "messages"]
        read_only_fields = fields


class ConversationQuerySerializer(StrictSerializer):
    view = serializers.ChoiceField(
        choices=["", "mine", "unassigned"], required=False, default="", allow_blank=True
    )
    team = serializers.IntegerField(required=False, min_value=1)
    channel = serializers.CharField(required=False, default="", allow_blank=True, max_length=50)
    status = serializers.ChoiceField(
        choices=[*ConversationStatus.values, "active", "all"], required=False, default="open"
    )
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    tag = serializers.CharField(required=False, default="", allow_blank=True, max_length=50)
    breaching = serializers.BooleanField(required=False, default=False)
    q = serializers.CharField(required=False, default="", allow_blank=True, max_length=200)
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=500)


class ReplySerializer(StrictSerializer):
    text = serializers.CharField(max_length=20000)
    html = serializers.CharField(required=False, default="", allow_blank=True, max_length=200000)
    channel = serializers.SlugField(
        required=False, help_text="Channel code; default: the one the customer last wrote on."
    )


class NoteSerializer(StrictSerializer):
    text = serializers.CharField(max_length=20000)


class AssignSerializer(StrictSerializer):
    assignee = serializers.CharField(
        allow_null=True, help_text="Username; null puts it back in the unassigned queue."
    )


class StatusSerializer(StrictSerializer):
    status = ConversationStatusField()
    snoozed_until = serializers.DateTimeField(required=False, allow_null=True)
    priority = PriorityField(required=False)


class MergeSerializer(StrictSerializer):
    conversation = serializers.IntegerField(
        min_value=1,
        help_text="Id of the other conversation of the same customer; it is merged into this "
        "one (its messages move here, it is closed pointing here). A retry answers the same.",
    )


class IdentitySerializer(StrictSerializer):
    kind = serializers.CharField(max_length=20)
    value = serializers.CharField(max_length=255)


class ContactLogSerializer(StrictSerializer):
    channel = serializers.SlugField(help_text="Code of a phone or store channel.")
    text = serializers.CharField(max_length=20000)
    conversation = serializers.IntegerField(required=False, min_value=1)
    identities = IdentitySerializer(many=True, required=False)
    external_id = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=255
    )


class InboundAcceptedSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    statuses = serializers.IntegerField()
    messages = serializers.ListField(child=serializers.IntegerField())
