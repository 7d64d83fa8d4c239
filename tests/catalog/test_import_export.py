"""Import and export: dry run, every bad row reported by line and column with nothing
written, the staff upload page and the management commands, and the round trip."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from catalog import services
from catalog.factories import (
    AttributeFactory,
    CategoryFactory,
    ProductTranslationFactory,
    gtin13,
    listed_product,
)
from catalog.import_export import export_csv_lines, export_rows, export_xlsx, import_catalog
from catalog.models import AttributeKind, Product, ProductVariant, VariantListing

pytestmark = pytest.mark.django_db

HEADER = (
    "product_slug,product_name,description,category,brand,name_fa,image_url,sku,barcode,"
    "colour,size,weight_grams,listed[web],price[web],compare_at_price[web],price[marketplace]"
)


def csv_file(*lines, name="catalog.csv"):
    return SimpleUploadedFile(name, ("\n".join([HEADER, *lines]) + "\n").encode(), "text/csv")


def good_lines():
    CategoryFactory(name="Shoes", slug="shoes")
    return [
        f"aria-runner,Aria Runner,Light,shoes,Aria,آریا,https://img.example.com/a.jpg,ARIA-BLK-38,{gtin13(1)},black,38,640,yes,89.00,99.00,3900000",
        f"aria-runner,,,,,,,ARIA-BLK-39,{gtin13(2)},black,39,650,yes,89.00,,3900000",
        f"city-tote,City Tote,Bag,,Aria,,https://img.example.com/t.jpg,TOTE-1,{gtin13(3)},tan,,900,no,45.00,,",
    ]


def test_dry_run_checks_and_writes_nothing(channels):
    report = import_catalog(csv_file(*good_lines()), dry_run=True)
    assert report.ok, report.errors
    assert (report.rows, report.products_created, report.variants) == (3, 2, 3)
    assert not report.applied
    assert not Product.objects.exists()


def test_import_creates_products_variants_and_prices(channels):
    report = import_catalog(csv_file(*good_lines()))
    assert report.ok and report.applied, report.errors
    runner = Product.objects.get(slug="aria-runner")
    assert runner.category.slug == "shoes" and runner.brand.name == "Aria"
    assert runner.translations.get(language="fa").name == "آریا"
    assert runner.variants.count() == 2
    web = VariantListing.objects.get(variant__sku="ARIA-BLK-38", listing__channel__code="web")
    assert (str(web.price), str(web.compare_at_price)) == ("$89.00", "$99.00")
    market = VariantListing.objects.get(
        variant__sku="ARIA-BLK-38", listing__channel__code="marketplace"
    )
    assert market.price.amount == 3900000 and str(market.price.currency) == "IRR"
    tote = VariantListing.objects.get(variant__sku="TOTE-1")
    assert tote.is_listed is False


def test_every_bad_row_is_reported_by_line_and_column_and_nothing_is_written(channels):
    lines = good_lines()
    lines += [
        "bad-1,Bad,,nowhere,,,,BAD-1,1234567890123,,,heavy,yes,10,,",  # line 5
        "bad-2,Bad 2,,,,,,ARIA-BLK-38,,,,,maybe,10,,",  # line 6: repeated SKU
        "bad-3,Bad 3,,,,,,BAD-3,,,,,yes,,,",  # line 7: listed without a price
        "bad-4,Bad 4,,,,,,BAD-4,,,,,yes,20,15,-5",  # line 8
        "aria-runner,Other name,,,,,,ARIA-BLK-40,,,,,yes,89,,",  # line 9: differs from line 2
        ",No slug,,,,,,NOSLUG,,,,,,,,",  # line 10
    ]
    report = import_catalog(csv_file(*lines))
    found = {(e.line, e.column) for e in report.errors}
    assert {
        (5, "category"),
        (5, "barcode"),
        (5, "weight_grams"),
        (6, "sku"),
        (7, "price[web]"),
        (8, "compare_at_price[web]"),
        (8, "price[marketplace]"),
        (9, "product_name"),
        (10, "product_slug"),
    } <= found, report.errors
    assert all(e.message for e in report.errors)
    assert not report.applied
    assert not Product.objects.exists()
    assert not ProductVariant.objects.exists()


def test_unknown_columns_and_channels_are_refused_in_the_header(channels):
    upload = SimpleUploadedFile(
        "x.csv", b"product_slug,sku,colour_name,price[mars]\nshoe,S-1,red,10\n", "text/csv"
    )
    report = import_catalog(upload)
    assert {(e.line, e.column) for e in report.errors} == {(1, "colour_name"), (1, "price[mars]")}


def export_text():
    return "".join(export_csv_lines())


def test_export_then_import_changes_nothing(channels):
    AttributeFactory(code="material", kind=AttributeKind.CHOICE, choices=["mesh", "leather"])
    product = listed_product(
        {channels["web"]: 89, channels["marketplace"]: 3_900_000, channels["web-az"]: 150},
        name="Aria Runner",
        variants=3,
    )
    ProductTranslationFactory(product=product, name="آریا رانر", description="سبک")

    services.set_attributes(product, {"material": "mesh"})
    services.set_variant_price(
        product.variants.first(), channels["web"], price="79", compare_at_price="89"
    )
    listed_product({channels["store"]: 20}, name="Mug", variants=1)
    before = export_text()
    rows = list(csv.reader(io.StringIO(before)))
    assert len(rows) == 1 + 4
    assert "price[web-az]" in rows[0] and "attribute[material]" in rows[0]

    upload = SimpleUploadedFile("round.csv", before.encode(), "text/csv")
    report = import_catalog(upload)
    assert report.ok and report.applied, report.errors
    assert report.products_unchanged == 2 and report.products_updated == 0
    assert report.products_created == 0 and report.new_variants == []
    assert export_text() == before
    assert VariantListing.objects.count() == 3 * 3 + 1


def test_xlsx_round_trip_keeps_barcodes_and_prices(channels, tmp_path):
    product = listed_product({channels["marketplace"]: 3_900_000}, name="Kettle", variants=2)
    path = tmp_path / "catalog.xlsx"
    export_xlsx(path)
    ProductVariant.objects.filter(product=product).update(colour="changed")
    with open(path, "rb") as handle:
        report = import_catalog(handle, filename="catalog.xlsx")
    assert report.ok and report.applied, report.errors
    assert set(product.variants.values_list("colour", flat=True)) == {"black"}
    header, *rows = list(export_rows())
    assert rows[0][header.index("barcode")] == product.variants.first().barcode


def test_staff_upload_page_dry_run_and_errors(client, staff_in_role, channels):
    client.force_login(staff_in_role("Merchandiser"))
    assert client.get("/catalog/import/").status_code == 200
    bad = csv_file("shoe,Shoe,,,,,,S-1,123,,,,yes,10,,")
    response = client.post("/catalog/import/", {"file": bad, "dry_run": "on"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "barcode" in page and "<td>2</td>" in page
    response = client.post("/catalog/import/", {"file": csv_file(*good_lines())})
    assert response.status_code == 200
    assert Product.objects.count() == 2
    export = client.get("/catalog/export.csv")
    assert export.status_code == 200
    text = b"".join(export.streaming_content).decode()
    assert "ARIA-BLK-38" in text
    assert client.get("/catalog/export.xlsx").status_code == 200


def test_support_agent_cannot_import(client, staff_in_role, channels):
    client.force_login(staff_in_role("Support agent"))
    assert client.post("/catalog/import/", {"file": csv_file(*good_lines())}).status_code == 403
    assert not Product.objects.exists()


def test_management_commands_import_and_export(channels, tmp_path, capsys):
    source = tmp_path / "in.csv"
    source.write_text("\n".join([HEADER, *good_lines()]) + "\n", encoding="utf-8")
    call_command("import_catalog", str(source), "--dry-run")
    assert "dry run" in capsys.readouterr().out.lower()
    assert not Product.objects.exists()
    call_command("import_catalog", str(source))
    assert Product.objects.count() == 2
    target = tmp_path / "out.xlsx"
    call_command("export_catalog", str(target))
    assert target.stat().st_size > 0
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "\nx,X,,,,,,X-1,1,,,,yes,1,,\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        call_command("import_catalog", str(bad))
    assert "line 2" in capsys.readouterr().err
