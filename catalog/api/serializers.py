"""Shapes of the catalog API: products and variants with their listings and prices out,
product upserts and price changes in."""

from django.conf import settings
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import (
    CatalogImport,
    Condition,
    Product,
    ProductListing,
    ProductVariant,
    VariantListing,
)
from core.api.serializers import StrictSerializer

CURRENCIES = list(settings.CURRENCIES)
LANGUAGES = [code for code, _name in settings.LANGUAGES]


class MoneySerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=16, decimal_places=2)
    currency = serializers.CharField(source="currency.code")


class VariantListingSerializer(serializers.ModelSerializer):
    channel = serializers.CharField(source="listing.channel.code")
    price = MoneySerializer()
    compare_at_price = MoneySerializer(allow_null=True)
    is_live = serializers.SerializerMethodField()

    class Meta:
        model = VariantListing
        fields = ["channel", "is_listed", "is_live", "price", "compare_at_price", "updated_at"]

    def get_is_live(self, obj) -> bool:
        return obj.is_listed and obj.listing.is_live()


class ProductListingSerializer(serializers.ModelSerializer):
    channel = serializers.CharField(source="channel.code")
    is_live = serializers.SerializerMethodField()

    class Meta:
        model = ProductListing
        fields = [
            "channel",
            "is_listed",
            "is_live",
            "published_from",
            "published_until",
            "title",
            "description",
        ]

    def get_is_live(self, obj) -> bool:
        return obj.is_live()


class VariantSerializer(serializers.ModelSerializer):
    listings = VariantListingSerializer(many=True)

    class Meta:
        model = ProductVariant
        fields = [
            "id",
            "sku",
            "barcode",
            "colour",
            "size",
            "weight_grams",
            "is_active",
            "listings",
            "updated_at",
        ]


class ProductSummarySerializer(serializers.ModelSerializer):
    brand = serializers.CharField(source="brand.name", allow_null=True, default=None)

    class Meta:
        model = Product
        fields = ["id", "slug", "name", "brand"]


class VariantWithProductSerializer(VariantSerializer):
    product = ProductSummarySerializer()

    class Meta(VariantSerializer.Meta):
        fields = [*VariantSerializer.Meta.fields, "product"]


class MediaSerializer(serializers.Serializer):
    src = serializers.CharField()
    alt_text = serializers.CharField()
    position = serializers.IntegerField()
    variant_id = serializers.IntegerField(allow_null=True)


class RatingSerializer(serializers.Serializer):
    """Customers' approved reviews of the product: the average of 1-5 stars (null without
    any) and how many."""

    average = serializers.DecimalField(
        source="rating_average", max_digits=3, decimal_places=2, allow_null=True
    )
    count = serializers.IntegerField(source="rating_count")


class ProductSerializer(serializers.ModelSerializer):
    brand = serializers.CharField(source="brand.name", allow_null=True, default=None)
    category = serializers.CharField(source="category.slug", allow_null=True, default=None)
    category_path = serializers.CharField(source="category.path", allow_null=True, default=None)
    translations = serializers.SerializerMethodField()
    attributes = serializers.SerializerMethodField()
    media = MediaSerializer(many=True)
    listings = ProductListingSerializer(many=True)
    variants = VariantSerializer(many=True)
    rating = RatingSerializer(source="*", read_only=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "slug",
            "name",
            "description",
            "translations",
            "brand",
            "category",
            "category_path",
            "condition",
            "is_active",
            "rating",
            "attributes",
            "media",
            "listings",
            "variants",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_translations(self, obj):
        return {
            t.language: {"name": t.name, "description": t.description}
            for t in obj.translations.all()
        }

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_attributes(self, obj):
        return {v.attribute.code: v.value for v in obj.attribute_values.all()}


# --- input ------------------------------------------------------------------------------


class TranslationInSerializer(StrictSerializer):
    name = serializers.CharField(max_length=255)
    description = serializers.CharField(allow_blank=True, required=False)


class MediaInSerializer(StrictSerializer):
    url = serializers.URLField(max_length=500)
    alt_text = serializers.CharField(max_length=255, allow_blank=True, required=False)


class ListingInSerializer(StrictSerializer):
    is_listed = serializers.BooleanField(required=False)
    title = serializers.CharField(max_length=255, allow_blank=True, required=False)
    description = serializers.CharField(allow_blank=True, required=False)
    published_from = serializers.DateTimeField(allow_null=True, required=False)
    published_until = serializers.DateTimeField(allow_null=True, required=False)


class PriceInSerializer(StrictSerializer):
    is_listed = serializers.BooleanField(required=False)
    price = serializers.DecimalField(max_digits=16, decimal_places=2, min_value=0)
    compare_at_price = serializers.DecimalField(
        max_digits=16, decimal_places=2, min_value=0, allow_null=True, required=False
    )
    currency = serializers.ChoiceField(
        choices=CURRENCIES,
        required=False,
        help_text="Optional guard: must equal the channel's currency.",
    )


class PartialPriceInSerializer(PriceInSerializer):
    price = serializers.DecimalField(max_digits=16, decimal_places=2, min_value=0, required=False)


class VariantInSerializer(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    barcode = serializers.CharField(max_length=14, allow_blank=True, required=False)
    colour = serializers.CharField(max_length=60, allow_blank=True, required=False)
    size = serializers.CharField(max_length=30, allow_blank=True, required=False)
    weight_grams = serializers.IntegerField(min_value=0, allow_null=True, required=False)
    is_active = serializers.BooleanField(required=False)
    listings = serializers.DictField(
        child=PartialPriceInSerializer(),
        required=False,
        help_text="Prices per channel code, in that channel's currency.",
    )


class ProductInSerializer(StrictSerializer):
    """A product upsert: created when the slug is new, else updated (keys left out are left
    as they are; variants are matched by SKU, listings by channel code)."""

    slug = serializers.SlugField(max_length=255)
    name = serializers.CharField(max_length=255, required=False)
    description = serializers.CharField(allow_blank=True, required=False)
    category = serializers.SlugField(allow_null=True, required=False)
    brand = serializers.CharField(max_length=120, allow_null=True, allow_blank=True, required=False)
    condition = serializers.ChoiceField(choices=Condition.choices, required=False)
    is_active = serializers.BooleanField(required=False)
    translations = serializers.DictField(child=TranslationInSerializer(), required=False)
    attributes = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False
    )
    media = MediaInSerializer(many=True, required=False)
    listings = serializers.DictField(child=ListingInSerializer(), required=False)
    variants = VariantInSerializer(many=True, required=False)


class ProductQuerySerializer(serializers.Serializer):
    channel = serializers.SlugField(required=False, help_text="Only products listed here.")
    category = serializers.SlugField(required=False, help_text="A category and its subtree.")
    updated_since = serializers.DateTimeField(required=False)
    q = serializers.CharField(required=False, help_text="Full-text search.")


class VariantQuerySerializer(serializers.Serializer):
    channel = serializers.SlugField(required=False, help_text="Only variants priced here.")
    category = serializers.SlugField(required=False)
    updated_since = serializers.DateTimeField(required=False)
    sku = serializers.CharField(required=False)


class LookupQuerySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="A SKU or a barcode (GTIN).")


# --- imports ----------------------------------------------------------------------------

MAX_COLUMN_NAME = 100


class ImportUploadSerializer(StrictSerializer):
    """multipart/form-data: a CSV or XLSX file in the export's shape."""

    file = serializers.FileField(
        help_text="A .csv (UTF-8) or .xlsx file, one row per variant, the export's columns."
    )
    dry_run = serializers.BooleanField(
        default=False, help_text="Check and report what would change; write nothing."
    )


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {
            "oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}],
            "nullable": True,
        },
        "example": {"product_slug": "aria-runner", "sku": "ARIA-BLK-38", "price[web]": "89.00"},
    }
)
class ImportRowField(serializers.DictField):
    """One row: column name (as in the export's header) -> a text, number, yes/no or null."""

    def to_internal_value(self, data):
        row = super().to_internal_value(data)
        errors = {}
        for column, value in row.items():
            if len(column) > MAX_COLUMN_NAME:
                errors[column[:MAX_COLUMN_NAME]] = [
                    f"A column name has at most {MAX_COLUMN_NAME} characters."
                ]
            elif value is not None and not isinstance(value, str | int | float | bool):
                errors[column] = ["A text, number, true/false or null."]
        if errors:
            raise serializers.ValidationError(errors)
        return row


class ImportRowsSerializer(StrictSerializer):
    """application/json: the rows themselves, each an object keyed by column."""

    rows = serializers.ListField(
        child=ImportRowField(), allow_empty=False, help_text="Line N of the report is rows[N-1]."
    )
    dry_run = serializers.BooleanField(
        default=False, help_text="Check and report what would change; write nothing."
    )


class ImportErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(
        help_text="Line in the file (the header is line 1); for JSON rows, N is rows[N-1] "
        "and 0 the column names."
    )
    column = serializers.CharField(help_text="The column's name; empty for the whole row.")
    value = serializers.CharField(help_text="The cell as read.")
    message = serializers.CharField()


class ImportProgressSerializer(serializers.Serializer):
    rows_done = serializers.IntegerField()
    rows_total = serializers.IntegerField()


class ImportCountsSerializer(serializers.Serializer):
    created = serializers.IntegerField(source="products_created", help_text="Products.")
    updated = serializers.IntegerField(source="products_updated", help_text="Products.")
    unchanged = serializers.IntegerField(source="products_unchanged", help_text="Products.")
    new_variants = serializers.SerializerMethodField(help_text="SKUs not in the catalog yet.")

    def get_new_variants(self, obj) -> int:
        return len(obj.new_variants)


class CatalogImportSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    progress = ImportProgressSerializer(source="*")
    counts = ImportCountsSerializer(source="*")
    new_variants = serializers.ListField(
        child=serializers.CharField(),
        help_text="SKUs the import creates (a dry run: would create).",
    )
    errors = ImportErrorSerializer(many=True, help_text="Every bad cell; refused: all of them.")

    class Meta:
        model = CatalogImport
        fields = [
            "id",
            "url",
            "status",
            "dry_run",
            "source",
            "file_format",
            "filename",
            "created_at",
            "started_at",
            "finished_at",
            "progress",
            "counts",
            "new_variants",
            "errors",
            "failure",
        ]

    def get_url(self, obj) -> str:
        return reverse("api-catalog-import", args=[obj.pk])
