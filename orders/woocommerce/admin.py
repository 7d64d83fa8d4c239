"""What the connector remembers, for staff to read: links, deliveries (a refused one says
why), orders seen."""

from django.contrib import admin

from orders.woocommerce.models import OrderLink, ProductLink, WebhookDelivery


@admin.register(ProductLink)
class ProductLinkAdmin(admin.ModelAdmin):
    list_display = ["variant", "channel", "product_id", "variation_id", "updated_at"]
    list_filter = ["channel"]
    search_fields = ["variant__sku", "=product_id", "=variation_id"]
    list_select_related = ["variant", "channel"]
    raw_id_fields = ["variant"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["received_at", "channel", "topic", "resource_id", "outcome", "detail"]
    list_filter = ["channel", "outcome", "topic"]
    search_fields = ["=resource_id", "=delivery_id"]
    list_select_related = ["channel"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(OrderLink)
class OrderLinkAdmin(admin.ModelAdmin):
    list_display = ["woo_order_id", "channel", "order", "woo_status", "modified_at"]
    list_filter = ["channel", "woo_status"]
    search_fields = ["=woo_order_id", "order__number"]
    list_select_related = ["channel", "order"]
    readonly_fields = ["channel", "woo_order_id", "order", "woo_status", "modified_at"]

    def has_add_permission(self, request):
        return False
