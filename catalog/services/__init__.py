"""Every write to the catalog: products with their variants, attributes, translations, media
and per-channel listings and prices. The API, the importer, the admin actions and the demo
use these, so the rules hold whichever door a change comes through. Building, storing and
serving the channel feeds is `catalog.services.feeds`.

Product input is a plain dict (see `upsert_product`); every rule it breaks is reported at
once, keyed by a dotted path (`variants.2.listings.web.price`), so a caller can point at
the exact field (the importer maps paths back to a line and column).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from moneyed import Money, get_currency

from catalog.errors import InvalidProductData, UnknownChannel
from catalog.models import (
    Attribute,
    AttributeKind,
    Brand,
    Category,
    Condition,
    Product,
    ProductAttributeValue,
    ProductListing,
    ProductMedia,
    ProductTranslation,
    ProductVariant,
    VariantListing,
    gtin_is_valid,
)
from catalog.services.feeds import schedule_regeneration
from core.models import Channel
from core.safe_urls import is_safe_url
from core.selectors import channel_for
from core.services.enqueue import after_commit

PRODUCT_FIELDS = ("name", "description", "condition", "is_active")
VARIANT_FIELDS = ("barcode", "colour", "size", "weight_grams", "is_active", "position")
LISTING_FIELDS = ("is_listed", "title", "description", "published_from", "published_until")
LANGUAGE_CODES = {code for code, _name in settings.LANGUAGES}
TITLE_MAX = 255
PRICE_PLACES = 2  # VariantListing's MoneyFields store 2 decimal places


# --- categories and brands --------------------------------------------------------------


@transaction.atomic
def create_category(name, *, slug=None, parent=None) -> Category:
    """Add a node under `parent` (a Category or its slug). Slugs are unique in the tree."""
    if isinstance(parent, str):
        parent = Category.objects.get(slug=parent)
    slug = slug or slugify(name)
    if Category.objects.filter(slug=slug).exists():
        raise InvalidProductData(
            f"A category with slug {slug} exists.", fields={"slug": ["Already used."]}
        )
    return Category.objects.create(name=name, slug=slug, parent=parent)


@transaction.atomic
def move_category(category: Category, new_parent: Category | None) -> Category:
    """Re-hang a subtree; refuses to move a category under itself or its descendants."""
    if new_parent and new_parent.path.startswith(category.path):
        raise InvalidProductData(
            "A category cannot move under itself.", fields={"parent": ["Inside the subtree."]}
        )
    category.parent = new_parent
    category.save()  # re-derives the path of the whole subtree
    return category


def brand_named(name: str) -> Brand:
    """The brand called `name`, created on first use."""
    brand = Brand.objects.filter(name__iexact=name).first()
    if brand:
        return brand
    base = slugify(name) or "brand"
    slug, n = base, 1
    while Brand.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    try:
        with transaction.atomic():
            return Brand.objects.create(name=name, slug=slug)
    except IntegrityError:  # a concurrent request created it first
        return Brand.objects.get(name__iexact=name)


# --- validation -------------------------------------------------------------------------


class _Errors:
    def __init__(self):
        self.fields: dict[str, list[str]] = {}

    def add(self, path, message):
        self.fields.setdefault(path, []).append(str(message))

    def __bool__(self):
        return bool(self.fields)


def currency_decimals(currency: str) -> int:
    """Decimal places a price in `currency` may have: its minor unit (ISO 4217), at most the
    2 that prices are stored with."""
    try:
        sub_unit = get_currency(currency).sub_unit
    except (KeyError, ValueError, AttributeError):
        return PRICE_PLACES
    return min(len(str(sub_unit)) - 1, PRICE_PLACES) if sub_unit else 0


def to_decimal(value, path, errors, *, minimum=Decimal(0), places=None, currency=None):
    places = PRICE_PLACES if places is None else places
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors.add(path, _("Not a number."))
        return None
    if not number.is_finite():
        errors.add(path, _("Not a number."))
        return None
    if minimum is not None and number < minimum:
        errors.add(path, _("Must be at least %(minimum)s.") % {"minimum": minimum})
        return None
    if number.normalize().as_tuple().exponent < -places:
        if currency:
            errors.add(
                path,
                _("At most %(places)s decimal places in %(currency)s.")
                % {"places": places, "currency": currency},
            )
        else:
            errors.add(path, _("At most %(places)s decimal places.") % {"places": places})
        return None
    return number


def attribute_value(attribute: Attribute, raw) -> tuple[str, Decimal | None]:
    """Validate `raw` against the attribute's kind: `(text, number)`; raises ValueError."""
    text = str(raw).strip()
    if not text:
        raise ValueError("Empty value.")
    if attribute.kind == AttributeKind.NUMBER:
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError("Not a number.") from None
        if not number.is_finite():
            raise ValueError("Not a number.")
        return text, number
    if attribute.kind == AttributeKind.CHOICE:
        if text not in attribute.choices:
            raise ValueError(f"Not one of: {', '.join(map(str, attribute.choices))}.")
    if attribute.kind == AttributeKind.COLOUR:
        if not re.fullmatch(r"#[0-9A-Fa-f]{6}", text):
            raise ValueError("Enter a colour as #RRGGBB.")
        text = text.upper()
    if len(text) > 255:
        raise ValueError("At most 255 characters.")
    return text, None


def _channels_by_code(codes):
    return {c.code: c for c in Channel.objects.filter(code__in=set(codes))}


def _check_listing(listing, path, channel, errors):
    start, end = listing.get("published_from"), listing.get("published_until")
    if start and end and end <= start:
        errors.add(f"{path}.published_until", "Must be after published_from.")
    if len(listing.get("title") or "") > TITLE_MAX:
        errors.add(f"{path}.title", f"At most {TITLE_MAX} characters.")


def _check_price(listing, path, channel, errors):
    """A price above 0 and a compare-at price above it (or none), each with no more
    decimals than the channel's currency has, in the channel's currency."""
    money = {}
    if channel is not None:
        money = {"currency": channel.currency, "places": currency_decimals(channel.currency)}
    price = to_decimal(listing.get("price"), f"{path}.price", errors, **money)
    compare = to_decimal(
        listing.get("compare_at_price"), f"{path}.compare_at_price", errors, **money
    )
    currency = listing.get("currency")
    if channel is not None and currency and currency != channel.currency:
        errors.add(
            f"{path}.currency",
            _("Channel %(channel)s prices in %(currency)s, not %(given)s.")
            % {"channel": channel.code, "currency": channel.currency, "given": currency},
        )
    if "price" in listing and listing.get("price") in (None, "") and listing.get("is_listed", True):
        errors.add(f"{path}.price", _("A listed variant needs a price."))
    if price is not None and price <= 0:
        errors.add(f"{path}.price", _("Must be above 0."))
    if price is not None and compare is not None and compare <= price:
        errors.add(f"{path}.compare_at_price", _("Must be above the price."))
    return price, compare


def check_product_input(data: dict) -> dict[str, list[str]]:
    """Every rule `data` breaks, as {dotted.path: [messages]}; empty when it is good.
    Reads the database (SKUs and barcodes of other products, channels, categories,
    attributes) but writes nothing."""
    errors = _Errors()
    slug = (data.get("slug") or "").strip()
    if not slug:
        errors.add("slug", "Required.")
    elif slugify(slug) != slug:
        errors.add("slug", "Use lowercase letters, digits and hyphens.")
    existing = Product.objects.filter(slug=slug).only("id").first() if slug else None
    if existing is None and not (data.get("name") or "").strip():
        errors.add("name", "Required.")
    if len(data.get("name") or "") > TITLE_MAX:
        errors.add("name", f"At most {TITLE_MAX} characters.")
    if data.get("condition") and data["condition"] not in Condition.values:
        errors.add("condition", f"Not one of: {', '.join(Condition.values)}.")
    if data.get("category") and not Category.objects.filter(slug=data["category"]).exists():
        errors.add("category", f"No category with slug {data['category']}.")

    for language, text in (data.get("translations") or {}).items():
        if language not in LANGUAGE_CODES:
            errors.add(f"translations.{language}", "Not a shipped language.")
        elif not (text.get("name") or "").strip():
            errors.add(f"translations.{language}.name", "Required.")

    attributes = data.get("attributes") or {}
    known = {a.code: a for a in Attribute.objects.filter(code__in=list(attributes))}
    for code, raw in attributes.items():
        if code not in known:
            errors.add(f"attributes.{code}", "Unknown attribute.")
            continue
        if raw in (None, ""):
            continue  # empty clears the value
        try:
            attribute_value(known[code], raw)
        except ValueError as error:
            errors.add(f"attributes.{code}", str(error))

    for index, media in enumerate(data.get("media") or []):
        if not (media.get("url") or "").strip():
            errors.add(f"media.{index}.url", "Required.")
        elif not is_safe_url(media["url"]):
            # Partners' image URLs end up in staff pages and feeds: http(s) only.
            errors.add(f"media.{index}.url", "Use an http or https URL.")

    variants = data.get("variants") or []
    channel_codes = set((data.get("listings") or {}).keys())
    for variant in variants:
        channel_codes |= set((variant.get("listings") or {}).keys())
    channels = _channels_by_code(channel_codes)
    for code in channel_codes - set(channels):
        errors.add(f"channel.{code}", f"No channel with code {code}.")
    for code, channel in channels.items():
        if not channel.sells:
            errors.add(f"channel.{code}", f"Channel {code} does not sell.")

    for code, listing in (data.get("listings") or {}).items():
        _check_listing(listing, f"listings.{code}", channels.get(code), errors)

    skus = [(v.get("sku") or "").strip() for v in variants]
    barcodes = [(v.get("barcode") or "").strip() for v in variants]
    taken_skus = dict(
        ProductVariant.objects.filter(sku__in=[s for s in skus if s])
        .exclude(product__slug=slug)
        .values_list("sku", "product__slug")
    )
    taken_barcodes = dict(
        ProductVariant.objects.filter(barcode__in=[b for b in barcodes if b])
        .exclude(sku__in=skus)
        .values_list("barcode", "sku")
    )
    priced = set(
        VariantListing.objects.filter(variant__sku__in=[s for s in skus if s]).values_list(
            "variant__sku", "listing__channel__code"
        )
    )
    seen_skus, seen_barcodes = set(), set()
    for index, variant in enumerate(variants):
        path = f"variants.{index}"
        sku, barcode = skus[index], barcodes[index]
        if not sku:
            errors.add(f"{path}.sku", "Required.")
        elif len(sku) > 64:
            errors.add(f"{path}.sku", "At most 64 characters.")
        elif sku in seen_skus:
            errors.add(f"{path}.sku", f"SKU {sku} appears twice.")
        elif sku in taken_skus:
            errors.add(f"{path}.sku", f"SKU {sku} belongs to product {taken_skus[sku]}.")
        seen_skus.add(sku)
        if barcode:
            if not gtin_is_valid(barcode):
                errors.add(f"{path}.barcode", "Not a valid GTIN (check digit or length).")
            elif barcode in seen_barcodes:
                errors.add(f"{path}.barcode", f"Barcode {barcode} appears twice.")
            elif barcode in taken_barcodes:
                errors.add(f"{path}.barcode", f"Barcode used by SKU {taken_barcodes[barcode]}.")
            seen_barcodes.add(barcode)
        weight = variant.get("weight_grams")
        if weight not in (None, ""):
            try:
                if int(weight) < 0 or str(int(weight)) != str(weight).strip():
                    raise ValueError
            except (TypeError, ValueError):
                errors.add(f"{path}.weight_grams", "A whole number of grams, 0 or more.")
        for field in ("colour", "size"):
            if len(variant.get(field) or "") > (60 if field == "colour" else 30):
                errors.add(f"{path}.{field}", "Too long.")
        for code, listing in (variant.get("listings") or {}).items():
            _check_price(listing, f"{path}.listings.{code}", channels.get(code), errors)
            if "price" not in listing and (sku, code) not in priced:
                errors.add(f"{path}.listings.{code}.price", "Required for a new listing.")
    return errors.fields


# --- writes -----------------------------------------------------------------------------


def _feeds_changed():
    """Product data changed: regenerate the feeds once the transaction commits."""
    after_commit(schedule_regeneration)  # lost: beat's hourly catalog.regenerate_feeds


def product_changed(product_id: int, *, at=None) -> None:
    """What every write to a product ends with, whichever door made it (the admin too): the
    product is marked updated at `at` (now by default; partners read `updated_since`) and
    the feeds are regenerated once the transaction commits."""
    Product.objects.filter(pk=product_id).update(updated_at=at or timezone.now())
    _feeds_changed()


def _lock_or_create_product(slug, defaults):
    product = Product.objects.select_for_update().filter(slug=slug).first()
    if product:
        return product, False
    try:
        with transaction.atomic():
            return Product.objects.create(slug=slug, **defaults), True
    except IntegrityError:  # created concurrently by a retry of the same request
        return Product.objects.select_for_update().get(slug=slug), False


def upsert_product(data: dict) -> tuple[Product, bool]:
    """Create or update the product with `data["slug"]`, with its variants (by SKU),
    listings and prices (by channel code). Keys left out are left as they are, so a retry
    of the same body changes nothing. Returns `(product, created)`.

    `data`: slug, name, description, category (slug), brand (name), condition, is_active,
    translations {lang: {name, description}}, attributes {code: value}, media [{url,
    alt_text}], listings {channel: {is_listed, title, description, published_from,
    published_until}}, variants [{sku, barcode, colour, size, weight_grams, is_active,
    listings {channel: {is_listed, price, compare_at_price, currency}}}].

    Raises InvalidProductData naming every bad field; nothing is written then.
    """
    fields = check_product_input(data)
    if fields:
        raise InvalidProductData("Invalid input in: " + ", ".join(fields) + ".", fields=fields)
    with transaction.atomic():
        product, created = _apply_product(data)
        _feeds_changed()
    return product, created


def upsert_products(datas: list[dict], *, checked: bool = False) -> list[tuple[Product, bool]]:
    """`upsert_product` for many products in one transaction: all are written or none.
    Pass `checked=True` only when every item already passed `check_product_input` (the
    importer does, to report errors by line); raises InvalidProductData otherwise."""
    if not checked:
        for index, data in enumerate(datas):
            fields = check_product_input(data)
            if fields:
                raise InvalidProductData(
                    f"Product {index} is invalid.",
                    fields={f"{index}.{path}": messages for path, messages in fields.items()},
                )
    with transaction.atomic():
        results = [_apply_product(data) for data in datas]
        _feeds_changed()
    return results


def _apply_product(data: dict) -> tuple[Product, bool]:
    slug = data["slug"].strip()
    values = {f: data[f] for f in PRODUCT_FIELDS if f in data and data[f] is not None}
    if "category" in data:
        values["category"] = (
            Category.objects.get(slug=data["category"]) if data["category"] else None
        )
    if "brand" in data:
        values["brand"] = brand_named(data["brand"].strip()) if data["brand"] else None
    product, created = _lock_or_create_product(slug, values)
    if not created:
        changed = [f for f, v in values.items() if getattr(product, f) != v]
        if changed:
            for f in changed:
                setattr(product, f, values[f])
            product.save(update_fields=[*changed, "updated_at"])
        else:
            # Touch updated_at so `updated_since` readers see variant and price changes too.
            product.save(update_fields=["updated_at"])

    for language, text in (data.get("translations") or {}).items():
        ProductTranslation.objects.update_or_create(
            product=product,
            language=language,
            defaults={"name": text["name"], "description": text.get("description") or ""},
        )
    if data.get("attributes"):
        _set_attributes(product, data["attributes"])
    if "media" in data:
        product.media.filter(variant__isnull=True, image="").delete()
        ProductMedia.objects.bulk_create(
            ProductMedia(
                product=product,
                url=m["url"].strip(),
                alt_text=m.get("alt_text") or "",
                position=m.get("position", i),
            )
            for i, m in enumerate(data["media"])
        )

    listing_data = dict(data.get("listings") or {})
    for variant in data.get("variants") or []:
        for code in variant.get("listings") or {}:
            listing_data.setdefault(code, {})
    channels = _channels_by_code(listing_data)
    listings = {}
    for code, fields in listing_data.items():
        listings[code] = _upsert_listing(product, channels[code], fields)

    for index, item in enumerate(data.get("variants") or []):
        variant = _upsert_variant(product, item, index)
        for code, price in (item.get("listings") or {}).items():
            _upsert_variant_listing(listings[code], variant, price)
    return product, created


def _upsert_listing(product, channel, fields) -> ProductListing:
    values = {f: fields[f] for f in LISTING_FIELDS if f in fields}
    for text_field in ("title", "description"):
        if text_field in values and values[text_field] is None:
            values[text_field] = ""
    listing, created = ProductListing.objects.get_or_create(
        product=product, channel=channel, defaults=values
    )
    if not created and values:
        for f, v in values.items():
            setattr(listing, f, v)
        listing.save()
    return listing


def _upsert_variant(product, item, index) -> ProductVariant:
    values = {}
    for f in VARIANT_FIELDS:
        if f in item and item[f] is not None:
            values[f] = item[f]
    if values.get("weight_grams") == "":
        values["weight_grams"] = None
    elif "weight_grams" in values:
        values["weight_grams"] = int(values["weight_grams"])
    for f in ("barcode", "colour", "size"):
        if f in values:
            values[f] = str(values[f]).strip()
    sku = item["sku"].strip()
    variant = ProductVariant.objects.select_for_update().filter(sku=sku).first()
    if variant is None:
        values.setdefault("position", index)
        return ProductVariant.objects.create(product=product, sku=sku, **values)
    changed = [f for f, v in values.items() if getattr(variant, f) != v]
    if changed:
        for f in changed:
            setattr(variant, f, values[f])
        variant.save(update_fields=[*changed, "updated_at"])
    return variant


def _upsert_variant_listing(listing, variant, fields) -> VariantListing:
    currency = listing.channel.currency
    existing = VariantListing.objects.filter(listing=listing, variant=variant).first()
    errors = _Errors()
    price, compare = _check_price(fields, "price", listing.channel, errors)
    if existing is None:
        if price is None:
            raise InvalidProductData(
                f"{variant.sku} needs a price on {listing.channel.code}.",
                fields={"price": ["Required."]},
            )
        return VariantListing.objects.create(
            listing=listing,
            variant=variant,
            is_listed=fields.get("is_listed", True),
            price=Money(price, currency),
            compare_at_price=Money(compare, currency) if compare is not None else None,
        )
    if "is_listed" in fields:
        existing.is_listed = fields["is_listed"]
    if price is not None:
        existing.price = Money(price, currency)
    if "compare_at_price" in fields:
        existing.compare_at_price = Money(compare, currency) if compare is not None else None
    if existing.compare_at_price is not None and existing.compare_at_price <= existing.price:
        raise InvalidProductData(
            "The compare-at price must be above the price.",
            fields={"compare_at_price": ["Must be above the price."]},
        )
    existing.save()
    return existing


def _set_attributes(product, attributes: dict):
    known = {a.code: a for a in Attribute.objects.filter(code__in=list(attributes))}
    for code, raw in attributes.items():
        attribute = known[code]
        if raw in (None, ""):
            ProductAttributeValue.objects.filter(product=product, attribute=attribute).delete()
            continue
        text, number = attribute_value(attribute, raw)
        ProductAttributeValue.objects.update_or_create(
            product=product, attribute=attribute, defaults={"value": text, "number_value": number}
        )


def set_attributes(product: Product, attributes: dict) -> Product:
    """Set typed attribute values ({code: value}; empty clears). Raises InvalidProductData."""
    fields = check_product_input({"slug": product.slug, "attributes": attributes})
    if fields:
        raise InvalidProductData("Invalid attribute value.", fields=fields)
    with transaction.atomic():
        _set_attributes(product, attributes)
        product_changed(product.pk)
    return product


def channel_by_code(code: str) -> Channel:
    return channel_for(code, error=UnknownChannel)


def set_variant_price(
    variant: ProductVariant,
    channel: Channel,
    *,
    price,
    compare_at_price=None,
    is_listed: bool = True,
    currency: str | None = None,
) -> VariantListing:
    """List `variant` on `channel` at `price` (in the channel's currency), listing its
    product there too if it is not yet. Idempotent: the same call twice leaves one row.
    Raises InvalidProductData (bad price, compare-at not above price, wrong currency, a
    channel that does not sell)."""
    if not channel.sells:
        raise InvalidProductData(
            f"Channel {channel.code} does not sell.", fields={"channel": ["Does not sell."]}
        )
    fields = {"price": price, "compare_at_price": compare_at_price, "is_listed": is_listed}
    if currency:
        fields["currency"] = currency
    errors = _Errors()
    _check_price(fields, "", channel, errors)
    if errors:
        raise InvalidProductData(
            "Invalid price.", fields={k.lstrip("."): v for k, v in errors.fields.items()}
        )
    with transaction.atomic():
        variant = ProductVariant.objects.select_for_update().get(pk=variant.pk)
        listing, _created = ProductListing.objects.get_or_create(
            product_id=variant.product_id, channel=channel
        )
        result = _upsert_variant_listing(listing, variant, fields)
        product_changed(variant.product_id, at=result.updated_at)
    return result


def set_variant_prices(channel: Channel, rows: list[dict]) -> list[VariantListing]:
    """Several variants' prices on one channel at once, each row {"variant", "price",
    "compare_at_price", "is_listed"} as in `set_variant_price`. Every row is checked first
    and nothing is written unless all are good: InvalidProductData names each bad field as
    `<row index>.<field>` (`2.compare_at_price`), or `channel` for a channel that does not
    sell."""
    if not channel.sells:
        raise InvalidProductData(
            _("Channel %(channel)s does not sell.") % {"channel": channel.code},
            fields={"channel": [_("Does not sell.")]},
        )
    errors = _Errors()
    for index, row in enumerate(rows):
        _check_price(
            {
                "price": row.get("price"),
                "compare_at_price": row.get("compare_at_price"),
                "is_listed": row.get("is_listed", True),
            },
            str(index),
            channel,
            errors,
        )
    if errors:
        raise InvalidProductData(_("Invalid prices."), fields=errors.fields)
    with transaction.atomic():
        return [
            set_variant_price(
                row["variant"],
                channel,
                price=row.get("price"),
                compare_at_price=row.get("compare_at_price"),
                is_listed=row.get("is_listed", True),
            )
            for row in rows
        ]


def set_listing(product: Product, channel: Channel, **fields) -> ProductListing:
    """Set whether and how `product` is listed on `channel` (is_listed, title, description,
    published_from, published_until). Raises InvalidProductData."""
    unknown = set(fields) - set(LISTING_FIELDS)
    if unknown:
        raise InvalidProductData(
            "Unknown listing fields.", fields={f: ["Unknown field."] for f in unknown}
        )
    errors = _Errors()
    _check_listing(fields, "listing", channel, errors)
    if errors:
        raise InvalidProductData("Invalid listing.", fields=errors.fields)
    with transaction.atomic():
        listing = _upsert_listing(product, channel, fields)
        product_changed(product.pk, at=listing.updated_at)
    return listing


def set_translation(product: Product, language: str, *, name: str, description: str = ""):
    """Name and description of `product` in `language` (one of settings.LANGUAGES)."""
    if language not in LANGUAGE_CODES:
        raise InvalidProductData(
            "Not a shipped language.", fields={"language": ["Not a shipped language."]}
        )
    with transaction.atomic():
        translation, _created = ProductTranslation.objects.update_or_create(
            product=product, language=language, defaults={"name": name, "description": description}
        )
        _feeds_changed()
    return translation
