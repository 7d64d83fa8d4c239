"""Admin registrations for orders. Stock-moving changes go through the staff pages and the
services; the admin shows everything and edits only harmless fields."""

from django.contrib import admin

from core.admin_dates import JalaliDateHierarchyMixin
from orders.models import (
    Cart,
    CartLine,
    CourierPickup,
    Exchange,
    Fulfilment,
    FulfilmentLine,
    Order,
    OrderAlert,
    OrderLine,
    OrderLinePart,
    OrderStatusChange,
    Replacement,
    Return,
    ReturnLine,
)


class CartLineInline(admin.TabularInline):
    model = CartLine
    extra = 0
    raw_id_fields = ["variant"]


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    list_display = ["id", "customer", "channel", "last_channel", "status", "last_activity_at"]
    list_filter = ["status", "channel"]
    list_select_related = ["customer", "channel", "last_channel"]
    raw_id_fields = ["customer", "converted_order"]
    inlines = [CartLineInline]


@admin.register(CartLine)
class CartLineAdmin(admin.ModelAdmin):
    list_display = ["cart", "variant", "quantity", "unit_price", "channel"]
    raw_id_fields = ["cart", "variant"]


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = [
        "sku",
        "quantity",
        "quantity_returned",
        "unit_price",
        "fulfilment_method",
        "location",
        "reservation",
        "status",
        "channel",
    ]
    readonly_fields = fields


class StatusChangeInline(admin.TabularInline):
    model = OrderStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "channel", "changed_by", "note", "changed_at"]


class AlertInline(admin.TabularInline):
    model = OrderAlert
    extra = 0
    can_delete = False
    fields = ["kind", "line", "details", "created_at", "resolved_at"]
    readonly_fields = ["kind", "line", "details", "created_at"]


class PartInline(admin.TabularInline):
    model = OrderLinePart
    extra = 0
    can_delete = False
    fields = ["location", "quantity", "status", "reservation"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(JalaliDateHierarchyMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "channel",
        "customer",
        "kind",
        "status",
        "payment_status",
        "total",
        "placed_at",
    ]
    list_filter = ["status", "kind", "channel", "fulfilment_method", "payment_status"]
    list_select_related = ["channel", "customer"]
    search_fields = ["number", "external_id"]
    date_hierarchy = "placed_at"
    raw_id_fields = ["customer", "original_order", "store", "placed_by"]
    readonly_fields = [
        "number",
        "status",
        "subtotal",
        "discount",
        "total",
        "refunded",
        "coupon_code",
        "placed_at",
        "confirmed_at",
        "fulfilled_at",
        "completed_at",
        "cancelled_at",
    ]
    inlines = [OrderLineInline, StatusChangeInline, AlertInline]


@admin.register(OrderLine)
class OrderLineAdmin(admin.ModelAdmin):
    list_display = [
        "order",
        "sku",
        "quantity",
        "unit_price",
        "fulfilment_method",
        "location",
        "status",
    ]
    list_filter = ["fulfilment_method", "status"]
    list_select_related = ["order", "location"]
    search_fields = ["order__number", "sku"]
    raw_id_fields = [
        "order",
        "variant",
        "location",
        "pickup_location",
        "reservation",
        "replaces_line",
    ]
    inlines = [PartInline]


@admin.register(OrderStatusChange)
class OrderStatusChangeAdmin(admin.ModelAdmin):
    list_display = ["order", "from_status", "to_status", "channel", "changed_by", "changed_at"]
    list_select_related = ["order", "channel", "changed_by"]
    raw_id_fields = ["order"]


class FulfilmentLineInline(admin.TabularInline):
    model = FulfilmentLine
    extra = 0
    raw_id_fields = ["order_line"]


@admin.register(Fulfilment)
class FulfilmentAdmin(admin.ModelAdmin):
    list_display = ["id", "order", "method", "location", "carrier", "tracking_number", "created_at"]
    list_select_related = ["order", "location"]
    raw_id_fields = ["order", "location"]
    inlines = [FulfilmentLineInline]


@admin.register(FulfilmentLine)
class FulfilmentLineAdmin(admin.ModelAdmin):
    list_display = ["fulfilment", "order_line", "quantity"]
    raw_id_fields = ["fulfilment", "order_line"]


class ReturnLineInline(admin.TabularInline):
    model = ReturnLine
    extra = 0
    raw_id_fields = ["order_line"]


@admin.register(Return)
class ReturnAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "order",
        "kind",
        "channel",
        "location",
        "status",
        "refund_amount",
        "created_at",
    ]
    list_filter = ["kind", "status", "channel"]
    list_select_related = ["order", "channel", "location"]
    search_fields = ["number", "order__number"]
    raw_id_fields = ["order", "customer", "location", "handled_by"]
    inlines = [ReturnLineInline]


@admin.register(ReturnLine)
class ReturnLineAdmin(admin.ModelAdmin):
    list_display = ["return_request", "order_line", "quantity", "reason", "restock"]
    list_filter = ["reason", "restock"]
    raw_id_fields = ["return_request", "order_line"]


@admin.register(Exchange)
class ExchangeAdmin(admin.ModelAdmin):
    list_display = ["id", "order", "new_order", "channel", "price_difference", "created_at"]
    list_select_related = ["order", "new_order", "channel"]
    raw_id_fields = ["order", "new_order", "return_request"]


@admin.register(Replacement)
class ReplacementAdmin(admin.ModelAdmin):
    list_display = ["id", "order", "new_order", "channel", "created_at"]
    list_select_related = ["order", "new_order", "channel"]
    raw_id_fields = ["order", "new_order", "return_request"]


@admin.register(CourierPickup)
class CourierPickupAdmin(admin.ModelAdmin):
    list_display = ["id", "return_request", "status", "deliver_to", "scheduled_for", "collected_at"]
    list_filter = ["status"]
    list_select_related = ["return_request", "deliver_to"]
    raw_id_fields = ["return_request", "deliver_order", "deliver_to"]
