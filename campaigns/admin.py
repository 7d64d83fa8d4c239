"""Admin registrations for campaigns: every model, with the links and filters marketers use."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from campaigns import models
from campaigns.forms import TemplatePartsForm
from campaigns.services import ad_audiences


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
        "where_valid",
    ]
    list_filter = ["code_kind", "discount_kind", "is_active"]
    search_fields = ["name", "prefix"]
    filter_horizontal = ["allowed_channels", "allowed_stores"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("allowed_channels", "allowed_stores")

    @admin.display(description=_("where valid"))
    def where_valid(self, pool):
        places = [str(c.name) for c in pool.allowed_channels.all()]
        places += [s.display_name for s in pool.allowed_stores.all()]
        return ", ".join(places) or _("everywhere")


@admin.register(models.HomeStore)
class HomeStoreAdmin(admin.ModelAdmin):
    """Read only: campaigns.services.store_local works these out from orders and visits."""

    list_display = ["customer", "store", "purchases", "visits", "last_at", "refreshed_at"]
    list_select_related = ["customer", "store"]
    list_filter = ["store"]
    raw_id_fields = ["customer"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


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


@admin.register(models.LoyaltyRule)
class LoyaltyRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "channel", "category", "currency", "points_per_unit", "is_active"]
    list_filter = ["currency", "channel", "is_active"]
    list_select_related = ["channel", "category"]
    search_fields = ["name"]


@admin.register(models.LoyaltyTier)
class LoyaltyTierAdmin(admin.ModelAdmin):
    list_display = ["name", "currency", "minimum_spend", "earn_multiplier"]
    list_filter = ["currency"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Ledger rows are written by the services only (a spend checks her balance under a
    lock; an entry is never edited): the admin shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.LoyaltyEntry)
class LoyaltyEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "customer", "kind", "points", "order_number", "channel"]
    list_filter = ["kind", "channel"]
    list_select_related = ["customer", "channel"]
    search_fields = ["order_number", "source"]
    raw_id_fields = ["customer"]


@admin.register(models.Referral)
class ReferralAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "referrer", "referee", "code", "status", "order_number"]
    list_filter = ["status"]
    list_select_related = ["referrer", "referee"]
    search_fields = ["code", "order_number"]
    raw_id_fields = ["referrer", "referee"]


@admin.register(models.ReferralCode)
class ReferralCodeAdmin(ReadOnlyAdmin):
    list_display = ["code", "customer", "created_at"]
    list_select_related = ["customer"]
    search_fields = ["code"]
    raw_id_fields = ["customer"]


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


class AdAudienceSyncInline(admin.TabularInline):
    model = models.AdAudienceSync
    extra = 0
    can_delete = False
    fields = ["started_at", "status", "reason", "added", "removed", "rejected", "error"]
    readonly_fields = fields
    ordering = ["-started_at"]
    max_num = 0


@admin.register(models.AdAudience)
class AdAudienceAdmin(admin.ModelAdmin):
    """Where a segment goes on an ad platform; the state and the log are read-only."""

    list_display = ["segment", "platform", "external_id", "is_enabled", "last_synced_at"]
    list_filter = ["platform", "is_enabled"]
    list_select_related = ["segment"]
    search_fields = ["segment__name", "external_id"]
    readonly_fields = ["last_synced_at", "last_error", "last_error_at", "created_at"]
    inlines = [AdAudienceSyncInline]
    actions = ["sync_now"]

    @admin.action(description=_("Sync the selected audiences now"), permissions=["change"])
    def sync_now(self, request, queryset):
        for audience_id in queryset.values_list("pk", flat=True):
            ad_audiences.request_sync(audience_id, reason="staff")
        self.message_user(request, _("The syncs were asked for."))


@admin.register(models.AdConversionUpload)
class AdConversionUploadAdmin(admin.ModelAdmin):
    list_display = ["order_number", "platform", "status", "purchased_at", "uploaded_at"]
    list_filter = ["platform", "status"]
    search_fields = ["order_number"]
    readonly_fields = [field.name for field in models.AdConversionUpload._meta.fields]

    def has_add_permission(self, request):
        return False
