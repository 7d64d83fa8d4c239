"""Shapes of the inventory API. Bulk bodies (movement batches, bulk availability) are
validated with msgspec (fast enough for thousands of items); the DRF serializers for them
here only document the schema. Small bodies use strict DRF serializers."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

import msgspec
from django.utils.translation import gettext as _
from rest_framework import serializers

from core.api.parsers import check_json_body
from core.api.serializers import StrictModelSerializer, StrictSerializer
from inventory.errors import InvalidMovement
from inventory.models import Location, MovementReason, Reservation, StockMovement, TransferStatus

MAX_BATCH = 1000
MAX_BULK_SKUS = 5000

Text = Annotated[str, msgspec.Meta(max_length=120)]
Key = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]


class MovementItem(msgspec.Struct, forbid_unknown_fields=True):
    sku: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    location: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    reason: str
    idempotency_key: Key
    occurred_at: dt.datetime
    quantity: int | None = None
    counted_quantity: int | None = None
    channel: Annotated[str, msgspec.Meta(max_length=50)] | None = None
    reference: Text = ""
    note: Annotated[str, msgspec.Meta(max_length=255)] = ""
    source: Annotated[str, msgspec.Meta(min_length=1, max_length=80)] | None = None


class MovementBatch(msgspec.Struct, forbid_unknown_fields=True):
    movements: Annotated[list[MovementItem], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]


class BulkAvailabilityBody(msgspec.Struct, forbid_unknown_fields=True):
    channel: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
    skus: Annotated[
        list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]],
        msgspec.Meta(min_length=1, max_length=MAX_BULK_SKUS),
    ]


_PATH = re.compile(r"at `\$(?P<path>[^`]*)`")


def decode(body: bytes, struct_type):
    """Decode and validate a JSON body; a refusal names the field (`movements.3.quantity`)."""
    check_json_body(body)
    try:
        return msgspec.json.decode(body, type=struct_type)
    except msgspec.ValidationError as error:
        message = str(error)
        match = _PATH.search(message)
        path = match.group("path") if match else ""
        field = re.sub(r"\[(\d+)\]", r".\1", path).lstrip(".") or "non_field_errors"
        text = message.split(" - at ")[0]
        if text.startswith("Object contains unknown field"):
            unknown = re.search(r"`([^`]+)`", text)
            if unknown:
                field = (
                    f"{field}.{unknown.group(1)}"
                    if field != "non_field_errors"
                    else unknown.group(1)
                )
            text = "Unknown field."
        elif text.startswith("Object missing required field"):
            missing = re.search(r"`([^`]+)`", text)
            if missing:
                field = (
                    f"{field}.{missing.group(1)}"
                    if field != "non_field_errors"
                    else missing.group(1)
                )
            text = "This field is required."
        raise InvalidMovement(
            _("Invalid input in: %(field)s.") % {"field": field}, fields={field: [text]}
        ) from error
    except msgspec.DecodeError as error:
        raise InvalidMovement(_("The body is not valid JSON.")) from error


# --- documentation of the msgspec bodies -----------------------------------------------------


class StockMovementInSerializer(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    location = serializers.CharField(max_length=40, help_text="Location code.")
    reason = serializers.ChoiceField(choices=MovementReason.choices)
    quantity = serializers.IntegerField(
        required=False,
        help_text="Signed: a sale, transfer out or damage is negative; a receipt, return or "
        "transfer in positive. Not sent for a count.",
    )
    counted_quantity = serializers.IntegerField(
        required=False, min_value=0, help_text="A count's absolute figure at occurred_at."
    )
    occurred_at = serializers.DateTimeField(help_text="With a time zone offset.")
    idempotency_key = serializers.CharField(max_length=120, help_text="Unique per source.")
    source = serializers.CharField(
        required=False, help_text="The sending system; default: the location code."
    )
    channel = serializers.CharField(required=False, help_text="Channel code.")
    reference = serializers.CharField(required=False, max_length=120)
    note = serializers.CharField(required=False, max_length=255)


class StockMovementBatchInSerializer(StrictSerializer):
    movements = StockMovementInSerializer(many=True)


class MovementItemErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    field = serializers.CharField()


class MovementResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["applied", "duplicate", "refused"])
    movement_id = serializers.IntegerField(required=False)
    quantity = serializers.IntegerField(required=False)
    error = MovementItemErrorSerializer(required=False)


class MovementBatchResultSerializer(serializers.Serializer):
    applied = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    refused = serializers.IntegerField()
    results = MovementResultSerializer(many=True)


class BulkAvailabilityInSerializer(StrictSerializer):
    channel = serializers.CharField()
    skus = serializers.ListField(child=serializers.CharField(), max_length=MAX_BULK_SKUS)


class StockAvailabilityItemSerializer(serializers.Serializer):
    sku = serializers.CharField()
    units = serializers.IntegerField()


class StockAvailabilitySerializer(serializers.Serializer):
    channel = serializers.CharField()
    items = StockAvailabilityItemSerializer(many=True)
    unknown_skus = serializers.ListField(child=serializers.CharField())


class AvailabilityQuerySerializer(StrictSerializer):
    sku = serializers.ListField(
        child=serializers.CharField(max_length=64), min_length=1, max_length=MAX_BULK_SKUS
    )
    channel = serializers.CharField(max_length=50)


class ExplainQuerySerializer(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    channel = serializers.CharField(max_length=50)


class StockReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class StockExplainLocationSerializer(serializers.Serializer):
    location = serializers.CharField(source="location.code")
    counts = serializers.BooleanField()
    why_not = serializers.CharField()
    on_hand = serializers.IntegerField()
    reserved = serializers.IntegerField()
    safety_stock = serializers.IntegerField()
    available = serializers.IntegerField()


class StockInTransitSerializer(serializers.Serializer):
    location = serializers.CharField(help_text="The destination's code.")
    units = serializers.IntegerField()
    expected_at = serializers.DateTimeField(allow_null=True)


class StockExplainSerializer(serializers.Serializer):
    sku = serializers.CharField()
    channel = serializers.CharField()
    units = serializers.IntegerField()
    buffer_percent = serializers.IntegerField()
    reasons = StockReasonSerializer(many=True)
    locations = StockExplainLocationSerializer(many=True)
    in_transit = StockInTransitSerializer(
        many=True, help_text="Units shipped between locations and not yet received."
    )


class NearbyQuerySerializer(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    lat = serializers.FloatField(min_value=-90, max_value=90)
    lng = serializers.FloatField(min_value=-180, max_value=180)
    channel = serializers.CharField(max_length=50, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=50, default=10)
    max_km = serializers.FloatField(min_value=0, required=False)


class NearbyStoreSerializer(serializers.Serializer):
    code = serializers.CharField(source="location.code")
    name = serializers.CharField(source="location.name")
    city = serializers.CharField(source="location.city")
    address = serializers.CharField(source="location.address")
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, source="location.latitude")
    longitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, source="location.longitude"
    )
    time_zone = serializers.CharField(source="location.time_zone")
    opening_hours = serializers.JSONField(source="location.opening_hours")
    distance_km = serializers.FloatField()
    units = serializers.IntegerField()


class NearbySerializer(serializers.Serializer):
    sku = serializers.CharField()
    stores = NearbyStoreSerializer(many=True)


class StockLocationSerializer(StrictModelSerializer):
    channels = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    supplied_by = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = Location
        fields = [
            "code",
            "name",
            "kind",
            "address",
            "city",
            "country",
            "latitude",
            "longitude",
            "opening_hours",
            "time_zone",
            "serves_online",
            "allows_pickup",
            "ships_from_store",
            "priority",
            "channels",
            "supplied_by",
            "is_active",
        ]
        read_only_fields = fields


class StockReservationInSerializer(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=100000)
    location = serializers.CharField(
        max_length=40, required=False, help_text="Hold at this location (code)."
    )
    channel = serializers.CharField(
        max_length=50, required=False, help_text="Let the channel's rule choose the location."
    )
    pickup_location = serializers.CharField(
        max_length=40, required=False, help_text="A store where the customer collects."
    )
    lat = serializers.FloatField(min_value=-90, max_value=90, required=False)
    lng = serializers.FloatField(min_value=-180, max_value=180, required=False)
    expires_in = serializers.IntegerField(
        min_value=1, max_value=30 * 86400, required=False, help_text="Seconds; default 1800."
    )
    reference = serializers.CharField(max_length=120, required=False, default="", allow_blank=True)

    def validate(self, attrs):
        if not (attrs.get("location") or attrs.get("channel") or attrs.get("pickup_location")):
            raise serializers.ValidationError(
                {"location": [_("Name a location, a pickup location or a channel.")]}
            )
        if ("lat" in attrs) != ("lng" in attrs):
            raise serializers.ValidationError({"lng": [_("Send lat and lng together.")]})
        return attrs


class StockReservationSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="variant.sku")
    location = serializers.CharField(source="location.code")
    pickup_location = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    channel = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = Reservation
        fields = [
            "id",
            "sku",
            "quantity",
            "location",
            "pickup_location",
            "channel",
            "status",
            "reference",
            "expires_at",
            "created_at",
            "closed_at",
        ]
        read_only_fields = fields


class StockMovementSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="variant.sku")
    location = serializers.CharField(source="location.code")
    channel = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = StockMovement
        fields = [
            "id",
            "sku",
            "location",
            "quantity",
            "counted_quantity",
            "reason",
            "channel",
            "reference",
            "note",
            "occurred_at",
            "recorded_at",
            "source",
            "idempotency_key",
        ]
        read_only_fields = fields


class TransferLineInSerializer(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)


class TransferInSerializer(StrictSerializer):
    """A transfer asked for: from and to are location codes."""

    locals()["from"] = serializers.CharField(max_length=40, help_text="The source's code.")
    locals()["to"] = serializers.CharField(max_length=40, help_text="The destination's code.")
    lines = TransferLineInSerializer(many=True, allow_empty=False, max_length=500)
    reference = serializers.CharField(max_length=120, required=False, allow_blank=True)
    expected_at = serializers.DateTimeField(required=False, allow_null=True)


class ReceiptLineInSerializer(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    received = serializers.IntegerField(min_value=0, max_value=1_000_000, default=0)
    damaged = serializers.IntegerField(min_value=0, max_value=1_000_000, default=0)


class ReceiptInSerializer(StrictSerializer):
    """What arrived in this receipt; without lines, everything still on its way arrived in
    good condition."""

    lines = ReceiptLineInSerializer(many=True, required=False, allow_empty=False, max_length=500)


class TransferLineSerializer(serializers.Serializer):
    sku = serializers.CharField(source="variant.sku")
    product = serializers.CharField(source="variant.product.name")
    quantity = serializers.IntegerField()
    shipped = serializers.IntegerField()
    received = serializers.IntegerField()
    damaged = serializers.IntegerField()
    in_transit = serializers.IntegerField(source="outstanding")


class TransferSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    locals()["from"] = serializers.CharField(source="from_location.code")
    locals()["to"] = serializers.CharField(source="to_location.code")
    reference = serializers.CharField()
    reservation = serializers.IntegerField(source="reservation_id", allow_null=True)
    created_at = serializers.DateTimeField()
    expected_at = serializers.DateTimeField(allow_null=True)
    shipped_at = serializers.DateTimeField(allow_null=True)
    received_at = serializers.DateTimeField(allow_null=True)
    receipts = serializers.IntegerField()
    lines = TransferLineSerializer(many=True)


class TransferQuerySerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=TransferStatus.choices, required=False)
    locals()["from"] = serializers.CharField(max_length=40, required=False)
    locals()["to"] = serializers.CharField(max_length=40, required=False)
    sku = serializers.CharField(max_length=64, required=False)
    cursor = serializers.CharField(required=False)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=500)
