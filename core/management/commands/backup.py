"""`manage.py backup DIR`: dump the PostgreSQL database with a manifest of its row counts."""

from django.core.management.base import BaseCommand, CommandError

from core.backups import BackupError, backup


class Command(BaseCommand):
    help = "Dump the database (pg_dump, custom format) and the row counts it holds into DIR."

    def add_arguments(self, parser):
        parser.add_argument("directory")

    def handle(self, *args, directory, **options):
        try:
            manifest = backup(directory)
        except BackupError as error:
            raise CommandError(str(error)) from error
        rows = sum(manifest["tables"].values())
        self.stdout.write(f"{len(manifest['tables'])} tables, {rows} rows dumped into {directory}")
