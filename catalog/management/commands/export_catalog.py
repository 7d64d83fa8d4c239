"""Export products, variants and prices as CSV or XLSX (by the file's extension)."""

from django.core.management.base import BaseCommand

from catalog.import_export import export_csv_lines, export_xlsx


class Command(BaseCommand):
    help = "Export the catalog to a .csv or .xlsx file, in the shape import_catalog reads."

    def add_arguments(self, parser):
        parser.add_argument("path")

    def handle(self, path, **options):
        if path.lower().endswith(".xlsx"):
            export_xlsx(path)
        else:
            with open(path, "w", encoding="utf-8", newline="") as out:
                for line in export_csv_lines():
                    out.write(line)
        self.stdout.write(f"Exported to {path}")
