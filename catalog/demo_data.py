"""Catalog demo data: a category tree, brands, typed attributes, a few hundred products with
variants (shoes in sizes and colours, among them the "Aria Runner" of the shoe-buyer story),
images, Persian names, and listings priced differently per channel (web and app in USD,
stores a little dearer, Instagram and the printed catalogue for a subset, the marketplace
in IRR, the Azerbaijani web shop in AZN), plus the channel feeds partners fetch.

A few rows are deliberately imperfect (no barcode, no image, no brand), as real catalogues
are, so the feeds page shows refusals with their reasons.
"""

import csv
import io
from decimal import ROUND_HALF_UP, Decimal

from django.core.files.base import ContentFile
from django.db import transaction
from djmoney.money import Money

from catalog import import_jobs
from catalog.factories import ProductFactory, ProductVariantFactory, gtin13
from catalog.import_export import export_rows
from catalog.models import (
    Attribute,
    AttributeKind,
    Brand,
    CatalogImport,
    Category,
    ChannelFeed,
    FeedFormat,
    Product,
    ProductAttributeValue,
    ProductListing,
    ProductMedia,
    ProductTranslation,
    ProductVariant,
    VariantListing,
)
from catalog.tasks import regenerate_feeds
from core.demo import register_stage
from core.models import Channel

TREE = [
    ("shoes", "Shoes", None),
    ("running-shoes", "Running shoes", "shoes"),
    ("casual-shoes", "Casual shoes", "shoes"),
    ("boots", "Boots", "shoes"),
    ("clothing", "Clothing", None),
    ("t-shirts", "T-shirts", "clothing"),
    ("jackets", "Jackets", "clothing"),
    ("bags", "Bags", None),
    ("home", "Home", None),
    ("kitchen", "Kitchen", "home"),
    ("accessories", "Accessories", None),
]
BRANDS = [
    "Aria",
    "Pars Step",
    "Caspian",
    "Zagros Outdoor",
    "Baku Craft",
    "Minsk Wear",
    "Dubai Lane",
]
# (category, English nouns, Persian noun, sizes, colours, base price USD, weight g)
LINES = [
    (
        "running-shoes",
        ["Runner", "Racer", "Glide", "Pace"],
        "کفش دویدن",
        [str(s) for s in range(36, 46)],
        ["black", "white", "red", "blue"],
        80,
        650,
    ),
    (
        "casual-shoes",
        ["Sneaker", "Loafer", "Slip-on"],
        "کفش راحتی",
        [str(s) for s in range(36, 46)],
        ["black", "brown", "white"],
        60,
        600,
    ),
    (
        "boots",
        ["Boot", "Trail Boot"],
        "پوتین",
        [str(s) for s in range(37, 46)],
        ["brown", "black"],
        120,
        1100,
    ),
    (
        "t-shirts",
        ["Tee", "Polo"],
        "تی‌شرت",
        ["XS", "S", "M", "L", "XL"],
        ["white", "black", "green"],
        20,
        200,
    ),
    (
        "jackets",
        ["Jacket", "Parka", "Windbreaker"],
        "کاپشن",
        ["S", "M", "L", "XL"],
        ["navy", "black"],
        110,
        900,
    ),
    ("bags", ["Tote", "Backpack", "Crossbody"], "کیف", [""], ["tan", "black"], 45, 700),
    ("kitchen", ["Mug", "Teapot", "Kettle"], "ظروف آشپزخانه", [""], ["white", "blue"], 15, 450),
    ("accessories", ["Scarf", "Cap", "Belt"], "اکسسوری", [""], ["red", "grey", "black"], 18, 150),
]
ADJECTIVES = [
    "Caspian",
    "Alborz",
    "Shiraz",
    "Tabriz",
    "Baku",
    "Sahand",
    "Kish",
    "Ganja",
    "Desert",
    "Urban",
    "Cloud",
    "Nomad",
    "Silk",
    "Cedar",
]
SECOND = ["Light", "Classic", "Pro", "Everyday", "Soft", "Studio", "Travel", "Road", "City"]
RATES = {"USD": Decimal(1), "AZN": Decimal("1.70"), "IRR": Decimal(42000)}
# channel code -> (share of products listed there, price factor over the web price)
CHANNEL_RULES = {
    "web": (1.0, Decimal("1.00")),
    "app": (0.9, Decimal("0.97")),  # app-only discount
    "store": (0.8, Decimal("1.05")),
    "instagram": (0.4, Decimal("1.00")),
    "catalogue": (0.3, Decimal("1.00")),
    "marketplace": (0.5, Decimal("1.02")),
    "web-az": (0.5, Decimal("1.00")),
    "phone": (0.6, Decimal("1.00")),
}
FEEDS = [
    ("web", FeedFormat.GOOGLE, "https://shop.example.com/p/{slug}?sku={sku}"),
    ("web-az", FeedFormat.GOOGLE, "https://shop.example.az/p/{slug}?sku={sku}"),
    (
        "instagram",
        FeedFormat.META,
        "https://shop.example.com/p/{slug}?sku={sku}&utm_source=instagram",
    ),
    ("marketplace", FeedFormat.MARKETPLACE, "https://shop.example.com/p/{slug}"),
    ("catalogue", FeedFormat.CATALOGUE, "https://shop.example.com/p/{slug}"),
]


def _money(usd: Decimal, channel) -> Money:
    rate = RATES.get(channel.currency, Decimal(1))
    step = Decimal(1000) if channel.currency == "IRR" else Decimal("0.01")
    amount = (usd * rate / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step
    if channel.currency != "IRR":
        amount = amount.quantize(Decimal("0.01"))
    return Money(amount, channel.currency)


def _taxonomy():
    categories = {}
    for slug, name, parent in TREE:
        categories[slug] = Category.objects.get_or_create(
            slug=slug, defaults={"name": name, "parent": categories.get(parent)}
        )[0]
    brands = {}
    for name in BRANDS:
        brands[name] = Brand.objects.get_or_create(
            name=name, defaults={"slug": name.lower().replace(" ", "-")}
        )[0]
    attributes = {
        "material": Attribute.objects.get_or_create(
            code="material",
            defaults={
                "name": "Material",
                "kind": AttributeKind.CHOICE,
                "choices": ["leather", "mesh", "cotton", "ceramic", "wool"],
            },
        )[0],
        "drop_mm": Attribute.objects.get_or_create(
            code="drop_mm",
            defaults={"name": "Heel drop", "kind": AttributeKind.NUMBER, "unit": "mm"},
        )[0],
        "accent": Attribute.objects.get_or_create(
            code="accent", defaults={"name": "Accent colour", "kind": AttributeKind.COLOUR}
        )[0],
    }
    return categories, brands, attributes


def _plan(ctx, count):
    """(name, category slug, Persian noun, sizes, colours, base price, weight) per product;
    the first is the story's Aria Runner."""
    plans = [
        (
            "Aria Runner",
            "running-shoes",
            "کفش دویدن آریا",
            [str(s) for s in range(36, 42)],
            ["black", "white", "red"],
            Decimal("89.00"),
            640,
            "Aria",
        )
    ]
    used = {"Aria Runner"}
    rnd = ctx.random
    while len(plans) < count:
        category, nouns, fa_noun, sizes, colours, base, weight = rnd.choice(LINES)
        for _attempt in range(5):
            name = f"{rnd.choice(ADJECTIVES)} {rnd.choice(nouns)}"
            if name not in used:
                break
            name = f"{rnd.choice(ADJECTIVES)} {rnd.choice(SECOND)} {rnd.choice(nouns)}"
            if name not in used:
                break
        else:
            name = f"{name} {len(plans)}"
        used.add(name)
        size_count = min(len(sizes), rnd.randint(3, 6)) if sizes != [""] else 1
        start = rnd.randint(0, len(sizes) - size_count)
        price = (Decimal(base) * Decimal(rnd.uniform(0.7, 1.5))).quantize(
            Decimal("0.01")
        ) - Decimal("0.01")
        plans.append(
            (
                name,
                category,
                f"{fa_noun} {name.split()[0]}",
                sizes[start : start + size_count],
                rnd.sample(colours, rnd.randint(1, min(2, len(colours)))),
                price,
                weight,
                rnd.choice(BRANDS),
            )
        )
    return plans


@register_stage("catalog.products", order=10, label="Products and listings")
def seed_products(ctx):
    if Product.objects.filter(slug="aria-runner").exists():
        return
    rnd = ctx.random
    categories, brands, attributes = _taxonomy()
    channels = {c.code: c for c in Channel.objects.filter(code__in=list(CHANNEL_RULES), sells=True)}
    plans = _plan(ctx, ctx.scale(300))
    with transaction.atomic():
        products = []
        for index, (name, category, _fa, _sizes, _colours, _price, _weight, brand) in enumerate(
            ctx.progress(plans, "Products")
        ):
            products.append(
                ProductFactory.build(
                    name=name,
                    slug=name.lower().replace(" ", "-"),
                    description=(
                        f"{name} by {brand}. " + ctx.faker("en_US").paragraph(nb_sentences=3)
                    ),
                    category=categories[category],
                    # A few products without a brand: the Meta and marketplace feeds refuse them.
                    brand=None if index and rnd.random() < 0.03 else brands[brand],
                )
            )
        products = Product.objects.bulk_create(products)

        translations, media, values, variants, plan_of = [], [], [], [], {}
        sku_seq = 0
        for product, plan in zip(products, plans, strict=True):
            name, category, fa_name, sizes, colours, price, weight, _brand = plan
            translations.append(
                ProductTranslation(
                    product=product,
                    language="fa",
                    name=fa_name,
                    description=f"{fa_name}، مناسب استفادهٔ روزمره.",
                )
            )
            if product.slug == "aria-runner" or rnd.random() > 0.03:  # a few lack an image
                media.append(
                    ProductMedia(
                        product=product,
                        url=f"https://img.example.com/demo/{product.slug}.jpg",
                        alt_text=name,
                        position=0,
                    )
                )
            if category.endswith("shoes") or category == "boots":
                values.append(
                    ProductAttributeValue(
                        product=product,
                        attribute=attributes["material"],
                        value=rnd.choice(["leather", "mesh"]),
                    )
                )
                drop = rnd.choice([4, 6, 8, 10])
                values.append(
                    ProductAttributeValue(
                        product=product,
                        attribute=attributes["drop_mm"],
                        value=str(drop),
                        number_value=drop,
                    )
                )
            prefix = "".join(w[0] for w in name.upper().split())[:3] + f"{product.pk:04d}"
            if product.slug == "aria-runner":
                prefix = "ARIA-RUN"
            position = 0
            for colour in colours:
                for size in sizes:
                    sku_seq += 1
                    sku = "-".join(p for p in (prefix, colour[:3].upper(), size) if p)
                    variants.append(
                        ProductVariantFactory.build(
                            product=product,
                            sku=sku,
                            # ~5% without a barcode: the marketplace refuses them.
                            barcode=""
                            if product.slug != "aria-runner" and rnd.random() < 0.05
                            else gtin13(sku_seq),
                            colour=colour,
                            size=size,
                            weight_grams=weight + rnd.randint(-40, 40),
                            position=position,
                        )
                    )
                    position += 1
            plan_of[product.pk] = plan
        ProductTranslation.objects.bulk_create(translations)
        ProductMedia.objects.bulk_create(media)
        ProductAttributeValue.objects.bulk_create(values)
        variants = ProductVariant.objects.bulk_create(variants, batch_size=1000)

        listings = []
        for product in products:
            for code, (share, _factor) in CHANNEL_RULES.items():
                if code in channels and (product.slug == "aria-runner" or rnd.random() < share):
                    listings.append(
                        ProductListing(product=product, channel=channels[code], is_listed=True)
                    )
        listings = ProductListing.objects.bulk_create(listings, batch_size=1000)
        by_product = {}
        for listing in listings:
            by_product.setdefault(listing.product_id, []).append(listing)
        sale_products = {p.pk for p in products if rnd.random() < 0.15}
        prices = []
        for variant in ctx.progress(variants, "Prices per channel"):
            base = plan_of[variant.product_id][5]
            for listing in by_product.get(variant.product_id, []):
                channel = channels[listing.channel.code]
                usd = base * CHANNEL_RULES[channel.code][1]
                on_sale = variant.product_id in sale_products and channel.code in (
                    "web",
                    "app",
                    "web-az",
                )
                prices.append(
                    VariantListing(
                        listing=listing,
                        variant=variant,
                        is_listed=True,
                        price=_money(usd * Decimal("0.8") if on_sale else usd, channel),
                        compare_at_price=_money(usd, channel) if on_sale else None,
                    )
                )
        VariantListing.objects.bulk_create(prices, batch_size=2000)
        for code, fmt, template in FEEDS:
            if code in channels or Channel.objects.filter(code=code).exists():
                ChannelFeed.objects.get_or_create(
                    channel=Channel.objects.get(code=code),
                    format=fmt,
                    defaults={"product_url_template": template},
                )
    ctx.shared["aria_runner"] = Product.objects.get(slug="aria-runner")
    ctx.created("products", len(products))
    ctx.created("variants", len(variants))
    ctx.created("prices per channel", len(prices))


@register_stage("catalog.import", order=15, label="A catalog import")
def seed_import(ctx):
    """One finished import in the history: a dry run of the Aria Runner's rows plus a navy
    size the catalog does not have yet, reported as a new variant."""
    if CatalogImport.objects.exists() or not Product.objects.filter(slug="aria-runner").exists():
        return
    header, *rows = export_rows(Product.objects.filter(slug="aria-runner"))
    navy = dict(zip(header, rows[0], strict=True))
    navy.update(sku="ARIA-NAVY-38", barcode="", colour="navy", size="38")
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerows([header, *rows, [navy[column] for column in header]])
    upload = ContentFile(text.getvalue().encode(), name="aria-runner.csv")
    job = import_jobs.create_import(
        source=CatalogImport.Source.COMMAND, upload=upload, dry_run=True, start=False
    )
    import_jobs.run_import(job.pk)
    ctx.created("catalog imports", 1)


@register_stage("catalog.feeds", order=90, label="Channel feeds")
def seed_feeds(ctx):
    """Build the feeds once every stage has put in its stock, so partners' first fetch finds
    a file: a worker builds them when there is a broker, else they are built here."""
    regenerate_feeds.delay()
    ctx.created("channel feeds", ChannelFeed.objects.filter(is_active=True).count())
