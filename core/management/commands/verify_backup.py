"""`manage.py verify_backup DIR`: restore a backup into a scratch database and compare."""

from django.core.management.base import BaseCommand, CommandError

from core.backups import BackupError, verify


class Command(BaseCommand):
    help = (
        "Restore DIR/database.dump into a scratch database (dropped afterwards) and compare "
        "every table's rows with DIR/manifest.json; exits non-zero on any difference."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory")

    def handle(self, *args, directory, **options):
        try:
            comparison = verify(directory)
        except BackupError as error:
            raise CommandError(str(error)) from error
        if not comparison.ok:
            for line in comparison.differences:
                self.stderr.write(line)
            raise CommandError(f"{len(comparison.differences)} tables differ from the manifest.")
        self.stdout.write(f"OK: {comparison.tables} tables restored with the manifest's rows.")
