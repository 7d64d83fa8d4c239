"""Customers API shapes. Reads use model serializers; the identify/track/batch/alias bodies are
validated by msgspec (customers/payloads.py) and described here for the OpenAPI schema."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.serializers import StrictModelSerializer, StrictSerializer
from core.models import ChannelKind
from customers.models import (
    Consent,
    ConsentPurpose,
    ConsentStatus,
    Customer,
    Event,
    Identity,
    IdentityKind,
)
from customers.payloads import MAX_BATCH_ITEMS


def named_choice_field(name, values):
    """A ChoiceField documented as its own named enum component: field names such as `kind`
    and `status` carry other choice sets in other apps, and the schema must not mix them."""

    @extend_schema_field({"type": "string", "enum": list(values)}, component_name=name)
    class NamedChoiceField(serializers.ChoiceField):
        def __init__(self, **kwargs):
            super().__init__(choices=list(values), **kwargs)

    return NamedChoiceField


IdentityKindField = named_choice_field("IdentityKind", IdentityKind.values)
ChannelKindField = named_choice_field("CustomerChannelKind", ["", *ChannelKind.values])
ResultStatusField = named_choice_field("IngestResultStatus", ["ok", "duplicate", "error"])
ConsentStatusField = named_choice_field("ConsentStatus", ConsentStatus.values)
ConsentPurposeField = named_choice_field("ConsentPurpose", ConsentPurpose.values)


class IdentitySerializer(StrictModelSerializer):
    kind = IdentityKindField(read_only=True)
    verified = serializers.BooleanField(source="is_verified", read_only=True)

    class Meta:
        model = Identity
        fields = ["kind", "value", "partner", "verified"]
        read_only_fields = fields


class CustomerSerializer(StrictModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    preferred_channel = ChannelKindField(read_only=True, allow_blank=True)
    identities = IdentitySerializer(many=True, read_only=True)

    class Meta:
        model = Customer
        fields = [
            "id",
            "first_name",
            "last_name",
            "locale",
            "preferred_channel",
            "traits",
            "latitude",
            "longitude",
            "is_anonymous",
            "identities",
            "created_at",
            "first_seen_at",
            "last_seen_at",
            "orders_count",
            "lifetime_spend",
            "channels_used",
            "events_count",
            "erased_at",
        ]
        read_only_fields = fields


class CustomerEnvelopeSerializer(StrictSerializer):
    customer = CustomerSerializer(read_only=True)


class EventSerializer(StrictModelSerializer):
    channel = serializers.CharField(source="channel.code", read_only=True, allow_null=True)
    channel_kind = serializers.CharField(source="channel.kind", read_only=True, allow_null=True)

    class Meta:
        model = Event
        fields = [
            "message_id",
            "name",
            "channel",
            "channel_kind",
            "occurred_at",
            "received_at",
            "properties",
            "source",
        ]
        read_only_fields = fields


class ConsentSerializer(StrictModelSerializer):
    channel = serializers.CharField(source="channel_kind", read_only=True)
    purpose = ConsentPurposeField(read_only=True)
    status = ConsentStatusField(read_only=True)

    class Meta:
        model = Consent
        fields = ["channel", "purpose", "status", "source", "recorded_at"]
        read_only_fields = fields


class ConsentWriteSerializer(StrictSerializer):
    channel = ChannelKindField(help_text="A channel kind.")
    purpose = ConsentPurposeField()
    status = ConsentStatusField()
    source = serializers.CharField(max_length=100, required=False, allow_blank=True)
    recorded_at = serializers.DateTimeField(
        required=False, help_text="When the person decided; default now."
    )


class ConsentsSerializer(StrictSerializer):
    current = ConsentSerializer(many=True, read_only=True)
    history = ConsentSerializer(many=True, read_only=True)


# --- Documentation of the msgspec-validated bodies -------------------------------------
class IdentityInSerializer(StrictSerializer):
    kind = IdentityKindField()
    value = serializers.CharField(max_length=320)
    partner = serializers.CharField(
        max_length=100, required=False, help_text="Required for external_id: whose id it is."
    )
    verified = serializers.BooleanField(required=False, default=False)


class _ItemBase(StrictSerializer):
    identities = IdentityInSerializer(many=True, min_length=1, max_length=20)
    channel = serializers.CharField(
        required=False, help_text="A channel code, kind or name; default: the key's channel."
    )
    message_id = serializers.CharField(
        required=False, max_length=100, help_text="Dedupe key: the same id is stored once."
    )
    occurred_at = serializers.DateTimeField(required=False)


class IdentifyRequestSerializer(_ItemBase):
    traits = serializers.DictField(
        required=False,
        help_text=(
            "first_name, last_name, locale, preferred_channel, latitude and longitude (where "
            "she lives, in degrees), and any custom traits."
        ),
    )


class TrackRequestSerializer(_ItemBase):
    event = serializers.CharField(
        max_length=64, help_text="A standard name (product_viewed, ...) or a custom one."
    )
    properties = serializers.DictField(required=False)


class BatchItemSerializer(_ItemBase):
    type = serializers.ChoiceField(choices=["identify", "track"])
    traits = serializers.DictField(required=False)
    event = serializers.CharField(required=False, max_length=64)
    properties = serializers.DictField(required=False)


class BatchRequestSerializer(StrictSerializer):
    items = BatchItemSerializer(many=True, min_length=1, max_length=MAX_BATCH_ITEMS)


class ItemErrorSerializer(StrictSerializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class BatchResultSerializer(StrictSerializer):
    index = serializers.IntegerField()
    status = ResultStatusField()
    customer_id = serializers.UUIDField(required=False)
    message_id = serializers.CharField(required=False)
    error = ItemErrorSerializer(required=False)


class BatchResponseSerializer(StrictSerializer):
    results = BatchResultSerializer(many=True)
    stored = serializers.IntegerField(help_text="Events stored by this request.")
    duplicates = serializers.IntegerField()
    errors = serializers.IntegerField()


class TrackResponseSerializer(StrictSerializer):
    status = ResultStatusField(help_text="ok (stored) or duplicate (already stored).")
    customer = CustomerSerializer()
    event = EventSerializer()


class AliasRequestSerializer(StrictSerializer):
    identity = IdentityInSerializer(help_text="An identity we already know.")
    alias = IdentityInSerializer(help_text="The identity to link to it, e.g. a cookie.")
    channel = serializers.CharField(required=False)


class ErasedSerializer(StrictSerializer):
    customer = CustomerSerializer()
    erased_at = serializers.DateTimeField()


class ChannelsAndLoyaltyRowOut(serializers.Serializer):
    channels = serializers.IntegerField(help_text="Kinds of channel used (4: four or more).")
    customers = serializers.IntegerField()
    average_days_as_customer = serializers.IntegerField()
    active = serializers.IntegerField(help_text="Of them, seen in the last `active_days` days.")
    average_orders = serializers.FloatField()


class ChannelsAndLoyaltyOut(serializers.Serializer):
    active_days = serializers.IntegerField()
    results = ChannelsAndLoyaltyRowOut(many=True)
