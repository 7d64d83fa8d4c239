"""Import products, variants and prices from a CSV or XLSX file (the export's shape)."""

import sys

from django.core.management.base import BaseCommand

from catalog.import_export import import_catalog


class Command(BaseCommand):
    help = "Import products from CSV/XLSX; nothing is written when any row is bad."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--dry-run", action="store_true", help="Check only; write nothing.")

    def handle(self, path, dry_run=False, **options):
        with open(path, "rb") as upload:
            report = import_catalog(upload, filename=path, dry_run=dry_run)
        for error in report.errors:
            self.stderr.write(f"line {error.line}, column {error.column or '-'}: {error.message}")
        summary = (
            f"{report.rows} rows: {report.products_created} new products, "
            f"{report.products_updated} updated, {report.variants} variants"
        )
        if report.errors:
            self.stderr.write(f"Nothing written; {len(report.errors)} problem(s). {summary}.")
            sys.exit(1)
        self.stdout.write(("Dry run, nothing written: " if dry_run else "Imported: ") + summary)
