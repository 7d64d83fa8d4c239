"""Serializers of the campaigns API. Writes are strict: unknown fields are refused by name."""

from rest_framework import serializers

from campaigns.errors import InvalidRules, InvalidTemplate
from campaigns.models import (
    Campaign,
    CampaignVariant,
    CouponPool,
    Journey,
    JourneyStep,
    MessageTemplate,
    MessageTemplateTranslation,
    Segment,
)
from campaigns.segment_words import describe
from campaigns.services.drafts import CAMPAIGN_FIELDS, create_campaign
from campaigns.services.rendering import check_template_source
from campaigns.services.segments import compile_rules, count_members
from campaigns.services.template_context import JOURNEY_DATA
from campaigns.services.templates import save_template
from core.api.serializers import StrictModelSerializer, StrictSerializer
from core.models import Channel, ChannelKind
from inventory.selectors import active_locations


def validate_rules(rules):
    try:
        compile_rules(rules)
    except InvalidRules as error:
        raise serializers.ValidationError(error.message) from None
    return rules


class SegmentSerializer(StrictModelSerializer):
    rules = serializers.JSONField(help_text="Segment rules; see campaigns.services.segments.")
    count = serializers.SerializerMethodField(help_text="Live number of members.")

    class Meta:
        model = Segment
        fields = [
            "id",
            "name",
            "description",
            "rules",
            "compiled_description",
            "is_ready_made",
            "count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["compiled_description", "is_ready_made", "created_at", "updated_at"]

    def get_count(self, segment) -> int | None:
        if not self.context.get("with_count", True):
            return None
        return count_members(segment.rules)

    def validate_rules(self, rules):
        return validate_rules(rules)

    def save(self, **kwargs):
        rules = self.validated_data.get("rules", getattr(self.instance, "rules", {}))
        return super().save(compiled_description=describe(rules), **kwargs)


class RulesCountSerializer(StrictSerializer):
    rules = serializers.JSONField()

    def validate_rules(self, rules):
        return validate_rules(rules)


class RulesCountAnswerSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    compiled_description = serializers.CharField()


TEMPLATE_SOURCE_HELP = (
    "Django template language over the allowed variables only (listed in the description of "
    "the templates endpoints); anything else is refused with a 400 naming it."
)
TEMPLATE_SOURCE_FIELDS = {
    part: {"help_text": TEMPLATE_SOURCE_HELP} for part in ("subject", "html", "text")
}


class MessageTemplateTranslationSerializer(StrictModelSerializer):
    class Meta:
        model = MessageTemplateTranslation
        fields = ["language", "subject", "html", "text"]
        extra_kwargs = TEMPLATE_SOURCE_FIELDS


class MessageTemplateSerializer(StrictModelSerializer):
    translations = MessageTemplateTranslationSerializer(many=True, required=False)
    channel_kind = serializers.CharField(
        max_length=20, help_text="A channel kind: email, sms, whatsapp, telegram, messenger..."
    )

    def validate_channel_kind(self, value):
        if value not in ChannelKind.values:
            raise serializers.ValidationError(f"One of: {', '.join(ChannelKind.values)}.")
        return value

    class Meta:
        model = MessageTemplate
        fields = [
            "id",
            "name",
            "channel_kind",
            "language",
            "subject",
            "html",
            "text",
            "provider_template_name",
            "translations",
            "updated_at",
        ]
        read_only_fields = ["updated_at"]
        extra_kwargs = TEMPLATE_SOURCE_FIELDS

    def validate(self, data):
        """Every part, translations' too, compiles in the sandbox and reads only allowed
        variables; each refused part is named with the variable or tag."""
        parts = {k: data[k] for k in ("subject", "html", "text") if k in data}
        for index, translation in enumerate(data.get("translations", [])):
            for key in ("subject", "html", "text"):
                parts[f"translations.{index}.{key}"] = translation.get(key, "")
        problems = {}
        for name, source in parts.items():
            try:
                check_template_source(**{name: source})
            except InvalidTemplate as error:
                problems.update(error.fields)
        if problems:
            raise serializers.ValidationError(problems)
        return data

    def create(self, validated_data):
        translations = validated_data.pop("translations", [])
        return save_template(fields=validated_data, translations=translations)

    def update(self, instance, validated_data):
        translations = validated_data.pop("translations", None)
        return save_template(instance, fields=validated_data, translations=translations)


class MessageTemplatePreviewRequestSerializer(StrictSerializer):
    customer = serializers.UUIDField(help_text="Public id of the customer to render for.")
    context = serializers.DictField(
        required=False,
        default=dict,
        help_text=(
            "Journey data to preview with: trigger, cart and order, each an object like the "
            "properties of the event that starts the journey. No other key."
        ),
    )

    def validate_context(self, context):
        unknown = sorted(set(context) - set(JOURNEY_DATA))
        if unknown:
            raise serializers.ValidationError(
                f"Unknown key: {', '.join(unknown)}. Use {', '.join(JOURNEY_DATA)}."
            )
        if not all(isinstance(value, dict) for value in context.values()):
            raise serializers.ValidationError("Each value is an object.")
        return context


class MessageTemplatePreviewSerializer(serializers.Serializer):
    language = serializers.CharField()
    subject = serializers.CharField(allow_blank=True)
    text = serializers.CharField(allow_blank=True)
    html = serializers.CharField(allow_blank=True)
    sms = serializers.DictField(required=False)


class CampaignVariantSerializer(StrictModelSerializer):
    template = serializers.PrimaryKeyRelatedField(queryset=MessageTemplate.objects.all())

    class Meta:
        model = CampaignVariant
        fields = ["name", "template", "weight", "is_winner"]
        read_only_fields = ["is_winner"]


class CampaignSerializer(StrictModelSerializer):
    segment = serializers.PrimaryKeyRelatedField(queryset=Segment.objects.all())
    channel = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Channel.objects.messaging(),
        required=False,
        allow_null=True,
        help_text="A messaging channel's code; empty: the best channel per customer.",
    )
    coupon_pool = serializers.PrimaryKeyRelatedField(
        queryset=CouponPool.objects.all(), required=False, allow_null=True
    )
    variants = CampaignVariantSerializer(many=True)

    class Meta:
        model = Campaign
        read_only_fields = [
            "status",
            "scheduled_at",
            "in_customer_time_zone",
            "ab_result",
            "created_at",
            "started_at",
            "finished_at",
        ]
        fields = ["id", *CAMPAIGN_FIELDS, "variants", *read_only_fields]

    def validate_variants(self, variants):
        if not variants:
            raise serializers.ValidationError("Give at least one variant.")
        names = [v["name"] for v in variants]
        if len(set(names)) != len(names):
            raise serializers.ValidationError("Variant names must differ.")
        return variants

    def validate(self, data):
        start, end = data.get("quiet_hours_start"), data.get("quiet_hours_end")
        if (start is None) != (end is None):
            raise serializers.ValidationError(
                {"quiet_hours_end": ["Give both ends of the quiet hours, or neither."]}
            )
        return data

    def create(self, validated_data):
        return create_campaign(**validated_data)


class ScheduleSerializer(StrictSerializer):
    send_at = serializers.DateTimeField()
    in_customer_time_zone = serializers.BooleanField(default=False)


class CampaignResultsSerializer(serializers.Serializer):
    total = serializers.DictField()
    variants = serializers.ListField(child=serializers.DictField())
    channels = serializers.ListField(
        child=serializers.DictField(),
        help_text="Per channel: audience, sent, failed, and delivered and read from receipts.",
    )
    ab_result = serializers.DictField()


class CouponPoolSerializer(StrictModelSerializer):
    issued = serializers.IntegerField(read_only=True, required=False)
    allowed_channels = serializers.SlugRelatedField(
        slug_field="code",
        many=True,
        required=False,
        queryset=Channel.objects.all(),
        help_text="Codes of the channels its codes work in; empty: every channel.",
    )
    allowed_stores = serializers.SlugRelatedField(
        slug_field="code",
        many=True,
        required=False,
        queryset=active_locations(),
        help_text=(
            "Codes of the stores its codes work in; empty: every store, and orders that "
            "name no store."
        ),
    )

    class Meta:
        model = CouponPool
        fields = [
            "id",
            "name",
            "code_kind",
            "prefix",
            "discount_kind",
            "discount_value",
            "currency",
            "minimum_spend",
            "valid_from",
            "valid_until",
            "max_uses_per_code",
            "max_uses_per_customer",
            "first_purchase_only",
            "is_active",
            "allowed_channels",
            "allowed_stores",
            "issued",
        ]

    def validate(self, data):
        if data.get("discount_kind") == "percentage" and data.get("discount_value", 0) > 100:
            raise serializers.ValidationError({"discount_value": ["At most 100 for a percentage."]})
        if data.get("discount_value") is not None and data["discount_value"] <= 0:
            raise serializers.ValidationError({"discount_value": ["Must be more than 0."]})
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end and end <= start:
            raise serializers.ValidationError({"valid_until": ["Must be after valid_from."]})
        return data


class IssueCodesSerializer(StrictSerializer):
    customer = serializers.UUIDField(required=False, help_text="Issue this customer's code.")
    count = serializers.IntegerField(
        required=False, min_value=1, max_value=10000, help_text="Unassigned codes to make."
    )

    def validate(self, data):
        if ("customer" in data) == ("count" in data):
            raise serializers.ValidationError({"customer": ["Give either customer or count."]})
        return data


class IssuedCodesSerializer(serializers.Serializer):
    codes = serializers.ListField(child=serializers.CharField())
    made = serializers.IntegerField()


class ValidateCouponSerializer(StrictSerializer):
    code = serializers.CharField(max_length=60)
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    customer = serializers.UUIDField(required=False)
    channel = serializers.SlugRelatedField(
        slug_field="code", queryset=Channel.objects.all(), required=False
    )
    store = serializers.SlugRelatedField(
        slug_field="code",
        queryset=active_locations(),
        required=False,
        help_text="The store's code, for a pool valid only in some stores.",
    )


class CouponValidationSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    code = serializers.CharField()
    discount = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    description = serializers.CharField(allow_blank=True)
    reason = serializers.CharField(allow_blank=True)


class CampaignJourneyStepSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(read_only=True, help_text="wait, condition, send or exit")
    channel_choice = serializers.CharField(read_only=True, help_text="fixed, best or asked")
    template = serializers.StringRelatedField(allow_null=True)
    channel = serializers.StringRelatedField(allow_null=True)

    class Meta:
        model = JourneyStep
        fields = [
            "position",
            "kind",
            "wait_minutes",
            "rules",
            "template",
            "channel_choice",
            "channel",
        ]


class JourneySerializer(serializers.ModelSerializer):
    steps = CampaignJourneyStepSerializer(many=True, read_only=True)
    active_runs = serializers.IntegerField(read_only=True)

    class Meta:
        model = Journey
        fields = [
            "id",
            "key",
            "name",
            "trigger",
            "exit_events",
            "purpose",
            "once_per_customer",
            "is_active",
            "steps",
            "active_runs",
        ]
