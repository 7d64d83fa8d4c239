"""`python manage.py seed_demo --size small|medium|large [--seed N]`: fill the database with
demo data from every app's registered stages, with a progress bar per stage."""

from django.core.management.base import BaseCommand
from django.db import transaction

from core.demo import SIZES, DemoContext, run_stages


class Command(BaseCommand):
    help = "Create demo data (channels, staff logins and whatever each app registers)."

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=list(SIZES), default="small")
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same data.")
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing if channels already exist."
        )
        parser.add_argument(
            "--only", action="append", help="Run only stages whose key starts with this."
        )

    def handle(self, *args, size, seed, only, if_empty, verbosity, **options):
        from core.demo_data import DEMO_ADMIN
        from core.models import Channel

        if if_empty and Channel.objects.exists():
            self.stdout.write("Demo data already loaded; staff login: {} / {}".format(*DEMO_ADMIN))
            return
        ctx = DemoContext(size=size, seed=seed, quiet=verbosity == 0)
        with transaction.atomic():
            counts = run_stages(ctx, only=only)
        if verbosity == 0:
            return
        self.stdout.write(self.style.SUCCESS(f"Demo data ({size}, seed {seed}) created:"))
        for what, count in counts.items():
            self.stdout.write(f"  {count:>7}  {what}")
        logins = ctx.shared.get("logins")
        if logins:
            self.stdout.write(self.style.SUCCESS("Staff logins (demo only, change them):"))
            for username, password, role in logins:
                self.stdout.write(f"  {username:<20} {password:<18} {role}")
        for heading, lines in ctx.shared.get("notes", {}).items():
            self.stdout.write(self.style.SUCCESS(heading))
            for line in lines:
                self.stdout.write(f"  {line}")
