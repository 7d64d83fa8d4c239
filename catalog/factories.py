"""Factories for catalog rows, shared by the tests and `seed_demo`."""

import factory
from django.utils.text import slugify
from djmoney.money import Money

from catalog.models import (
    Attribute,
    AttributeKind,
    Brand,
    Category,
    ChannelFeed,
    FeedFormat,
    Product,
    ProductListing,
    ProductMedia,
    ProductTranslation,
    ProductVariant,
    VariantListing,
    gtin_is_valid,
)
from core.factories import ChannelFactory


def gtin13(seed: int) -> str:
    """A valid EAN-13 built from `seed` (country prefix 626, Iran's GS1 range)."""
    body = f"626{seed % 10**9:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    code = body + str((10 - total % 10) % 10)
    assert gtin_is_valid(code)
    return code


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.name))
    parent = None


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Brand {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.name))


class AttributeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attribute
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"attribute-{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("-", " ").title())
    kind = AttributeKind.TEXT


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.name))
    description = factory.Faker("paragraph", nb_sentences=3)
    brand = factory.SubFactory(BrandFactory)
    category = factory.SubFactory(CategoryFactory)


class ProductTranslationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductTranslation

    product = factory.SubFactory(ProductFactory)
    language = "fa"
    name = factory.LazyAttribute(lambda o: f"{o.product.name} (fa)")
    description = ""


class ProductVariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductVariant

    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:06d}")
    barcode = factory.Sequence(lambda n: gtin13(n + 1))
    colour = "black"
    size = ""
    weight_grams = 500


class ProductMediaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductMedia

    product = factory.SubFactory(ProductFactory)
    url = factory.LazyAttribute(lambda o: f"https://img.example.com/{o.product.slug}.jpg")
    alt_text = factory.LazyAttribute(lambda o: o.product.name)
    position = 0


class ProductListingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductListing
        django_get_or_create = ["product", "channel"]

    product = factory.SubFactory(ProductFactory)
    channel = factory.SubFactory(ChannelFactory, code="web")
    is_listed = True


class VariantListingFactory(factory.django.DjangoModelFactory):
    """A variant's price on a channel; pass `variant` and `listing`, or `channel=`."""

    class Meta:
        model = VariantListing
        exclude = ["channel", "amount"]

    variant = factory.SubFactory(ProductVariantFactory)
    channel = factory.SubFactory(ChannelFactory, code="web")
    listing = factory.LazyAttribute(
        lambda o: ProductListingFactory(product=o.variant.product, channel=o.channel)
    )
    amount = 100
    price = factory.LazyAttribute(lambda o: Money(o.amount, o.listing.channel.currency))
    compare_at_price = None
    is_listed = True


class ChannelFeedFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChannelFeed
        django_get_or_create = ["channel", "format"]

    channel = factory.SubFactory(ChannelFactory, code="web")
    format = FeedFormat.GOOGLE
    product_url_template = "https://shop.example.com/p/{slug}?sku={sku}"


def listed_product(channels_prices, *, variants=2, **product_fields):
    """A product with `variants` variants, an image, and listed on each channel of
    `channels_prices` ({channel: amount}) at that amount. Returns the product."""
    product = ProductFactory(**product_fields)
    ProductMediaFactory(product=product)
    for index in range(variants):
        variant = ProductVariantFactory(product=product, size=str(38 + index), position=index)
        for channel, amount in channels_prices.items():
            VariantListingFactory(variant=variant, channel=channel, amount=amount)
    return product
