"""Admin registrations for inventory. The ledger is read-only here as everywhere: a wrong
movement is corrected by a new one, never edited."""

from django.contrib import admin

from core.admin_dates import JalaliDateHierarchyMixin
from inventory.models import (
    ChannelStockRule,
    Location,
    Reservation,
    StockLevel,
    StockMovement,
    StockSyncState,
    Transfer,
    TransferLine,
)


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "kind",
        "city",
        "supplied_by",
        "serves_online",
        "allows_pickup",
        "ships_from_store",
        "priority",
        "is_active",
    ]
    list_filter = ["kind", "is_active", "serves_online", "allows_pickup", "city", "channels"]
    search_fields = ["code", "name", "city", "address"]
    filter_horizontal = ["channels"]
    list_select_related = ["supplied_by"]
    autocomplete_fields = ["supplied_by"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StockMovement)
class StockMovementAdmin(JalaliDateHierarchyMixin, ReadOnlyAdmin):
    list_display = [
        "occurred_at",
        "variant",
        "location",
        "reason",
        "quantity",
        "counted_quantity",
        "channel",
        "reference",
        "source",
    ]
    list_filter = ["reason", "location", "channel"]
    search_fields = ["variant__sku", "reference", "idempotency_key", "source"]
    date_hierarchy = "occurred_at"
    list_select_related = ["variant", "location", "channel"]
    show_full_result_count = False


@admin.register(StockLevel)
class StockLevelAdmin(admin.ModelAdmin):
    list_display = [
        "variant",
        "location",
        "on_hand",
        "reserved",
        "safety_stock",
        "low_stock_threshold",
        "updated_at",
    ]
    list_filter = ["location"]
    search_fields = ["variant__sku"]
    list_select_related = ["variant", "location"]
    raw_id_fields = ["variant"]
    # on hand and reserved follow the ledger and reservations; only the policy is edited here.
    readonly_fields = ["variant", "location", "on_hand", "reserved", "updated_at"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "variant",
        "quantity",
        "location",
        "pickup_location",
        "status",
        "channel",
        "reference",
        "expires_at",
    ]
    list_filter = ["status", "channel", "location"]
    search_fields = ["variant__sku", "reference"]
    list_select_related = ["variant", "location", "pickup_location", "channel"]


class TransferLineInline(admin.TabularInline):
    model = TransferLine
    extra = 0
    can_delete = False
    fields = ["variant", "quantity", "shipped", "received", "damaged"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    inlines = [TransferLineInline]
    list_display = [
        "id",
        "from_location",
        "to_location",
        "status",
        "reference",
        "created_at",
        "expected_at",
    ]
    list_filter = ["status", "from_location", "to_location"]
    search_fields = ["lines__variant__sku", "reference"]
    list_select_related = ["from_location", "to_location"]


@admin.register(ChannelStockRule)
class ChannelStockRuleAdmin(admin.ModelAdmin):
    list_display = [
        "channel",
        "strategy",
        "buffer_percent",
        "pickup_may_transfer",
        "may_split_lines",
        "sync_enabled",
        "sync_url",
    ]
    list_select_related = ["channel"]


@admin.register(StockSyncState)
class StockSyncStateAdmin(ReadOnlyAdmin):
    list_display = [
        "channel",
        "variant",
        "pending",
        "version",
        "last_units",
        "last_sent_at",
        "attempts",
        "last_error",
    ]
    list_filter = ["channel", "pending"]
    search_fields = ["variant__sku"]
    list_select_related = ["channel", "variant"]
