"""Catalog tables: the category tree, brands, products and their variants, typed attributes,
media, translations, per-channel listings with prices, and the record of generated feeds.

One product record serves every channel; what differs per channel (listed or not, price,
publication window, title and description overrides) lives in ProductListing and
VariantListing, never in copies of the product.
"""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from djmoney.models.fields import MoneyField
from djmoney.models.validators import MinMoneyValidator

from core.placeholders import fill_placeholders, unknown_placeholders

CURRENCY_CHOICES = [(code, code) for code in settings.CURRENCIES]
HEX_COLOUR = RegexValidator(r"^#[0-9A-Fa-f]{6}$", _("Enter a colour as #RRGGBB."))


def gtin_is_valid(code: str) -> bool:
    """GTIN-8/12/13/14: digits only, right length, GS1 check digit correct."""
    if not code.isdigit() or len(code) not in (8, 12, 13, 14):
        return False
    digits = [int(d) for d in code]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def validate_gtin(value):
    if value and not gtin_is_valid(value):
        raise ValidationError(
            _("Not a valid GTIN (8, 12, 13 or 14 digits with a correct check digit).")
        )


class Category(models.Model):
    """A node of the category tree. `path` is the materialised path of slugs from the root
    ("shoes/running/"), kept by the services, so a subtree is one indexed prefix query."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=120, unique=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        related_name="children",
        on_delete=models.PROTECT,
    )
    path = models.CharField(_("path"), max_length=500, unique=True, editable=False)
    full_name = models.CharField(_("full name"), max_length=1000, blank=True, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["path"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self):
        return self.full_name or self.name

    def save(self, *args, **kwargs):
        # Path and full name are derived from the parent whichever door saves (admin,
        # services); when they change, the subtree below is re-derived too.
        parent = self.parent if self.parent_id else None
        self.path = (parent.path if parent else "") + f"{self.slug}/"
        self.full_name = (f"{parent.full_name} › " if parent else "") + self.name
        self.depth = self.path.count("/") - 1
        changed = (
            self.pk is None
            or not Category.objects.filter(
                pk=self.pk, path=self.path, full_name=self.full_name
            ).exists()
        )
        super().save(*args, **kwargs)
        if changed:
            for child in self.children.all():
                child.parent = self
                child.save()


class Brand(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    slug = models.SlugField(_("slug"), max_length=120, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("brand")
        verbose_name_plural = _("brands")

    def __str__(self):
        return self.name


class AttributeKind(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    CHOICE = "choice", _("Choice")
    COLOUR = "colour", _("Colour")


class Attribute(models.Model):
    """A typed product attribute ("material": choice of leather/mesh; "drop_mm": number)."""

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=10, choices=AttributeKind.choices)
    choices = models.JSONField(
        _("choices"), default=list, blank=True, help_text=_("Allowed values of a choice.")
    )
    unit = models.CharField(_("unit"), max_length=20, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("attribute")
        verbose_name_plural = _("attributes")

    def __str__(self):
        return self.name


class Condition(models.TextChoices):
    NEW = "new", _("New")
    REFURBISHED = "refurbished", _("Refurbished")
    USED = "used", _("Used")


class ProductQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Product(models.Model):
    name = models.CharField(_("name"), max_length=255)
    slug = models.SlugField(_("slug"), max_length=255, unique=True)
    description = models.TextField(_("description"), blank=True)
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        null=True,
        blank=True,
        related_name="products",
        on_delete=models.SET_NULL,
    )
    brand = models.ForeignKey(
        Brand,
        verbose_name=_("brand"),
        null=True,
        blank=True,
        related_name="products",
        on_delete=models.SET_NULL,
    )
    condition = models.CharField(
        _("condition"), max_length=12, choices=Condition.choices, default=Condition.NEW
    )
    is_active = models.BooleanField(_("active"), default=True)
    # Customers' approved reviews, kept by catalog.services.ratings (support sends them).
    rating_average = models.DecimalField(
        _("average rating"), max_digits=3, decimal_places=2, null=True, blank=True, editable=False
    )
    rating_count = models.PositiveIntegerField(_("ratings"), default=0, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self):
        return self.name


class ProductTranslation(models.Model):
    """Name and description in another shipped language; the product row holds the default
    language (settings.LANGUAGE_CODE)."""

    product = models.ForeignKey(Product, related_name="translations", on_delete=models.CASCADE)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    name = models.CharField(_("name"), max_length=255)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("translation")
        verbose_name_plural = _("translations")
        constraints = [
            models.UniqueConstraint(
                fields=["product", "language"], name="catalog_translation_product_language"
            )
        ]

    def __str__(self):
        return f"{self.product_id} [{self.language}]"


class ProductAttributeValue(models.Model):
    """One attribute's value on one product, stored as text and, for numbers, also as a
    decimal so ranges can be filtered in the database. Validated against the attribute's
    kind by `catalog.services.set_attributes`."""

    product = models.ForeignKey(Product, related_name="attribute_values", on_delete=models.CASCADE)
    attribute = models.ForeignKey(Attribute, related_name="values", on_delete=models.PROTECT)
    value = models.CharField(_("value"), max_length=255)
    number_value = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)

    class Meta:
        verbose_name = _("attribute value")
        verbose_name_plural = _("attribute values")
        constraints = [
            models.UniqueConstraint(
                fields=["product", "attribute"], name="catalog_attribute_value_unique"
            )
        ]

    def __str__(self):
        return f"{self.attribute_id}={self.value}"


class VariantQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True, product__is_active=True)


class ProductVariant(models.Model):
    """What is stocked and sold: one colour and size of a product, identified by its SKU."""

    product = models.ForeignKey(
        Product, verbose_name=_("product"), related_name="variants", on_delete=models.CASCADE
    )
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    barcode = models.CharField(
        _("barcode (GTIN)"), max_length=14, blank=True, validators=[validate_gtin]
    )
    colour = models.CharField(_("colour"), max_length=60, blank=True)
    size = models.CharField(_("size"), max_length=30, blank=True)
    weight_grams = models.PositiveIntegerField(_("weight (g)"), null=True, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=True)

    objects = VariantQuerySet.as_manager()

    class Meta:
        ordering = ["product_id", "position", "id"]
        verbose_name = pgettext_lazy("product", "variant")
        verbose_name_plural = pgettext_lazy("product", "variants")
        constraints = [
            # A barcode names one variant; variants without one are allowed.
            models.UniqueConstraint(
                fields=["barcode"], condition=~Q(barcode=""), name="catalog_variant_barcode_unique"
            )
        ]

    def __str__(self):
        options = " / ".join(v for v in (self.colour, self.size) if v)
        return f"{self.sku} ({options})" if options else self.sku

    @property
    def option_values(self):
        return {k: v for k, v in (("colour", self.colour), ("size", self.size)) if v}


class ProductMedia(models.Model):
    """An image of the product (or of one variant), by URL or uploaded file."""

    product = models.ForeignKey(Product, related_name="media", on_delete=models.CASCADE)
    variant = models.ForeignKey(
        ProductVariant, null=True, blank=True, related_name="media", on_delete=models.CASCADE
    )
    image = models.FileField(_("image file"), upload_to="catalog/media/", blank=True)
    url = models.URLField(_("image URL"), max_length=500, blank=True)
    alt_text = models.CharField(_("alt text"), max_length=255, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["product_id", "position", "id"]
        verbose_name = _("media")
        verbose_name_plural = _("media")
        constraints = [
            models.CheckConstraint(
                condition=~Q(image="") | ~Q(url=""), name="catalog_media_has_image_or_url"
            )
        ]

    def __str__(self):
        return self.alt_text or self.url or self.image.name

    @property
    def src(self):
        return self.url or (self.image.url if self.image else "")


class ProductListing(models.Model):
    """Whether and how a product is offered on one sales channel."""

    product = models.ForeignKey(Product, related_name="listings", on_delete=models.CASCADE)
    channel = models.ForeignKey(
        "core.Channel",
        verbose_name=_("channel"),
        related_name="product_listings",
        on_delete=models.CASCADE,
    )
    is_listed = models.BooleanField(_("listed"), default=True)
    published_from = models.DateTimeField(_("published from"), null=True, blank=True)
    published_until = models.DateTimeField(_("published until"), null=True, blank=True)
    title = models.CharField(
        _("title override"), max_length=255, blank=True, help_text=_("Empty: the product name.")
    )
    description = models.TextField(
        _("description override"), blank=True, help_text=_("Empty: the product description.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["channel__name"]
        verbose_name = _("product listing")
        verbose_name_plural = _("product listings")
        constraints = [
            models.UniqueConstraint(
                fields=["product", "channel"], name="catalog_listing_product_channel"
            ),
            models.CheckConstraint(
                condition=Q(published_until__isnull=True)
                | Q(published_from__isnull=True)
                | Q(published_until__gt=models.F("published_from")),
                name="catalog_listing_window_order",
            ),
        ]

    def __str__(self):
        # Admin lists select_related product and channel; this reads names, not ids.
        return _("%(product)s on %(channel)s") % {
            "product": self.product.name,
            "channel": self.channel.name,
        }

    def is_live(self, at=None):
        at = at or timezone.now()
        return (
            self.is_listed
            and (self.published_from is None or self.published_from <= at)
            and (self.published_until is None or self.published_until > at)
        )

    @property
    def display_title(self):
        return self.title or self.product.name

    @property
    def display_description(self):
        return self.description or self.product.description


class VariantListing(models.Model):
    """A variant's price on one channel, in that channel's currency."""

    listing = models.ForeignKey(
        ProductListing, related_name="variant_listings", on_delete=models.CASCADE
    )
    variant = models.ForeignKey(ProductVariant, related_name="listings", on_delete=models.CASCADE)
    is_listed = models.BooleanField(_("listed"), default=True)
    price = MoneyField(
        _("price"),
        max_digits=16,
        decimal_places=2,
        currency_choices=CURRENCY_CHOICES,
        default_currency=settings.DEFAULT_CURRENCY,
        validators=[MinMoneyValidator(0)],
    )
    compare_at_price = MoneyField(
        _("compare-at price"),
        max_digits=16,
        decimal_places=2,
        currency_choices=CURRENCY_CHOICES,
        default_currency=settings.DEFAULT_CURRENCY,
        null=True,
        blank=True,
        validators=[MinMoneyValidator(0)],
        help_text=_("The former price shown struck through; above the price when set."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["listing_id", "variant_id"]
        verbose_name = _("variant price and listing")
        verbose_name_plural = _("variant prices and listings")
        constraints = [
            models.UniqueConstraint(
                fields=["listing", "variant"], name="catalog_variant_listing_unique"
            ),
            models.CheckConstraint(
                condition=Q(price__gte=0), name="catalog_variant_listing_price_not_negative"
            ),
        ]

    def __str__(self):
        return _("%(sku)s on %(channel)s: %(amount)s %(currency)s") % {
            "sku": self.variant.sku,
            "channel": self.listing.channel.name,
            "amount": f"{self.price.amount:.2f}",
            "currency": self.price.currency,
        }


class FeedFormat(models.TextChoices):
    GOOGLE = "google", _("Google Merchant XML")
    META = "meta", _("Meta / Instagram catalogue CSV")
    MARKETPLACE = "marketplace", _("Marketplace CSV")
    CATALOGUE = "catalogue", _("Printable catalogue (HTML)")


PRODUCT_URL_PLACEHOLDERS = ("slug", "sku", "id")


def new_feed_token():
    return secrets.token_urlsafe(24)


class ChannelFeed(models.Model):
    """A feed published for a channel: its format, the partner's access token and how to
    build product links. Feeds are regenerated when products change."""

    channel = models.ForeignKey(
        "core.Channel", verbose_name=_("channel"), related_name="feeds", on_delete=models.CASCADE
    )
    format = models.CharField(_("format"), max_length=20, choices=FeedFormat.choices)
    token = models.CharField(
        _("access token"),
        max_length=64,
        unique=True,
        default=new_feed_token,
        help_text=_("Partners fetch the feed with ?token=<this>, or with a catalog:read key."),
    )
    product_url_template = models.CharField(
        _("product URL template"),
        max_length=300,
        blank=True,
        help_text=_("e.g. https://shop.example.com/p/{slug}?sku={sku}"),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["channel__code", "format"]
        verbose_name = _("channel feed")
        verbose_name_plural = _("channel feeds")
        constraints = [
            models.UniqueConstraint(fields=["channel", "format"], name="catalog_feed_unique")
        ]

    def __str__(self):
        return f"{self.channel.code}/{self.format}"

    def product_link(self, *, slug, sku, product_id) -> str:
        """A product's page by `product_url_template`: {slug}, {sku} and {id} replaced, as
        plain values. "" without a template, or with any other placeholder in it."""
        template = self.product_url_template
        if not template or unknown_placeholders(template, PRODUCT_URL_PLACEHOLDERS):
            return ""
        return fill_placeholders(template, {"slug": slug, "sku": sku, "id": product_id})


class FeedRun(models.Model):
    """One generation of a feed file: when, how many items, how many refused and why. A
    queued run is a build asked for and not started yet (`started_at` is when it was asked)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    feed = models.ForeignKey(ChannelFeed, related_name="runs", on_delete=models.CASCADE)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    item_count = models.PositiveIntegerField(default=0)
    refused_count = models.PositiveIntegerField(default=0)
    file = models.CharField(
        max_length=300, blank=True, help_text=_("Name of the feed file in the feeds storage.")
    )
    report_file = models.CharField(max_length=300, blank=True)
    refusals_sample = models.JSONField(
        default=list, blank=True, help_text=_("The first refusals; the full list is the report.")
    )
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        get_latest_by = "started_at"
        verbose_name = _("feed run")
        verbose_name_plural = _("feed runs")

    def __str__(self):
        return f"{self.feed} {self.started_at:%Y-%m-%d %H:%M}"


def import_storage():
    """Uploaded import files live in the private `imports` storage of STORAGES."""
    return storages["imports"]


def import_file_name(instance, filename):
    """An unguessable name: the embedded default keeps the storage under MEDIA_ROOT."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"catalog/imports/{timezone.now():%Y/%m}/{secrets.token_urlsafe(18)}.{extension}"


class CatalogImport(models.Model):
    """One catalog import, from the API, the staff page or the command: the file as
    uploaded, what it asked for (a dry run or not) and what came of it. An import is all or
    nothing: `refused` means a row was bad and nothing was written; `errors` lists every bad
    cell by line and column."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        REFUSED = "refused", _("Refused")
        FAILED = "failed", _("Failed")

    class Source(models.TextChoices):
        API = "api", _("API")
        STAFF = "staff", _("Staff page")
        COMMAND = "command", _("Command")

    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    dry_run = models.BooleanField(_("dry run"), default=False)
    file = models.FileField(_("file"), storage=import_storage, upload_to=import_file_name)
    filename = models.CharField(_("file name"), max_length=255)
    file_format = models.CharField(_("format"), max_length=10)  # csv, xlsx, json
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    api_key = models.ForeignKey(
        "core.ApiKey",
        verbose_name=_("API key"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_done = models.PositiveIntegerField(_("rows checked"), default=0)
    products_created = models.PositiveIntegerField(_("products created"), default=0)
    products_updated = models.PositiveIntegerField(_("products updated"), default=0)
    products_unchanged = models.PositiveIntegerField(_("products unchanged"), default=0)
    new_variants = models.JSONField(
        _("new variants"), default=list, blank=True, help_text=_("SKUs not in the catalog yet.")
    )
    errors = models.JSONField(_("errors"), default=list, blank=True)
    failure = models.TextField(_("failure"), blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("catalog import")
        verbose_name_plural = _("catalog imports")

    def __str__(self):
        return f"{self.filename} ({self.get_status_display()})"

    @property
    def is_finished(self):
        return self.status in (self.Status.DONE, self.Status.REFUSED, self.Status.FAILED)
