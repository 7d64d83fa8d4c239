"""Feed formats: one class a channel's document format (Google Merchant XML, Meta CSV, a
marketplace CSV, the printable HTML catalogue), each with the channel's rules an item must
pass and how one item is written.

Every format reads the same plain row (`FeedRow`, built by `catalog.services.feeds`); an item
that breaks any rule is left out and reported with every reason (a `Refusal`, e.g.
`title_too_long: 162 characters, at most 150`).
"""

from __future__ import annotations

import abc
import csv
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal
from html import escape as html_escape

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from catalog.models import FeedFormat, gtin_is_valid

# The Content-Security-Policy of a served feed file. The printable catalogue is one
# self-contained page (its style inline, partners' images, no script), unlike the staff
# pages whose policy is in settings; the middleware keeps a header a view has set.
FILE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: http: data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# --- one row, every format reads it -----------------------------------------------------


@dataclass
class FeedRow:
    id: str
    group_id: str
    title: str
    description: str
    link: str
    link_problem: str
    image_link: str
    image_alt: str
    price: Decimal
    compare_at_price: Decimal | None
    currency: str
    units: int
    gtin: str
    brand: str
    condition: str
    category: str
    colour: str
    size: str
    weight_grams: int | None
    product_id: int
    variant_id: int

    @property
    def availability(self):
        return "in_stock" if self.units > 0 else "out_of_stock"

    def money(self, amount: Decimal) -> str:
        return f"{amount:.2f} {self.currency}"


@dataclass
class Refusal:
    id: str
    title: str
    reasons: list[str] = field(default_factory=list)


# --- formats ----------------------------------------------------------------------------


def _too_long(name, value, limit):
    return f"{name}_too_long: {len(value)} characters, at most {limit}"


class Format(abc.ABC):
    code = ""
    extension = ""
    content_type = ""
    title_max = 150
    description_max = 5000

    def rules(self, row: FeedRow, feed) -> list[str]:
        reasons = []
        if not row.title:
            reasons.append("title_missing: the item has no title")
        elif len(row.title) > self.title_max:
            reasons.append(_too_long("title", row.title, self.title_max))
        if len(row.description) > self.description_max:
            reasons.append(_too_long("description", row.description, self.description_max))
        if row.price is None or row.price <= 0:
            reasons.append("price_missing: the price must be above 0")
        if row.currency != feed.channel.currency:
            reasons.append(
                f"price_currency: priced in {row.currency}, the channel sells in "
                f"{feed.channel.currency}"
            )
        if row.gtin and not gtin_is_valid(row.gtin):
            reasons.append(f"gtin_invalid: {row.gtin} has a wrong length or check digit")
        return reasons + self.extra_rules(row, feed)

    def extra_rules(self, row, feed):
        return []

    def head(self, feed) -> str:
        return ""

    @abc.abstractmethod
    def item(self, row: FeedRow) -> str:
        """One item of the feed, as text."""

    def tail(self, feed) -> str:
        return ""


def _x(value) -> str:
    text = _XML_ILLEGAL.sub("", str(value))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _web_rules(row, *, need_brand):
    reasons = []
    if not row.description:
        reasons.append("description_missing: the item has no description")
    if row.link_problem:
        reasons.append(row.link_problem)
    if not row.image_link:
        reasons.append("image_missing: the item has no image")
    elif not row.image_link.startswith(("http://", "https://")):
        reasons.append("image_link_not_absolute: the image link must start with http(s)://")
    if need_brand and not row.brand:
        reasons.append("brand_missing: the item has no brand")
    return reasons


class GoogleFormat(Format):
    """Google Merchant Center RSS 2.0 product feed with the g: namespace."""

    code = FeedFormat.GOOGLE
    extension = "xml"
    content_type = "application/xml; charset=utf-8"

    def extra_rules(self, row, feed):
        reasons = _web_rules(row, need_brand=False)
        if not row.gtin and not row.brand:
            reasons.append("identifier_missing: the item needs a GTIN or a brand")
        return reasons

    def head(self, feed):
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0">\n<channel>\n'
            f"<title>{_x(feed.channel.name)}</title>\n"
            f"<link>{_x(feed.product_url_template.split('{')[0])}</link>\n"
            f"<description>{_x(feed.channel.name)} products</description>\n"
        )

    def item(self, row):
        parts = [
            f"<g:id>{_x(row.id)}</g:id>",
            f"<g:item_group_id>{_x(row.group_id)}</g:item_group_id>",
            f"<g:title>{_x(row.title)}</g:title>",
            f"<g:description>{_x(row.description)}</g:description>",
            f"<g:link>{_x(row.link)}</g:link>",
            f"<g:image_link>{_x(row.image_link)}</g:image_link>",
            f"<g:availability>{row.availability}</g:availability>",
            f"<g:condition>{row.condition}</g:condition>",
        ]
        if row.compare_at_price and row.compare_at_price > row.price:
            parts.append(f"<g:price>{row.money(row.compare_at_price)}</g:price>")
            parts.append(f"<g:sale_price>{row.money(row.price)}</g:sale_price>")
        else:
            parts.append(f"<g:price>{row.money(row.price)}</g:price>")
        optional = (
            ("gtin", row.gtin),
            ("brand", row.brand),
            ("product_type", row.category),
            ("color", row.colour),
            ("size", row.size),
        )
        parts.extend(f"<g:{tag}>{_x(value)}</g:{tag}>" for tag, value in optional if value)
        if row.weight_grams:
            parts.append(f"<g:shipping_weight>{row.weight_grams} g</g:shipping_weight>")
        return "<item>" + "".join(parts) + "</item>\n"

    def tail(self, feed):
        return "</channel>\n</rss>\n"


class CsvFormat(Format):
    extension = "csv"
    content_type = "text/csv; charset=utf-8"
    columns: list[str] = []

    def _line(self, values) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(values)
        return buffer.getvalue()

    def head(self, feed):
        return self._line(self.columns)

    @abc.abstractmethod
    def values(self, row) -> list:
        """The CSV cells of one item, in `columns` order."""

    def item(self, row):
        return self._line(self.values(row))


class MetaFormat(CsvFormat):
    """Meta (Facebook / Instagram shop) catalogue CSV."""

    code = FeedFormat.META
    title_max = 200
    description_max = 9999
    columns = [
        "id",
        "title",
        "description",
        "availability",
        "condition",
        "price",
        "sale_price",
        "link",
        "image_link",
        "brand",
        "gtin",
        "item_group_id",
        "color",
        "size",
        "product_type",
    ]

    def extra_rules(self, row, feed):
        return _web_rules(row, need_brand=True)

    def values(self, row):
        on_sale = row.compare_at_price and row.compare_at_price > row.price
        return [
            row.id,
            row.title,
            row.description,
            row.availability.replace("_", " "),
            row.condition,
            row.money(row.compare_at_price if on_sale else row.price),
            row.money(row.price) if on_sale else "",
            row.link,
            row.image_link,
            row.brand,
            row.gtin,
            row.group_id,
            row.colour,
            row.size,
            row.category,
        ]


class MarketplaceFormat(CsvFormat):
    """A marketplace seller-centre CSV: GTIN and shipping weight are required there."""

    code = FeedFormat.MARKETPLACE
    title_max = 255
    description_max = 5000
    columns = [
        "sku",
        "gtin",
        "title",
        "description",
        "brand",
        "category",
        "price",
        "compare_at_price",
        "currency",
        "quantity",
        "weight_grams",
        "image_url",
        "colour",
        "size",
    ]

    def extra_rules(self, row, feed):
        reasons = []
        if not row.gtin:
            reasons.append("gtin_missing: the marketplace requires a GTIN")
        if not row.weight_grams:
            reasons.append("weight_missing: the marketplace requires a shipping weight")
        if not row.image_link:
            reasons.append("image_missing: the item has no image")
        if not row.brand:
            reasons.append("brand_missing: the item has no brand")
        return reasons

    def values(self, row):
        return [
            row.id,
            row.gtin,
            row.title,
            row.description,
            row.brand,
            row.category,
            f"{row.price:.2f}",
            f"{row.compare_at_price:.2f}" if row.compare_at_price else "",
            row.currency,
            row.units,
            row.weight_grams or "",
            row.image_link,
            row.colour,
            row.size,
        ]


class CatalogueFormat(Format):
    """A printable catalogue: one HTML page, a card per variant, laid out for A4."""

    code = FeedFormat.CATALOGUE
    extension = "html"
    content_type = "text/html; charset=utf-8"
    title_max = 80
    description_max = 600

    def extra_rules(self, row, feed):
        if not row.image_link:
            return ["image_missing: a printed card needs a picture"]
        return []

    def head(self, feed):
        language = settings.LANGUAGE_CODE
        direction = "rtl" if translation.get_language_bidi() else "ltr"
        title = html_escape(_("%(channel)s catalogue") % {"channel": feed.channel.name})
        return (
            f'<!doctype html>\n<html lang="{language}" dir="{direction}">\n<head>\n'
            f'<meta charset="utf-8">\n<title>{title}</title>\n<style>\n'
            "body{font-family:system-ui,sans-serif;margin:1.5cm}\n"
            ".cards{display:grid;grid-template-columns:repeat(3,1fr);gap:0.6cm}\n"
            ".card{border:1px solid #ccc;padding-block:0.3cm;padding-inline:0.3cm;"
            "break-inside:avoid}\n"
            ".card img{inline-size:100%;block-size:4cm;object-fit:contain}\n"
            ".card h2{font-size:12pt;margin-block:0.2cm}\n"
            ".price{font-weight:bold;text-align:end}\n.was{text-decoration:line-through;"
            "margin-inline-end:0.3cm;color:#777}\n.sku{color:#555;font-size:9pt}\n"
            "@page{size:A4;margin:1cm}\n@media print{body{margin:0}}\n"
            f'</style>\n</head>\n<body>\n<h1>{title}</h1>\n<div class="cards">\n'
        )

    def item(self, row):
        options = " · ".join(v for v in (row.colour, row.size) if v)
        was = (
            f'<span class="was">{html_escape(row.money(row.compare_at_price))}</span>'
            if row.compare_at_price and row.compare_at_price > row.price
            else ""
        )
        return (
            f'<article class="card" data-sku="{html_escape(row.id)}">'
            f'<img src="{html_escape(row.image_link)}" alt="{html_escape(row.image_alt or row.title)}">'
            f"<h2>{html_escape(row.title)}</h2>"
            f'<p class="options">{html_escape(options)}</p>'
            f'<p class="sku">{html_escape(row.id)}</p>'
            f'<p class="price">{was}<span class="now">{html_escape(row.money(row.price))}</span></p>'
            "</article>\n"
        )

    def tail(self, feed):
        return "</div>\n</body>\n</html>\n"


FORMATS: dict[str, Format] = {
    f.code: f for f in (GoogleFormat(), MetaFormat(), MarketplaceFormat(), CatalogueFormat())
}
FILENAMES = {f"{f.code}.{f.extension}": f.code for f in FORMATS.values()}
