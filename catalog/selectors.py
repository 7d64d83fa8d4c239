"""Reads of the catalog that more than one door uses (API, staff pages, feeds, other apps).

Other apps find variants here: `variant_by_sku`, `variant_by_code` (SKU or barcode),
`price_for(variant, channel)`, `listed_variants(channel)`, and plain product cards for
messages: `product_cards(skus, language=...)`.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.aggregates import StringAgg
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import (
    Case,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.models import (
    Category,
    ChannelFeed,
    Product,
    ProductListing,
    ProductMedia,
    ProductTranslation,
    ProductVariant,
    VariantListing,
)
from core.l10n import normalise_digits
from core.models import ChannelKind
from core.sql import one_of


def variant_by_sku(sku: str) -> ProductVariant | None:
    return ProductVariant.objects.select_related("product").filter(sku=sku).first()


def variant_by_code(code: str) -> ProductVariant | None:
    """The variant whose SKU or barcode (GTIN) is `code`; SKU wins if both match."""
    code = (code or "").strip()
    if not code:
        return None
    matches = list(
        ProductVariant.objects.select_related("product").filter(Q(sku=code) | Q(barcode=code))
    )
    matches.sort(key=lambda v: v.sku != code)
    return matches[0] if matches else None


def variants_by_code(codes) -> dict[str, ProductVariant]:
    """{code: variant} for each of `codes` that is a variant's SKU or barcode, SKU winning
    as in `variant_by_code`; unknown codes are left out. One query, whatever the number."""
    codes = {(code or "").strip() for code in codes} - {""}
    if not codes:
        return {}
    variants = list(
        ProductVariant.objects.select_related("product").filter(
            Q(sku__in=codes) | Q(barcode__in=codes)
        )
    )
    found = {v.barcode: v for v in variants if v.barcode in codes}
    found.update({v.sku: v for v in variants if v.sku in codes})
    return found


def variants_with_skus(skus) -> QuerySet[ProductVariant]:
    """The variants whose SKU is one of `skus` (exact SKUs, no barcodes), unordered: for
    another app's query to read through (inventory's stock by SKU joins it)."""
    return ProductVariant.objects.filter(sku__in=list(skus)).order_by()


_VARIANTS_WITH_SKUS_SQL = "SELECT id, sku FROM catalog_productvariant WHERE {skus}"
_VARIANTS_BY_SKU_SQL = "SELECT sku, id, product_id, size FROM catalog_productvariant WHERE {skus}"


def variant_rows_by_sku(skus) -> dict[str, tuple[int, int, str]]:
    """{sku: (variant id, product id, size)} for the `skus` that are a variant's SKU: plain
    rows for the hot reads (recommendations), one statement built without the ORM."""
    skus = {sku for sku in skus if isinstance(sku, str)}
    if not skus:
        return {}
    condition, params = one_of("sku", sorted(skus))
    with connection.cursor() as cursor:
        cursor.execute(_VARIANTS_BY_SKU_SQL.format(skus=condition), params)
        return {sku: (variant_id, product_id, size) for sku, variant_id, product_id, size in cursor}


def variants_with_skus_sql(skus) -> tuple[str, list]:
    """(statement, params) selecting `id, sku` of the variants whose SKU is one of `skus`,
    for another app's statement to read through (inventory's stock by SKU), built without
    the ORM: every availability look-up runs it."""
    condition, params = one_of("sku", list(skus))
    return _VARIANTS_WITH_SKUS_SQL.format(skus=condition), params


def variants_by_sku(skus) -> dict[str, ProductVariant]:
    """{sku: variant} for the `skus` that are a variant's SKU; unknown ones are left out.
    One query."""
    return {variant.sku: variant for variant in variants_with_skus(skus)}


def variant_ids_by_sku(skus) -> dict[str, int]:
    """{sku: variant id} for the `skus` that are a variant's SKU (one query, no instances:
    a batch of stock movements names thousands)."""
    return dict(variants_with_skus(skus).values_list("sku", "id"))


def skus_by_variant_id(variant_ids) -> dict[int, str]:
    """{variant id: SKU} for the variants that exist among `variant_ids` (one query)."""
    return dict(
        ProductVariant.objects.filter(pk__in=list(variant_ids)).values_list("id", "sku").order_by()
    )


def variants_by_id(variant_ids) -> dict[int, ProductVariant]:
    """{variant id: variant with its product} for the variants among `variant_ids`."""
    return ProductVariant.objects.select_related("product").in_bulk(list(variant_ids))


def all_variants() -> QuerySet[ProductVariant]:
    """Every variant with its product, oldest first (the demo stages walk them)."""
    return ProductVariant.objects.select_related("product").order_by("id")


def variants_of_product(slug: str) -> QuerySet[ProductVariant]:
    """The variants of the product with this slug, in their shown order."""
    return ProductVariant.objects.filter(product__slug=slug).order_by("position", "id")


def product_by_id(product_id) -> Product | None:
    return Product.objects.filter(pk=product_id).first()


def products_and_categories_by_sku(skus) -> dict[str, tuple[int, str | None]]:
    """{sku: (product id, category name or None)} for the `skus` that are a variant's SKU
    (one query): what a report needs to group product events by product and category."""
    return {
        sku: (product_id, category)
        for sku, product_id, category in variants_with_skus(skus).values_list(
            "sku", "product_id", "product__category__name"
        )
    }


def product_cards(skus, *, language: str | None = None) -> list[dict]:
    """Plain {"sku", "name", "url"} of the variants with these SKUs, in the order given
    (unknown SKUs left out): the product's name in `language` when translated, its page by
    the product URL template of a feed (the web shop's first). Three queries, whatever the
    number of SKUs."""
    skus = [sku for sku in skus if sku]
    if not skus:
        return []
    variants = {
        variant.sku: variant
        for variant in ProductVariant.objects.select_related("product")
        .prefetch_related("product__translations")
        .filter(sku__in=skus)
    }
    feed = (
        ChannelFeed.objects.filter(is_active=True)
        .exclude(product_url_template="")
        .order_by(Case(When(channel__kind=ChannelKind.WEB, then=0), default=1), "id")
        .first()
    )
    cards = []
    for sku in skus:
        variant = variants.get(sku)
        if variant is None:
            continue
        product = variant.product
        name, _description = translated(product, language)
        url = feed.product_link(slug=product.slug, sku=sku, product_id=product.pk) if feed else ""
        cards.append({"sku": sku, "name": name, "url": url})
    return cards


def live_listing_q(prefix: str = "", at=None) -> Q:
    """Q for listings live now: listed and inside their publication window."""
    at = at or timezone.now()
    p = prefix
    return (
        Q(**{f"{p}is_listed": True})
        & (Q(**{f"{p}published_from__isnull": True}) | Q(**{f"{p}published_from__lte": at}))
        & (Q(**{f"{p}published_until__isnull": True}) | Q(**{f"{p}published_until__gt": at}))
    )


def live_variant_listings(*, at=None) -> QuerySet[VariantListing]:
    """The VariantListing rows on sale now on their channel, whichever it is: the variant
    and its product active, both listed, inside the product listing's publication window.
    The one rule of "on sale"; the readers below narrow it."""
    return VariantListing.objects.filter(
        live_listing_q("listing__", at),
        is_listed=True,
        variant__is_active=True,
        variant__product__is_active=True,
    )


def listed_variant_listings(channel, *, at=None) -> QuerySet[VariantListing]:
    """The VariantListing rows that are on sale on `channel` now (see
    `live_variant_listings`), with their variant, product, brand and category."""
    return (
        live_variant_listings(at=at)
        .filter(listing__channel=channel)
        .select_related(
            "listing",
            "variant",
            "variant__product",
            "variant__product__brand",
            "variant__product__category",
        )
        .order_by("variant__product_id", "variant__position", "variant_id")
    )


# The hot read of every recommendation (a few dozen candidate products per request): written
# out so no ORM query is built per call. Led by the channel's listings of the products asked
# for, so PostgreSQL walks the indexes from those few rows rather than scanning every
# variant listing, and joined in a chain that keeps its planning short (the planning is most
# of the statement's time). A variant listing belongs to its listing's product (catalog
# services create them so). The same rule of "on sale" as live_variant_listings
# (tests/catalog/test_on_sale_rows.py holds the two together). Portable (PostgreSQL, SQLite).
_ON_SALE_SQL = """
SELECT vl.variant_id, pl.product_id, p.name, v.sku, v.size, v.colour, vl.price,
       vl.price_currency
FROM catalog_productlisting pl
JOIN catalog_variantlisting vl ON vl.listing_id = pl.id
JOIN catalog_productvariant v ON v.id = vl.variant_id
JOIN catalog_product p ON p.id = pl.product_id
WHERE pl.channel_id = %s AND {products} {excluding}
  AND p.is_active AND v.is_active AND vl.is_listed AND pl.is_listed
  AND (pl.published_from IS NULL OR pl.published_from <= %s)
  AND (pl.published_until IS NULL OR pl.published_until > %s)
ORDER BY pl.product_id, v.position, vl.variant_id
"""


def on_sale_rows(channel, product_ids, *, excluding_variants=(), at=None) -> list[tuple]:
    """(variant id, product id, product name, sku, size, colour, price, currency) of the
    variants of `product_ids` on sale on `channel` now (see live_variant_listings), leaving
    out `excluding_variants`; by product, then the variants' order. One statement."""
    wanted = [int(product) for product in product_ids]
    if not wanted:
        return []
    at = at or timezone.now()
    # Named on both the listing and the product: each table then starts from its index.
    listing, listing_params = one_of("pl.product_id", wanted)
    product, product_params = one_of("p.id", wanted)
    excluded = [int(variant) for variant in excluding_variants]
    excluding, excluded_params = one_of("v.id", excluded) if excluded else ("", [])
    sql = _ON_SALE_SQL.format(
        products=f"{listing} AND {product}",
        excluding=f"AND NOT {excluding}" if excluding else "",
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [channel.pk, *listing_params, *product_params, *excluded_params, at, at]
        )
        return cursor.fetchall()


def listed_variants(channel, *, at=None) -> QuerySet[ProductVariant]:
    """Variants on sale on `channel` now."""
    return ProductVariant.objects.filter(
        pk__in=listed_variant_listings(channel, at=at).values("variant_id")
    ).select_related("product")


def listed_pairs(variants, channels) -> set[tuple[int, int]]:
    """{(variant id, channel id)} for each of `variants` on sale now on each of `channels`
    (one query, whatever their numbers)."""
    return set(
        live_variant_listings()
        .filter(variant__in=list(variants), listing__channel__in=list(channels))
        .values_list("variant_id", "listing__channel_id")
        .order_by()
    )


def price_for(variant: ProductVariant, channel):
    """The variant's price on `channel` as Money, or None when it is not on sale there."""
    listing = listed_variant_listings(channel).select_related(None).filter(variant=variant).first()
    return listing.price if listing else None


def prices_for(variants, channel) -> dict[int, object]:
    """{variant_id: Money} for the variants on sale on `channel` (one query)."""
    rows = listed_variant_listings(channel).filter(variant__in=list(variants))
    return {row.variant_id: row.price for row in rows}


def category_subtree(category: Category) -> QuerySet[Category]:
    return Category.objects.filter(path__startswith=category.path)


def products_for_api(*, channel=None, category=None, updated_since=None) -> QuerySet[Product]:
    """Products with everything the API shows, in a fixed number of queries. With a
    channel: only products listed there, and only that channel's listings."""
    listings = ProductListing.objects.select_related("channel")
    variant_listings = VariantListing.objects.select_related("listing__channel")
    products = Product.objects.select_related("brand", "category")
    if channel is not None:
        products = products.filter(listings__channel=channel, listings__is_listed=True)
        listings = listings.filter(channel=channel)
        variant_listings = variant_listings.filter(listing__channel=channel)
    if category is not None:
        products = products.filter(category__path__startswith=category.path)
    if updated_since is not None:
        products = products.filter(updated_at__gte=updated_since)
    return products.prefetch_related(
        "translations",
        "attribute_values__attribute",
        Prefetch("media", queryset=ProductMedia.objects.order_by("position", "id")),
        Prefetch("listings", queryset=listings),
        Prefetch(
            "variants",
            queryset=ProductVariant.objects.prefetch_related(
                Prefetch("listings", queryset=variant_listings)
            ),
        ),
    ).order_by("id")


def variants_for_api(*, channel=None, category=None, updated_since=None, sku=None):
    variant_listings = VariantListing.objects.select_related("listing__channel")
    variants = ProductVariant.objects.select_related("product", "product__brand")
    if channel is not None:
        variants = variants.filter(listings__listing__channel=channel)
        variant_listings = variant_listings.filter(listing__channel=channel)
    if category is not None:
        variants = variants.filter(product__category__path__startswith=category.path)
    if updated_since is not None:
        variants = variants.filter(
            Q(updated_at__gte=updated_since) | Q(product__updated_at__gte=updated_since)
        )
    if sku:
        variants = variants.filter(sku=sku)
    return variants.prefetch_related(Prefetch("listings", queryset=variant_listings)).order_by("id")


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def search_products(query: str, queryset: QuerySet[Product] | None = None) -> QuerySet[Product]:
    """Products matching `query` in name, description (either in any translation), SKU or
    brand; a SKU typed in Persian or Arabic-Indic digits (W-۱۰۰۰۰۱) is the same SKU. On
    PostgreSQL this is
    full-text search (ranked, word stems ignored across languages with the 'simple'
    configuration, prefix matching on the last word); on SQLite a plain icontains filter."""
    queryset = queryset if queryset is not None else Product.objects.all()
    query = (query or "").strip()
    if not query:
        return queryset
    # Names and descriptions are searched as typed (a name may be written in Persian digits);
    # SKUs are codes in Latin digits.
    sku = normalise_digits(query)
    if is_postgres():
        vector = (
            SearchVector("name", weight="A", config="simple")
            + SearchVector(_translated("name"), weight="A", config="simple")
            + SearchVector("brand__name", weight="B", config="simple")
            + SearchVector("description", weight="C", config="simple")
            + SearchVector(_translated("description"), weight="C", config="simple")
        )
        # Each word is a quoted lexeme, so tsquery's operators (& | ! <-> parentheses) are
        # text; inside the quotes only a quote or a backslash is syntax: quotes become
        # spaces, a backslash is escaped (alone it escaped the closing quote: a 500).
        words = [w.replace("\\", "\\\\") for w in query.replace("'", " ").replace(":", " ").split()]
        raw = " & ".join(
            f"'{w}':*" if i == len(words) - 1 else f"'{w}'" for i, w in enumerate(words)
        )
        search = SearchQuery(raw, search_type="raw", config="simple")
        # Filter with @@ (the `document=search` lookup), not rank > 0: ts_rank gives
        # non-matching rows a tiny positive rank.
        by_text = queryset.annotate(document=vector, rank=SearchRank(vector, search)).filter(
            Q(document=search) | Q(variants__sku__iexact=sku)
        )
        return by_text.distinct().order_by("-rank", "name", "id")
    matches = Q()
    for word in query.split():
        matches &= (
            Q(name__icontains=word)
            | Q(description__icontains=word)
            | Q(brand__name__icontains=word)
            | Q(translations__name__icontains=word)
            | Q(translations__description__icontains=word)
        )
    return queryset.filter(matches | Q(variants__sku__iexact=sku)).distinct().order_by("name", "id")


def _translated(field: str):
    """`field` of every translation of the product, as one text: a subquery, so a product
    with several translations is still one row with one rank."""
    texts = (
        ProductTranslation.objects.filter(product=OuterRef("pk"))
        .order_by()
        .values("product")
        .annotate(text=StringAgg(field, " ", output_field=TextField()))
        .values("text")
    )
    return Coalesce(Subquery(texts[:1]), Value(""), output_field=TextField())


def translated(product: Product, language: str | None = None) -> tuple[str, str]:
    """(name, description) of `product` in `language`, falling back to the default."""
    language = (language or settings.LANGUAGE_CODE).split("-")[0]
    if language != settings.LANGUAGE_CODE:
        for translation in product.translations.all():
            if translation.language == language:
                return translation.name, translation.description or product.description
    return product.name, product.description


def catalog_counts() -> dict:
    return {
        "products": Product.objects.count(),
        "variants": ProductVariant.objects.count(),
        "listed_products": Product.objects.filter(listings__is_listed=True).distinct().count(),
    }


def category_paths_by_sku(skus) -> dict[str, str]:
    """{sku: the category path ("shoes/running/") of its product, or ""} for these SKUs (one
    query): what a rule per category (loyalty) matches a sold line against, subtree and all."""
    return {
        sku: path or ""
        for sku, path in variants_with_skus(skus).values_list("sku", "product__category__path")
    }


def products_for_review_feed(skus, feed) -> dict[str, dict]:
    """{sku: {"name", "url", "gtin", "brand"}} of the variants with these SKUs, for a product
    reviews feed beside `feed` (a channel's feed: its product URL template makes the link).
    One query, whatever the number of SKUs."""
    found = {}
    for variant in (
        ProductVariant.objects.select_related("product__brand")
        .filter(sku__in=[sku for sku in skus if sku])
        .order_by()
    ):
        product = variant.product
        found[variant.sku] = {
            "name": product.name,
            "url": feed.product_link(slug=product.slug, sku=variant.sku, product_id=product.pk),
            "gtin": variant.barcode or "",
            "brand": product.brand.name if product.brand_id else "",
        }
    return found
