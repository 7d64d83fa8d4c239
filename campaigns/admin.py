"""Admin registrations for campaigns: every model, with the links and filters marketers use."""

from django.contrib import admin

from campaigns import models
from campaigns.forms import TemplatePartsForm


class TranslationInline(admin.StackedInline):
    model = models.MessageTemplateTranslation
    form = TemplatePartsForm
    extra = 0


class VariantInline(admin.TabularInline):
    model = models.CampaignVariant
    extra = 0
    autocomplete_fields = ["template"]


class StepInline(admin.TabularInline):
    model = models.JourneyStep
    extra = 0
    autocomplete_fields = ["template"]


@admin.register(models.Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ["name", "rules_in_words", "is_ready_made", "updated_at"]
    search_fields = ["name"]
    readonly_fields = ["rules_in_words"]


@admin.register(models.SegmentSnapshot)
class SegmentSnapshotAdmin(admin.ModelAdmin):
    list_display = ["segment", "campaign", "member_count", "taken_at"]
    list_select_related = ["segment", "campaign"]
    readonly_fields = ["segment", "campaign", "rules", "member_count", "taken_at"]

    def has_add_permission(self, request):
        # Sending a campaign takes the snapshot; an empty one made here has no segment.
        return False


@admin.register(models.MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    form = TemplatePartsForm
    list_display = ["name", "channel_kind", "language", "updated_at"]
    list_filter = ["channel_kind"]
    search_fields = ["name", "subject"]
    inlines = [TranslationInline]


@admin.register(models.MessageTemplateTranslation)
class MessageTemplateTranslationAdmin(admin.ModelAdmin):
    form = TemplatePartsForm
    list_display = ["template", "language"]
    list_select_related = ["template"]


@admin.register(models.CouponPool)
class CouponPoolAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "prefix",
        "code_kind",
        "discount_kind",
        "discount_value",
        "minimum_spend",
        "valid_until",
        "is_active",
    ]
    list_filter = ["code_kind", "discount_kind", "is_active"]
    search_fields = ["name", "prefix"]


@admin.register(models.CouponCode)
class CouponCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "pool", "customer", "times_redeemed", "created_at"]
    list_select_related = ["pool", "customer"]
    search_fields = ["code"]
    raw_id_fields = ["customer"]
    readonly_fields = ["times_redeemed"]


@admin.register(models.Redemption)
class RedemptionAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "order_number",
        "channel",
        "customer",
        "discount",
        "redeemed_at",
        "released_at",
    ]
    list_select_related = ["code", "channel", "customer"]
    list_filter = ["channel"]
    search_fields = ["code__code", "order_number"]
    raw_id_fields = ["customer", "code"]


@admin.register(models.Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "segment", "channel", "purpose", "status", "scheduled_at", "created_at"]
    list_select_related = ["segment", "channel"]
    list_filter = ["status", "purpose", "channel"]
    search_fields = ["name"]
    inlines = [VariantInline]
    readonly_fields = ["status", "started_at", "finished_at", "ab_decided_at", "ab_result"]


@admin.register(models.CampaignVariant)
class CampaignVariantAdmin(admin.ModelAdmin):
    list_display = ["campaign", "name", "template", "weight", "is_winner"]
    list_select_related = ["campaign", "template"]


@admin.register(models.Journey)
class JourneyAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "trigger", "purpose", "is_active"]
    search_fields = ["name", "key"]
    inlines = [StepInline]


@admin.register(models.JourneyStep)
class JourneyStepAdmin(admin.ModelAdmin):
    list_display = ["journey", "position", "kind", "template", "channel", "wait_minutes"]
    list_select_related = ["journey", "template", "channel"]


@admin.register(models.JourneyRun)
class JourneyRunAdmin(admin.ModelAdmin):
    list_display = [
        "journey",
        "customer",
        "status",
        "position",
        "wake_at",
        "started_at",
        "exit_reason",
    ]
    list_select_related = ["journey", "customer"]
    list_filter = ["status", "journey"]
    raw_id_fields = ["customer"]


@admin.register(models.CampaignMessage)
class CampaignMessageAdmin(admin.ModelAdmin):
    list_display = ["idempotency_key", "campaign", "channel", "to", "status", "sent_at"]
    list_select_related = ["campaign", "channel"]
    list_filter = ["status", "purpose", "channel"]
    search_fields = ["idempotency_key", "to", "provider_message_id"]
    raw_id_fields = [
        "customer",
        "campaign",
        "journey_run",
        "journey_step",
        "coupon_code",
        "variant",
    ]


@admin.register(models.Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ["channel_kind", "address", "reason", "created_at"]
    list_filter = ["channel_kind", "reason"]
    search_fields = ["address"]


@admin.register(models.Unsubscribe)
class UnsubscribeAdmin(admin.ModelAdmin):
    list_display = ["customer", "channel_kind", "source", "created_at"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer", "message"]


@admin.register(models.TrackingEvent)
class TrackingEventAdmin(admin.ModelAdmin):
    list_display = ["message", "kind", "url", "occurred_at"]
    list_select_related = ["message"]
    list_filter = ["kind"]
    raw_id_fields = ["message"]


@admin.register(models.EventCursor)
class EventCursorAdmin(admin.ModelAdmin):
    list_display = ["name", "last_id", "updated_at"]
