"""Admin for the catalog: products with inline variants, listings, media, translations and
attributes; prices per channel on the listing and variant pages; feeds and their runs."""

from django import forms
from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _

from catalog.models import (
    Attribute,
    Brand,
    CatalogImport,
    Category,
    ChannelFeed,
    FeedRun,
    Product,
    ProductAttributeValue,
    ProductListing,
    ProductMedia,
    ProductTranslation,
    ProductVariant,
    VariantListing,
)
from catalog.services import move_category, product_changed


class FeedsFollowChanges:
    """Admin saves end as the services' writes do (`product_changed`): the product marked
    updated (partners read `updated_since`) and the feeds regenerated after commit."""

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        obj = form.instance
        product_changed(
            obj.pk
            if isinstance(obj, Product)
            else getattr(obj, "product_id", None) or obj.listing.product_id
        )


class VariantListingForm(forms.ModelForm):
    class Meta:
        model = VariantListing
        fields = ["listing", "variant", "is_listed", "price", "compare_at_price"]

    def clean(self):
        data = super().clean()
        listing, price, compare = (
            data.get("listing"),
            data.get("price"),
            data.get("compare_at_price"),
        )
        if listing and price is not None and str(price.currency) != listing.channel.currency:
            self.add_error(
                "price",
                _("Channel %(channel)s prices in %(currency)s.")
                % {"channel": listing.channel, "currency": listing.channel.currency},
            )
        if price is not None and compare is not None:
            if str(compare.currency) != str(price.currency):
                self.add_error("compare_at_price", _("Use the same currency as the price."))
            elif compare <= price:
                self.add_error("compare_at_price", _("Must be above the price."))
        if listing and data.get("variant") and data["variant"].product_id != listing.product_id:
            self.add_error("variant", _("The variant belongs to another product."))
        return data


class NamedPrices:
    """Rows named "SKU on Channel: price" (and listings "Product on Channel") read the
    variant, product and channel with the row, not one query each."""

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("variant", "listing__channel", "listing__product")
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "listing":
            kwargs["queryset"] = ProductListing.objects.select_related("product", "channel")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class VariantListingInline(NamedPrices, admin.TabularInline):
    model = VariantListing
    form = VariantListingForm
    extra = 0
    autocomplete_fields = ["variant"]


class VariantPriceInline(NamedPrices, admin.TabularInline):
    model = VariantListing
    form = VariantListingForm
    fk_name = "variant"
    extra = 0
    fields = ["listing", "is_listed", "price", "compare_at_price"]


class ProductVariantInline(admin.TabularInline):
    model = ProductVariant
    extra = 0
    fields = ["sku", "barcode", "colour", "size", "weight_grams", "position", "is_active"]
    show_change_link = True


class ProductListingInline(admin.TabularInline):
    model = ProductListing
    extra = 0
    fields = ["channel", "is_listed", "published_from", "published_until", "title"]
    show_change_link = True


class ProductMediaInline(admin.TabularInline):
    model = ProductMedia
    extra = 0
    fields = ["url", "image", "alt_text", "variant", "position"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.URLField):
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class ProductTranslationInline(admin.StackedInline):
    model = ProductTranslation
    extra = 0


class AttributeValueInline(admin.TabularInline):
    model = ProductAttributeValue
    extra = 0
    fields = ["attribute", "value"]


@admin.register(Product)
class ProductAdmin(FeedsFollowChanges, admin.ModelAdmin):
    list_display = ["name", "slug", "brand", "category", "condition", "is_active", "updated_at"]
    list_filter = ["is_active", "condition", "brand", "category"]
    search_fields = ["name", "slug", "variants__sku", "variants__barcode"]
    prepopulated_fields = {"slug": ["name"]}
    list_select_related = ["brand", "category"]
    autocomplete_fields = ["brand", "category"]
    inlines = [
        ProductVariantInline,
        ProductListingInline,
        ProductMediaInline,
        ProductTranslationInline,
        AttributeValueInline,
    ]


@admin.register(ProductVariant)
class ProductVariantAdmin(FeedsFollowChanges, admin.ModelAdmin):
    list_display = ["sku", "product", "colour", "size", "barcode", "is_active"]
    search_fields = ["sku", "barcode", "product__name"]
    list_select_related = ["product"]
    autocomplete_fields = ["product"]
    inlines = [VariantPriceInline]


@admin.register(ProductListing)
class ProductListingAdmin(FeedsFollowChanges, admin.ModelAdmin):
    list_display = ["product", "channel", "is_listed", "published_from", "published_until"]
    list_filter = ["channel", "is_listed"]
    search_fields = ["product__name", "product__slug"]
    list_select_related = ["product", "channel"]
    autocomplete_fields = ["product"]
    inlines = [VariantListingInline]

    def get_queryset(self, request):
        # Autocomplete answers (a variant price's listing) are named by product and channel.
        return super().get_queryset(request).select_related("product", "channel")


@admin.register(VariantListing)
class VariantListingAdmin(NamedPrices, FeedsFollowChanges, admin.ModelAdmin):
    form = VariantListingForm
    list_display = ["variant", "listing", "is_listed", "price", "compare_at_price"]
    list_filter = ["listing__channel", "is_listed"]
    search_fields = ["variant__sku", "variant__product__name"]
    list_select_related = ["variant", "listing__channel", "listing__product"]
    autocomplete_fields = ["variant", "listing"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["__str__", "slug", "depth"]
    search_fields = ["name", "slug", "path"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["path", "depth"]

    def save_model(self, request, obj, form, change):
        if change and "parent" in form.changed_data:
            new_parent = obj.parent
            obj.parent = Category.objects.get(pk=obj.pk).parent
            move_category(obj, new_parent)
        else:
            super().save_model(request, obj, form, change)


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Attribute)
class AttributeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "unit"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]


class FeedRunInline(admin.TabularInline):
    model = FeedRun
    extra = 0
    fields = ["status", "started_at", "finished_at", "item_count", "refused_count", "error"]
    readonly_fields = fields
    can_delete = False
    max_num = 0
    ordering = ["-started_at"]


@admin.register(ChannelFeed)
class ChannelFeedAdmin(admin.ModelAdmin):
    list_display = ["channel", "format", "is_active", "product_url_template"]
    list_filter = ["format", "is_active"]
    inlines = [FeedRunInline]


@admin.register(FeedRun)
class FeedRunAdmin(admin.ModelAdmin):
    list_display = ["feed", "status", "started_at", "finished_at", "item_count", "refused_count"]
    list_filter = ["status", "feed__format"]
    readonly_fields = [f.name for f in FeedRun._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(CatalogImport)
class CatalogImportAdmin(admin.ModelAdmin):
    """The record of imports, read only: an import is changed by running it, never by hand."""

    list_display = [
        "created_at",
        "source",
        "filename",
        "dry_run",
        "status",
        "rows_total",
        "products_created",
        "products_updated",
        "products_unchanged",
    ]
    list_filter = ["status", "source", "dry_run"]
    list_select_related = ["created_by", "api_key"]
    # The stored file stays private: it is read by the import job, never linked.
    exclude = ["file"]
    readonly_fields = [f.name for f in CatalogImport._meta.fields if f.name != "file"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
