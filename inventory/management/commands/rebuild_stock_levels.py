"""`python manage.py rebuild_stock_levels [--fix] [--location CODE]`: recompute every stock
level from the ledger and report where they differ (drift); with --fix, set the levels to
the ledger's figures. Exits 1 when drift was found and not fixed, so it can run in cron."""

from django.core.management.base import BaseCommand, CommandError

from catalog.selectors import skus_by_variant_id
from inventory.models import Location
from inventory.services import rebuild_levels


class Command(BaseCommand):
    help = "Compare stock levels with the ledger; report drift and optionally fix it."

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="Set levels to the ledger sum.")
        parser.add_argument("--location", action="append", help="Only this location code.")

    def handle(self, *args, fix, location, **options):
        location_ids = None
        if location:
            found = dict(Location.objects.filter(code__in=location).values_list("code", "id"))
            missing = sorted(set(location) - set(found))
            if missing:
                raise CommandError(f"Unknown location code(s): {', '.join(missing)}")
            location_ids = list(found.values())
        drift = rebuild_levels(fix=fix, location_ids=location_ids)
        if not drift:
            self.stdout.write(self.style.SUCCESS("No drift: every level equals its ledger sum."))
            return
        skus = skus_by_variant_id({v for v, *_ in drift})
        codes = dict(
            Location.objects.filter(pk__in={loc for _v, loc, *_ in drift}).values_list("id", "code")
        )
        for variant_id, location_id, actual, expected in drift:
            self.stdout.write(
                f"{skus.get(variant_id, variant_id)} @ {codes.get(location_id, location_id)}: "
                f"level {actual}, ledger {expected} ({expected - actual:+d})"
            )
        verdict = "fixed" if fix else "found (run with --fix to correct)"
        self.stdout.write(self.style.WARNING(f"{len(drift)} drifting level(s) {verdict}."))
        if not fix:
            raise SystemExit(1)
