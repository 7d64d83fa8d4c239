"""`manage.py partitions [status|ensure|archive]`: the monthly partitions (core.partitioning).

manage.py partitions                      # each partitioned table: months, rows, size
manage.py partitions ensure               # what the daily beat does, now
manage.py partitions archive --dry-run    # what the retention policy would archive
manage.py partitions archive [--table customers_event] [--before 2024-12] [--to DIR]
"""

import argparse
import datetime as dt
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core import partitioning


def _month(text: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected a month as YYYY-MM, got {text!r}") from error


class Command(BaseCommand):
    help = (
        "Show, create ahead or archive the monthly partitions of the append-only tables "
        "(PostgreSQL). archive applies PARTITION_RETENTION_MONTHS, or --before YYYY-MM: each "
        "month wholly before the cutoff is written to DIR/<partition>.csv.gz, then dropped."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "action", nargs="?", default="status", choices=["status", "ensure", "archive"]
        )
        parser.add_argument(
            "--table", action="append", choices=sorted(partitioning.TABLES), help="Repeatable."
        )
        parser.add_argument("--before", type=_month, help="Archive months ending by YYYY-MM.")
        parser.add_argument("--to", help="Archive directory (default PARTITION_ARCHIVE_DIR).")
        parser.add_argument("--dry-run", action="store_true", help="List, archive nothing.")

    def handle(self, *args, action, table, before, to, dry_run, **options):
        tables = table or sorted(partitioning.TABLES)
        partitioned = [name for name in tables if partitioning.is_partitioned(name)]
        if not partitioned:
            self.stdout.write("No partitioned tables in this database (SQLite keeps one table).")
            return
        if action == "ensure":
            created = partitioning.ensure_partitions()
            for name, made in created.items():
                self.stdout.write(f"{name}: created {', '.join(made)}")
            if not created:
                self.stdout.write("Every partition needed already exists.")
        elif action == "archive":
            self._archive(partitioned, before, Path(to or settings.PARTITION_ARCHIVE_DIR), dry_run)
        else:
            self._status(partitioned)

    def _status(self, tables):
        for name in tables:
            parts = partitioning.partitions(name)
            months = [p.month for p in parts if p.month]
            policy = partitioning.retention_months(name)
            kept = f"{policy} months" if policy is not None else "for ever"
            span = f"{min(months):%Y-%m}..{max(months):%Y-%m}" if months else "no months"
            rows = sum(max(p.rows, 0) for p in parts)
            size = sum(p.size_bytes for p in parts) / 1024 / 1024
            default = next((p for p in parts if p.month is None), None)
            caught = max(default.rows, 0) if default else 0
            # The planner's figures: a month never analysed (new, or autovacuum off) counts 0.
            unknown = sum(1 for p in parts if p.rows < 0)
            note = f" ({unknown} partitions not analysed yet)" if unknown else ""
            self.stdout.write(
                f"{name}: {len(months)} months ({span}), ~{rows} rows{note}, {size:.1f} MB, "
                f"~{caught} rows in DEFAULT, retention {kept}"
            )

    def _archive(self, tables, before, to, dry_run):
        for name in tables:
            if before is None and partitioning.retention_months(name) is None:
                self.stdout.write(f"{name}: kept for ever (no retention policy); skipped.")
                continue
            try:
                done = partitioning.archive_partitions(name, before=before, to=to, dry_run=dry_run)
            except partitioning.RetentionError as error:
                raise CommandError(str(error)) from error
            if not done:
                self.stdout.write(f"{name}: nothing older than the cutoff.")
            for partition, rows, path in done:
                if dry_run:
                    noun = "row" if rows == 1 else "rows"
                    self.stdout.write(f"{name}: would archive {partition} ({rows} {noun})")
                else:
                    noun = "row" if rows == 1 else "rows"
                    self.stdout.write(f"{name}: archived {partition}, {rows} {noun} -> {path}")
