"""Catalog import for partners (POST /api/v1/catalog/imports): a 200-line file with two bad
rows refused in full with both reported by line and column, then applied once fixed; dry runs
that name new variants and write nothing; idempotent retries; scopes; every bad file a named
4xx; the beat sweep; the staff page's history."""

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import encode_multipart
from django.utils import timezone
from openpyxl import Workbook

from catalog import import_jobs
from catalog.factories import listed_product
from catalog.models import CatalogImport, Product, ProductVariant, VariantListing
from tests.core.test_fault_broker_and_cache import broker_at  # noqa: F401 (fixture)
from tests.query_counts import assert_queries_do_not_grow
from tests.receivers import free_port

pytestmark = pytest.mark.django_db

URL = "/api/v1/catalog/imports"
HEADER = "product_slug,product_name,sku,size,listed[web],price[web]"
BAD = {57: "price[web]", 150: "listed[web]"}  # line -> the column made bad


def catalog_csv(bad=()):
    """200 data rows (lines 2 to 201): 100 products of two sizes each."""
    lines = [HEADER]
    for index in range(200):
        line = index + 2
        price = "abc" if BAD.get(line) == "price[web]" and line in bad else "19.90"
        listed = "maybe" if BAD.get(line) == "listed[web]" and line in bad else "yes"
        lines.append(f"tee-{index // 2},Tee {index // 2},TEE-{index},{index % 2},{listed},{price}")
    return ("\n".join(lines) + "\n").encode()


def upload(content, name="catalog.csv", content_type="text/csv"):
    return SimpleUploadedFile(name, content, content_type)


def post(api, data, callbacks, **extra):
    with callbacks(execute=True):
        return api.post(URL, data, format="multipart" if "file" in data else "json", **extra)


def test_200_lines_with_two_bad_rows_refused_in_full_then_applied_once_fixed(
    api_client_for, channels, django_capture_on_commit_callbacks
):
    api = api_client_for("catalog:write")
    refused = post(api, {"file": upload(catalog_csv(bad=BAD))}, django_capture_on_commit_callbacks)
    assert refused.status_code == 202, refused.content
    assert refused["Location"].endswith(f"{URL}/{refused.json()['id']}")
    job = api.get(refused["Location"]).json()
    assert job["status"] == "refused"
    assert [(e["line"], e["column"], e["value"]) for e in job["errors"]] == [
        (57, "price[web]", "abc"),
        (150, "listed[web]", "maybe"),
    ]
    assert all(e["message"] for e in job["errors"])
    assert job["progress"] == {"rows_done": 200, "rows_total": 200}
    assert not Product.objects.exists() and not ProductVariant.objects.exists()

    applied = post(api, {"file": upload(catalog_csv())}, django_capture_on_commit_callbacks)
    job = api.get(applied.json()["url"]).json()
    assert (job["status"], job["errors"]) == ("done", [])
    assert job["counts"] == {"created": 100, "updated": 0, "unchanged": 0, "new_variants": 200}
    assert Product.objects.count() == 100 and ProductVariant.objects.count() == 200
    assert str(VariantListing.objects.get(variant__sku="TEE-7").price.amount) == "19.90"
    assert CatalogImport.objects.get(pk=job["id"]).api_key == api.api_key


def test_dry_run_names_new_variants_and_writes_nothing(
    api_client_for, channels, django_capture_on_commit_callbacks
):
    product = listed_product({channels["web"]: 30}, name="Mug", variants=1)
    known = product.variants.get()
    api = api_client_for("catalog:write")
    rows = [
        {"product_slug": product.slug, "sku": known.sku, "price[web]": 25, "listed[web]": True},
        {"product_slug": product.slug, "sku": "MUG-BLUE", "colour": "blue", "price[web]": "25"},
    ]
    response = post(api, {"rows": rows, "dry_run": True}, django_capture_on_commit_callbacks)
    assert response.status_code == 202, response.content
    job = api.get(response.json()["url"]).json()
    assert (job["status"], job["dry_run"], job["errors"]) == ("done", True, [])
    assert job["new_variants"] == ["MUG-BLUE"]
    assert job["counts"] == {"created": 0, "updated": 1, "unchanged": 0, "new_variants": 1}
    assert not ProductVariant.objects.filter(sku="MUG-BLUE").exists()
    assert VariantListing.objects.get(variant=known).price.amount == 30

    rows[1]["price[web]"] = {"amount": 25}
    nested = api.post(URL, {"rows": rows}, format="json")
    assert nested.status_code == 400
    assert "rows.1.price[web]" in nested.json()["error"]["fields"]


def test_same_idempotency_key_returns_the_same_import(
    api_client_for, channels, django_capture_on_commit_callbacks
):
    api = api_client_for("catalog:write")
    content = catalog_csv()
    answers = []
    for boundary in ("first-boundary-a1", "second-boundary-b2"):  # a client draws a new one
        body = encode_multipart(boundary, {"file": upload(content), "dry_run": "true"})
        with django_capture_on_commit_callbacks(execute=True):
            answers.append(
                api.post(
                    URL,
                    body,
                    content_type=f"multipart/form-data; boundary={boundary}",
                    HTTP_IDEMPOTENCY_KEY="import-2026-12-04",
                )
            )
    first, retry = answers
    assert first.status_code == retry.status_code == 202
    assert retry["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == retry.json()["id"]
    assert CatalogImport.objects.count() == 1


def test_scopes(api_client_for, channels, django_capture_on_commit_callbacks):
    reader = api_client_for("catalog:read")
    assert (
        reader.post(URL, {"rows": [{"product_slug": "x", "sku": "X"}]}, format="json").status_code
        == 403
    )
    other = api_client_for("inventory:write")
    assert other.post(URL, {"file": upload(catalog_csv())}, format="multipart").status_code == 403
    assert not CatalogImport.objects.exists()
    writer = api_client_for("catalog:write")
    job = post(writer, {"file": upload(catalog_csv())}, django_capture_on_commit_callbacks).json()
    assert reader.get(job["url"]).status_code == 200
    assert api_client_for("customers:read").get(job["url"]).status_code == 403
    assert reader.get(f"{URL}/999999").status_code == 404


def xlsx_bytes(rows):
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    target = io.BytesIO()
    workbook.save(target)
    return target.getvalue()


@pytest.mark.parametrize(
    "name,content,content_type,status,field",
    [
        ("photo.png", b"\x89PNG\r\n", "image/png", 400, "file"),
        ("catalog.csv", b"product_slug,sku\nshoe,S\x00-1\n", "text/csv", 400, "file"),
        ("catalog.csv", "product_slug,sku\nشو,س\n".encode("utf-16"), "text/csv", 400, "file"),
        ("catalog.xlsx", b"product_slug,sku\n", "application/octet-stream", 400, "file"),
        ("catalog.csv", b"", "text/csv", 400, "file"),
    ],
)
def test_bad_files_are_a_named_4xx(api_client_for, name, content, content_type, status, field):
    response = api_client_for("catalog:write").post(
        URL, {"file": upload(content, name, content_type)}, format="multipart"
    )
    assert response.status_code == status, response.content
    assert field in response.json()["error"]["fields"]
    assert not CatalogImport.objects.exists()


def test_limits_name_themselves(api_client_for, settings):
    api = api_client_for("catalog:write")
    settings.CATALOG_IMPORT_MAX_BYTES = 1000
    too_big = api.post(URL, {"file": upload(catalog_csv())}, format="multipart")
    assert too_big.status_code == 413
    error = too_big.json()["error"]
    assert (error["code"], error["limit"]) == ("import_too_large", 1000) and "file" in error[
        "fields"
    ]
    settings.CATALOG_IMPORT_MAX_BYTES = 10**6
    settings.CATALOG_IMPORT_MAX_ROWS = 150
    too_long = api.post(URL, {"file": upload(catalog_csv())}, format="multipart")
    assert too_long.status_code == 400 and "150" in too_long.json()["error"]["fields"]["file"][0]
    rows = [{"product_slug": "x", "sku": f"X-{n}"} for n in range(151)]
    assert "rows" in api.post(URL, {"rows": rows}, format="json").json()["error"]["fields"]
    assert api.post(URL, {}, format="multipart").json()["error"]["fields"].keys() == {"file"}
    wrong = api.post(URL, b"product_slug,sku", content_type="text/csv")
    assert wrong.status_code == 415
    assert not CatalogImport.objects.exists()


def test_formula_cells_are_refused_by_line_and_column(
    api_client_for, channels, django_capture_on_commit_callbacks
):
    api = api_client_for("catalog:write")
    content = xlsx_bytes(
        [["product_slug", "product_name", "sku", "price[web]"], ["cup", "Cup", "CUP-1", "=2*5"]]
    )
    response = post(
        api,
        {"file": upload(content, "catalog.xlsx", "application/octet-stream")},
        django_capture_on_commit_callbacks,
    )
    assert response.status_code == 202, response.content
    job = api.get(response.json()["url"]).json()
    assert job["status"] == "refused"
    assert [(e["line"], e["column"], e["value"]) for e in job["errors"]] == [
        (2, "price[web]", "=2*5")
    ]
    assert not Product.objects.exists()


def test_a_lost_publish_is_started_by_the_sweep(channels):
    job = import_jobs.create_import(
        source=CatalogImport.Source.API, upload=upload(catalog_csv()), start=False
    )
    assert import_jobs.start_waiting_imports() == 0  # not waiting long enough yet
    CatalogImport.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert import_jobs.start_waiting_imports() == 1
    job.refresh_from_db()
    assert job.status == CatalogImport.Status.DONE and Product.objects.count() == 100


def test_with_the_broker_down_the_import_is_accepted_and_waits_for_the_sweep(
    api_client_for,
    channels,
    broker_at,
    django_capture_on_commit_callbacks,  # noqa: F811
):
    api = api_client_for("catalog:write")
    broker_at(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    response = post(api, {"file": upload(catalog_csv())}, django_capture_on_commit_callbacks)
    assert response.status_code == 202 and response.json()["status"] == "queued"
    broker_at(None)  # the broker is back (tasks run in-process again)
    CatalogImport.objects.update(created_at=timezone.now() - timedelta(minutes=5))
    assert import_jobs.start_waiting_imports() == 1
    assert api.get(response["Location"]).json()["status"] == "done"
    assert Product.objects.count() == 100


def test_staff_page_shows_every_import_in_its_history(
    client, staff_in_role, api_client_for, channels, django_capture_on_commit_callbacks
):
    post(
        api_client_for("catalog:write"),
        {"file": upload(catalog_csv(bad=BAD))},
        django_capture_on_commit_callbacks,
    )
    client.force_login(staff_in_role("Merchandiser"))
    page = client.get("/catalog/import/")
    assert page.status_code == 200
    history = page.content.decode().split('id="import-history"')[1]
    assert "catalog.csv" in history and "Refused" in history
    response = client.post("/catalog/import/", {"file": upload(catalog_csv()), "dry_run": "on"})
    assert response.status_code == 200
    text = response.content.decode()
    assert "TEE-0" in text and not Product.objects.exists()
    assert CatalogImport.objects.filter(source="staff", dry_run=True, status="done").exists()


def test_the_import_and_the_history_read_in_a_few_queries(
    client, staff_in_role, api_client_for, channels, django_assert_max_num_queries
):
    writer = api_client_for("catalog:write").api_key

    def add_imports(n):
        for _ in range(n):
            import_jobs.create_import(
                source=CatalogImport.Source.API,
                upload=upload(catalog_csv()),
                api_key=writer,
                start=False,
            )

    add_imports(1)
    reader = api_client_for("catalog:read")
    job = CatalogImport.objects.first()
    with django_assert_max_num_queries(6):
        assert reader.get(f"{URL}/{job.pk}").status_code == 200
    client.force_login(staff_in_role("Merchandiser"))

    def fetch_history():
        assert client.get("/catalog/import/").status_code == 200

    # The history page costs the same with 3 imports as with 12: no query per row.
    assert_queries_do_not_grow(add_imports, fetch_history, at_most=15)
