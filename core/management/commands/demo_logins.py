"""`python manage.py demo_logins`: print the demo's staff logins and the channels' webhook
secrets again, as `seed_demo` printed them at its end.

Read from the database: a login is listed while its user is active (a password changed since
shows as "(changed)", checked against the demo's known passwords), a secret while its value is
still the demo's (it starts with `demo-`; a real secret is never printed)."""

from django.core.management.base import BaseCommand, CommandError

from core.demo_data import write_credentials


class Command(BaseCommand):
    help = "Print the demo's staff logins and webhook secrets again (those still as seeded)."

    def handle(self, *args, **options):
        if not write_credentials(self.stdout, self.style):
            raise CommandError("No demo logins or secrets here: run `manage.py seed_demo` first.")
