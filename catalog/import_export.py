"""Import and export of products, variants and per-channel prices as CSV or XLSX.

One row per variant; product columns repeat on each of its rows:

    product_slug, product_name, description, category, brand, condition, product_active,
    name_fa, description_fa, image_url, image_alt, sku, barcode, colour, size, weight_grams,
    variant_active, attribute[<code>]..., listed[<channel>], price[<channel>],
    compare_at_price[<channel>]...

Prices are in the channel's currency. An import is all or nothing: every bad row is
reported by line number and column, and when any row is bad nothing is written. A dry run
checks everything and writes nothing either way. Export writes the same shape, so an
export imported again changes nothing. The same rows may come as JSON (`{"rows": [{column:
value}, ...]}`, the API's door): line N is then rows[N-1], and line 0 the columns' names.

The command, the staff page and the API's job (catalog.import_jobs) all call
`import_catalog`, so one rule decides what a good row is.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook

from catalog import services
from catalog.models import Attribute, Product, ProductMedia, ProductVariant, VariantListing
from core.exports import csv_lines, from_spreadsheet_cell, write_xlsx_rows
from core.models import Channel

PRODUCT_COLUMNS = [
    "product_slug",
    "product_name",
    "description",
    "category",
    "brand",
    "condition",
    "product_active",
    "name_fa",
    "description_fa",
    "image_url",
    "image_alt",
]
VARIANT_COLUMNS = ["sku", "barcode", "colour", "size", "weight_grams", "variant_active"]
FIXED_COLUMNS = PRODUCT_COLUMNS + VARIANT_COLUMNS
REQUIRED_COLUMNS = ["product_slug", "sku"]
CHANNEL_KEYS = ("listed", "price", "compare_at_price")
_BRACKETED = re.compile(r"^(attribute|listed|price|compare_at_price)\[([^\]]+)\]$")
TRUE = {"yes", "true", "1", "y"}
FALSE = {"no", "false", "0", "n"}


@dataclass
class RowError:
    line: int
    column: str
    message: str
    value: str = ""

    def as_dict(self):
        return {
            "line": self.line,
            "column": self.column,
            "value": self.value,
            "message": str(self.message),
        }


@dataclass
class ImportReport:
    dry_run: bool
    rows: int = 0
    products_created: int = 0
    products_updated: int = 0
    products_unchanged: int = 0
    variants: int = 0
    new_variants: list[str] = field(default_factory=list)  # SKUs not in the catalog yet
    errors: list[RowError] = field(default_factory=list)
    applied: bool = False

    @property
    def ok(self):
        return not self.errors

    def as_dict(self):
        return {
            "dry_run": self.dry_run,
            "applied": self.applied,
            "rows": self.rows,
            "products_created": self.products_created,
            "products_updated": self.products_updated,
            "products_unchanged": self.products_unchanged,
            "variants": self.variants,
            "new_variants": list(self.new_variants),
            "errors": [e.as_dict() for e in self.errors],
        }


# --- reading ----------------------------------------------------------------------------


class Formula(str):
    """A spreadsheet cell holding a formula: refused, since the value it would show is not
    in the file (and a formula is no product data)."""


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).strip()


def _xlsx_cell(cell) -> str:
    if getattr(cell, "data_type", None) == "f":
        return Formula(str(cell.value))
    return _cell(cell.value)


def _json_rows(upload) -> Iterator[tuple[int, list[str]]]:
    raw = upload.read()
    rows = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)["rows"]
    header: list[str] = []
    for row in rows:
        header += [key for key in row if key not in header]
    yield 0, header
    for number, row in enumerate(rows, 1):
        yield number, [_cell(row.get(column)) for column in header]


def read_rows(upload, filename: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of a CSV or XLSX file, the header being line 1; of JSON rows,
    the header (the keys, in order of appearance) being line 0 and rows[0] line 1. A formula
    cell of an XLSX file comes as a `Formula`."""
    if filename.lower().endswith(".json"):
        yield from _json_rows(upload)
        return
    if filename.lower().endswith(".xlsx"):
        workbook = load_workbook(upload, read_only=True, data_only=False)
        try:
            for number, row in enumerate(workbook.active.iter_rows(), 1):
                cells = [_xlsx_cell(cell) for cell in row]
                if any(cells):
                    yield number, cells
        finally:
            workbook.close()
        return
    raw = upload.read()
    text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    reader = csv.reader(io.StringIO(text))
    start = 1
    for cells in reader:
        if any(c.strip() for c in cells):
            yield start, [from_spreadsheet_cell(c.strip()) for c in cells]
        start = reader.line_num + 1


def _bool(value, default=True):
    value = value.strip().lower()
    if value == "":
        return default
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ValueError("Use yes or no.")


# --- importing --------------------------------------------------------------------------


@dataclass
class _Product:
    slug: str
    first_line: int
    values: dict = field(default_factory=dict)  # column -> (value, line)
    variants: list = field(default_factory=list)  # (line, row dict)


def _path_to_cell(path: str, product: _Product) -> tuple[int, str]:
    parts = path.split(".")
    if parts[0] == "variants" and len(parts) >= 3:
        line = product.variants[int(parts[1])][0]
        if parts[2] == "listings" and len(parts) >= 5:
            key = "price" if parts[4] in ("price", "currency") else parts[4]
            if key == "is_listed":
                key = "listed"
            return line, f"{key}[{parts[3]}]"
        return line, parts[2]
    column = {
        "slug": "product_slug",
        "name": "product_name",
        "description": "description",
        "category": "category",
        "condition": "condition",
        "brand": "brand",
    }.get(parts[0])
    if parts[0] == "translations":
        column = f"{parts[2] if len(parts) > 2 else 'name'}_{parts[1]}"
    elif parts[0] == "attributes":
        column = f"attribute[{parts[1]}]"
    elif parts[0] == "media":
        column = "image_url"
    elif parts[0] == "channel":
        column = f"price[{parts[1]}]"
    elif parts[0] == "listings":
        column = f"listed[{parts[1]}]"
    column = column or path
    line = product.values.get(column, (None, product.first_line))[1]
    return line, column


def _product_data(product: _Product, channel_codes, attribute_codes, errors) -> dict:
    v = {column: value for column, (value, _line) in product.values.items()}
    data = {"slug": product.slug}
    for column, key in (
        ("product_name", "name"),
        ("description", "description"),
        ("category", "category"),
        ("brand", "brand"),
        ("condition", "condition"),
    ):
        if v.get(column):
            data[key] = v[column]
    if "product_active" in v:
        try:
            data["is_active"] = _bool(v["product_active"])
        except ValueError as error:
            errors.append(
                RowError(product.values["product_active"][1], "product_active", str(error))
            )
    if v.get("name_fa"):
        data["translations"] = {
            "fa": {"name": v["name_fa"], "description": v.get("description_fa", "")}
        }
    elif v.get("description_fa"):
        errors.append(
            RowError(
                product.values["description_fa"][1], "name_fa", "Required with description_fa."
            )
        )
    if v.get("image_url"):
        data["media"] = [{"url": v["image_url"], "alt_text": v.get("image_alt", "")}]
    attributes = {
        code: v[f"attribute[{code}]"] for code in attribute_codes if v.get(f"attribute[{code}]")
    }
    if attributes:
        data["attributes"] = attributes
    listed_channels = set()
    variants = []
    for line, row in product.variants:
        variant = {"sku": row.get("sku", "")}
        for column in ("barcode", "colour", "size", "weight_grams"):
            if column in row:
                variant[column] = row[column] if column != "weight_grams" or row[column] else None
        if row.get("variant_active", "") != "":
            try:
                variant["is_active"] = _bool(row["variant_active"])
            except ValueError as error:
                errors.append(RowError(line, "variant_active", str(error)))
        listings = {}
        for code in channel_codes:
            price = row.get(f"price[{code}]", "")
            compare = row.get(f"compare_at_price[{code}]", "")
            listed_cell = row.get(f"listed[{code}]", "")
            if not (price or compare or listed_cell):
                continue
            try:
                is_listed = _bool(listed_cell)
            except ValueError as error:
                errors.append(RowError(line, f"listed[{code}]", str(error)))
                continue
            listings[code] = {
                "price": price,
                "compare_at_price": compare or None,
                "is_listed": is_listed,
            }
            if is_listed:
                listed_channels.add(code)
        if listings:
            variant["listings"] = listings
        variants.append(variant)
    data["variants"] = variants
    data["listings"] = {code: {"is_listed": True} for code in listed_channels}
    return data


PROGRESS_EVERY = 500


def import_catalog(
    upload,
    *,
    filename: str = "catalog.csv",
    dry_run: bool = False,
    max_rows: int | None = None,
    on_progress=None,
) -> ImportReport:
    """Check every row of `upload` (CSV, XLSX or JSON rows) and, unless any row is bad,
    create or update its products, variants and prices in one transaction. A dry run does
    the same in a transaction it rolls back, so what it reports (created, updated,
    unchanged) is what the import would do, and nothing is written. SKUs not in the catalog
    are listed in `new_variants` either way. More than `max_rows` rows: refused.
    `on_progress(rows)` is called as rows are read."""
    report = ImportReport(dry_run=dry_run)
    rows = read_rows(upload, filename)
    try:
        header_line, header = next(rows)
    except StopIteration:
        report.errors.append(RowError(1, "", "The file is empty."))
        return report
    except Exception as error:  # openpyxl and csv raise many kinds for a broken file
        report.errors.append(RowError(1, "", f"Cannot read the file: {error}"))
        return report

    channel_codes, attribute_codes = [], []
    known_channels = set(Channel.objects.values_list("code", flat=True))
    known_attributes = set(Attribute.objects.values_list("code", flat=True))
    for column in header:
        match = _BRACKETED.match(column)
        if column in FIXED_COLUMNS:
            continue
        if not match:
            report.errors.append(RowError(header_line, column, "Unknown column."))
        elif match.group(1) == "attribute":
            if match.group(2) not in known_attributes:
                report.errors.append(RowError(header_line, column, "Unknown attribute."))
            attribute_codes.append(match.group(2))
        else:
            if match.group(2) not in known_channels:
                report.errors.append(RowError(header_line, column, "Unknown channel."))
            elif match.group(2) not in channel_codes:
                channel_codes.append(match.group(2))
    for column in REQUIRED_COLUMNS:
        if column not in header:
            report.errors.append(RowError(header_line, column, "Required column is missing."))
    if len(set(header)) != len(header):
        report.errors.append(RowError(header_line, "", "A column appears twice."))
    if report.errors:
        return report

    products: dict[str, _Product] = {}
    cells_by_line: dict[int, dict] = {header_line: {column: column for column in header}}
    formulas: dict[tuple[int, str], RowError] = {}
    sku_lines: dict[str, int] = {}
    barcode_lines: dict[str, int] = {}
    try:
        for line, cells in rows:
            report.rows += 1
            if on_progress and report.rows % PROGRESS_EVERY == 0:
                on_progress(report.rows)
            if max_rows is not None and report.rows > max_rows:
                report.errors.append(
                    RowError(
                        line,
                        "",
                        _("More than %(limit)d rows; split the file.") % {"limit": max_rows},
                    )
                )
                return report
            for column, cell in zip(header, cells, strict=False):
                if isinstance(cell, Formula):
                    formulas[(line, column)] = RowError(
                        line, column, _("A formula; paste its value instead.")
                    )
            row = dict(zip(header, cells + [""] * (len(header) - len(cells)), strict=False))
            cells_by_line[line] = row
            if len(cells) > len(header) and any(cells[len(header) :]):
                report.errors.append(RowError(line, "", "More cells than columns."))
            slug = row.get("product_slug", "")
            if not slug:
                report.errors.append(RowError(line, "product_slug", "Required."))
                continue
            product = products.setdefault(slug, _Product(slug=slug, first_line=line))
            for column in PRODUCT_COLUMNS + [f"attribute[{c}]" for c in attribute_codes]:
                value = row.get(column, "")
                if column not in header or (value == "" and column in product.values):
                    continue
                if column in product.values and product.values[column][0] not in ("", value):
                    report.errors.append(
                        RowError(
                            line,
                            column,
                            f"Differs from line {product.values[column][1]} of the same product.",
                        )
                    )
                elif value != "" or column not in product.values:
                    product.values[column] = (value, line)
            sku = row.get("sku", "")
            if sku and sku in sku_lines:
                report.errors.append(RowError(line, "sku", f"SKU repeats line {sku_lines[sku]}."))
                continue
            sku_lines[sku] = line
            barcode = row.get("barcode", "")
            if barcode and barcode in barcode_lines:
                report.errors.append(
                    RowError(line, "barcode", f"Barcode repeats line {barcode_lines[barcode]}.")
                )
            barcode_lines.setdefault(barcode, line)
            product.variants.append((line, row))
    except (csv.Error, UnicodeDecodeError) as error:
        report.errors.append(RowError(report.rows + 1, "", f"Cannot read the file: {error}"))
        return report
    if on_progress:
        on_progress(report.rows)

    datas = []
    existing = set(Product.objects.filter(slug__in=list(products)).values_list("slug", flat=True))
    for product in products.values():
        data = _product_data(product, channel_codes, attribute_codes, report.errors)
        for path, messages in services.check_product_input(data).items():
            line, column = _path_to_cell(path, product)
            for message in messages:
                report.errors.append(RowError(line, column, message))
        datas.append(data)
        report.variants += len(data["variants"])
        if product.slug in existing:
            report.products_updated += 1
        else:
            report.products_created += 1
    skus = [v["sku"] for data in datas for v in data["variants"] if v.get("sku")]
    known_skus = set(ProductVariant.objects.filter(sku__in=skus).values_list("sku", flat=True))
    report.new_variants = [sku for sku in skus if sku not in known_skus]
    # A formula's cell is reported as such, not again for the formula's text.
    report.errors = [e for e in report.errors if (e.line, e.column) not in formulas]
    report.errors += formulas.values()
    report.errors.sort(key=lambda e: (e.line, e.column))
    for error in report.errors:
        error.value = str(cells_by_line.get(error.line, {}).get(error.column, ""))
    if report.errors:
        return report
    slugs = list(products)
    with transaction.atomic():
        before = _catalog_state(slugs)
        services.upsert_products(datas, checked=True)
        after = _catalog_state(slugs)
        if dry_run:
            transaction.set_rollback(True)
    report.products_updated = report.products_unchanged = 0
    for slug in slugs:
        if slug not in before:
            continue
        if before[slug] == after.get(slug):
            report.products_unchanged += 1
        else:
            report.products_updated += 1
    report.applied = not dry_run
    return report


def _catalog_state(slugs) -> dict[str, frozenset]:
    """Each product's export cells (without the empty ones), to tell which an import
    changed: the export is exactly what an import can set."""
    state: dict[str, set] = {}
    rows = export_rows(Product.objects.filter(slug__in=slugs))
    header = next(rows)
    for row in rows:
        cells = state.setdefault(row[0], set())
        sku = row[header.index("sku")]
        cells.update(
            (sku, column, value) for column, value in zip(header, row, strict=True) if value
        )
    return {slug: frozenset(cells) for slug, cells in state.items()}


# --- exporting --------------------------------------------------------------------------


def export_header(channel_codes, attribute_codes) -> list[str]:
    return (
        FIXED_COLUMNS
        + [f"attribute[{code}]" for code in attribute_codes]
        + [f"{key}[{code}]" for code in channel_codes for key in CHANNEL_KEYS]
    )


def export_columns():
    channels = list(
        Channel.objects.filter(product_listings__isnull=False)
        .distinct()
        .order_by("code")
        .values_list("code", flat=True)
    )
    attributes = list(
        Attribute.objects.filter(values__isnull=False)
        .distinct()
        .order_by("code")
        .values_list("code", flat=True)
    )
    return channels, attributes


def export_rows(products=None, *, chunk=500) -> Iterator[list[str]]:
    """The header, then one row per variant, read `chunk` products at a time."""
    channel_codes, attribute_codes = export_columns()
    yield export_header(channel_codes, attribute_codes)
    products = (products if products is not None else Product.objects.all()).order_by("id")
    products = products.select_related("brand", "category").prefetch_related(
        "translations",
        "attribute_values__attribute",
        "listings__channel",
        Prefetch(
            "media",
            queryset=ProductMedia.objects.filter(variant__isnull=True).order_by("position", "id"),
        ),
        Prefetch(
            "variants",
            queryset=ProductVariant.objects.order_by("position", "id").prefetch_related(
                Prefetch(
                    "listings", queryset=VariantListing.objects.select_related("listing__channel")
                )
            ),
        ),
    )
    for product in products.iterator(chunk_size=chunk):
        fa = next((t for t in product.translations.all() if t.language == "fa"), None)
        media = next(iter(product.media.all()), None)
        attributes = {v.attribute.code: v.value for v in product.attribute_values.all()}
        listing_live = {pl.channel.code: pl.is_listed for pl in product.listings.all()}
        base = [
            product.slug,
            product.name,
            product.description,
            product.category.slug if product.category_id else "",
            product.brand.name if product.brand_id else "",
            product.condition,
            "yes" if product.is_active else "no",
            fa.name if fa else "",
            fa.description if fa else "",
            media.url if media else "",
            media.alt_text if media else "",
        ]
        for variant in product.variants.all():
            prices = {vl.listing.channel.code: vl for vl in variant.listings.all()}
            row = base + [
                variant.sku,
                variant.barcode,
                variant.colour,
                variant.size,
                "" if variant.weight_grams is None else str(variant.weight_grams),
                "yes" if variant.is_active else "no",
            ]
            row += [attributes.get(code, "") for code in attribute_codes]
            for code in channel_codes:
                vl = prices.get(code)
                if vl is None:
                    row += ["", "", ""]
                    continue
                listed = vl.is_listed and listing_live.get(code, False)
                row += [
                    "yes" if listed else "no",
                    f"{vl.price.amount:.2f}",
                    f"{vl.compare_at_price.amount:.2f}" if vl.compare_at_price else "",
                ]
            yield row


def export_csv_lines(products=None) -> Iterator[str]:
    """The export as CSV lines; a cell a spreadsheet would run as a formula is quoted."""
    return csv_lines(export_rows(products))


def export_xlsx(target, products=None):
    """Write the export as XLSX to `target` (a path or file); every cell is text, so
    barcodes keep their leading zeros."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("catalog")
    write_xlsx_rows(sheet, export_rows(products))
    workbook.save(target)
