"""Catalog imports as jobs: an upload (CSV, XLSX) or JSON rows is checked at the door for
what can be judged at once (type, size, row count, a readable file), kept in the `imports`
storage as a CatalogImport, and run by a Celery worker through `import_export.import_catalog`,
the rule the command and the staff page use too. The row is written before the task is
published, so a broker that is down loses nothing: beat's `catalog.start_waiting_imports`
starts what waits."""

from __future__ import annotations

import csv
import io
import json
import logging
import zipfile
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import load_workbook

from catalog.errors import ImportTooLarge, InvalidImport
from catalog.import_export import import_catalog
from catalog.models import CatalogImport
from core.services.enqueue import enqueue, enqueue_after_commit

logger = logging.getLogger(__name__)

FORMATS = {
    "csv": {
        "text/csv",
        "text/plain",
        "application/csv",
        "text/comma-separated-values",
        "application/vnd.ms-excel",
        "application/octet-stream",
    },
    "xlsx": {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/zip",
        "application/octet-stream",
    },
}
# A queued import not started after this long lost its publish (broker down): sent again.
WAITING_SECONDS = 30
# The job's own limits (an import is one transaction; a big one takes minutes).
SOFT_TIME_LIMIT = 1800
TIME_LIMIT = 1900


def _file_error(message) -> InvalidImport:
    return InvalidImport(str(message), fields={"file": [str(message)]})


def _plain_name(name: str) -> str:
    name = "".join(ch for ch in (name or "") if ch.isprintable())
    return name[-255:] or "upload"


def check_upload(upload) -> tuple[str, int]:
    """The format ("csv" or "xlsx") and the number of data rows of an uploaded file.
    Raises ImportTooLarge past CATALOG_IMPORT_MAX_BYTES, InvalidImport naming `file` for
    any other type, a NUL byte, text that is not UTF-8, an XLSX that is no zip archive,
    an unreadable file, or more rows than CATALOG_IMPORT_MAX_ROWS."""
    limit = settings.CATALOG_IMPORT_MAX_BYTES
    if upload.size > limit:
        message = _("The file is %(size)d bytes; the limit is %(limit)d bytes.") % {
            "size": upload.size,
            "limit": limit,
        }
        raise ImportTooLarge(message, fields={"file": [message]}, limit=limit)
    name = upload.name or ""
    file_format = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    content_type = (getattr(upload, "content_type", "") or "").split(";")[0].strip().lower()
    if file_format not in FORMATS or (content_type and content_type not in FORMATS[file_format]):
        raise _file_error(
            _("Upload a .csv or .xlsx file (this one is %(type)s).")
            % {"type": content_type or name or "?"}
        )
    if upload.size == 0:
        raise _file_error(_("The file is empty."))
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    rows = _count_csv_rows(data) if file_format == "csv" else _count_xlsx_rows(data)
    if rows > settings.CATALOG_IMPORT_MAX_ROWS:
        raise _file_error(
            _("The file has %(rows)d rows; the limit is %(limit)d rows.")
            % {"rows": rows, "limit": settings.CATALOG_IMPORT_MAX_ROWS}
        )
    return file_format, rows


def _count_csv_rows(data: bytes) -> int:
    if b"\x00" in data:
        raise _file_error(_("The file holds a NUL byte: it is not a CSV text file."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _file_error(_("The file is not UTF-8 text; save the CSV as UTF-8.")) from None
    try:
        lines = [cells for cells in csv.reader(io.StringIO(text)) if any(c.strip() for c in cells)]
    except csv.Error as error:
        raise _file_error(_("Cannot read the CSV file: %(error)s") % {"error": error}) from None
    return max(len(lines) - 1, 0)


def _count_xlsx_rows(data: bytes) -> int:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise _file_error(_("Not an XLSX file: an XLSX file is a zip archive."))
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True)
        try:
            rows = 0
            for row in workbook.active.iter_rows(values_only=True):
                rows += 1 if any(row) else 0
                if rows > settings.CATALOG_IMPORT_MAX_ROWS + 1:
                    break  # enough to refuse it; a huge sheet is not read to the end here
        finally:
            workbook.close()
    except Exception:  # openpyxl raises many kinds (KeyError, BadZipFile, ...) for a bad file
        raise _file_error(_("Cannot read this XLSX file.")) from None
    return max(rows - 1, 0)


def create_import(
    *,
    source: str,
    upload=None,
    rows: list[dict] | None = None,
    dry_run: bool = False,
    user=None,
    api_key=None,
    start: bool = True,
) -> CatalogImport:
    """Keep an upload (checked by `check_upload`) or JSON rows as a queued import and,
    with `start`, hand it to a worker once the transaction commits (a lost publish waits
    for beat's sweep). Raises what `check_upload` raises; nothing is kept then."""
    if upload is not None:
        file_format, total = check_upload(upload)
        content = ContentFile(upload.read(), name=f"import.{file_format}")
        filename = _plain_name(upload.name)
    else:
        if len(rows or []) > settings.CATALOG_IMPORT_MAX_ROWS:
            message = _("%(rows)d rows; the limit is %(limit)d rows.") % {
                "rows": len(rows),
                "limit": settings.CATALOG_IMPORT_MAX_ROWS,
            }
            raise InvalidImport(message, fields={"rows": [message]})
        file_format, total, filename = "json", len(rows or []), "rows.json"
        body = json.dumps({"rows": rows}, ensure_ascii=False).encode()
        content = ContentFile(body, name="import.json")
    with transaction.atomic():
        job = CatalogImport(
            source=source,
            dry_run=dry_run,
            filename=filename,
            file_format=file_format,
            rows_total=total,
            created_by=user if user is not None and user.is_authenticated else None,
            api_key=api_key,
        )
        job.file.save(content.name, content, save=False)
        job.save()
        if start:
            # By name: catalog.tasks wraps this module's services.
            enqueue_after_commit("catalog.run_import", job.pk)
    return job


def run_import(import_id: int) -> CatalogImport | None:
    """Run the queued import `import_id`: check every row, and apply all of them in one
    transaction unless one is bad (then `refused`, nothing written) or it is a dry run.
    None when it is not queued any more (a duplicate delivery, another worker has it)."""
    claimed = CatalogImport.objects.filter(pk=import_id, status=CatalogImport.Status.QUEUED)
    if not claimed.update(status=CatalogImport.Status.RUNNING, started_at=timezone.now()):
        return None
    job = CatalogImport.objects.get(pk=import_id)

    def progress(rows):
        CatalogImport.objects.filter(pk=import_id).update(rows_done=rows)

    try:
        with job.file.open("rb") as stored:
            report = import_catalog(
                stored,
                filename=f"import.{job.file_format}",
                dry_run=job.dry_run,
                max_rows=settings.CATALOG_IMPORT_MAX_ROWS,
                on_progress=progress,
            )
    except Exception as error:
        logger.exception("catalog import %s failed", import_id)
        job.status = CatalogImport.Status.FAILED
        job.failure = _("The import failed; nothing was written: %(error)s") % {
            "error": f"{type(error).__name__}: {error}"[:500]
        }
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "failure", "finished_at"])
        return job
    job.status = CatalogImport.Status.REFUSED if report.errors else CatalogImport.Status.DONE
    job.rows_done = report.rows
    job.rows_total = max(job.rows_total, report.rows)
    job.products_created = report.products_created
    job.products_updated = report.products_updated
    job.products_unchanged = report.products_unchanged
    job.new_variants = report.new_variants
    job.errors = [error.as_dict() for error in report.errors]
    job.finished_at = timezone.now()
    job.save()
    return job


def start_waiting_imports(now=None) -> int:
    """Beat's sweep: send again the imports queued for longer than WAITING_SECONDS (their
    publish was lost), and mark failed those running past the job's time limit (the worker
    died; the import is one transaction, so nothing was written). Returns how many were
    sent."""
    now = now or timezone.now()
    stale = CatalogImport.objects.filter(
        status=CatalogImport.Status.RUNNING,
        started_at__lt=now - timedelta(seconds=TIME_LIMIT + 60),
    )
    stale.update(
        status=CatalogImport.Status.FAILED,
        finished_at=now,
        failure=_("The worker stopped before the import finished; nothing was written."),
    )
    waiting = CatalogImport.objects.filter(
        status=CatalogImport.Status.QUEUED,
        created_at__lt=now - timedelta(seconds=WAITING_SECONDS),
    ).values_list("pk", flat=True)
    return sum(1 for pk in waiting if enqueue("catalog.run_import", (pk,)))
