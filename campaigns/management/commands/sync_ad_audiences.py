"""Sync segments to their ad platform audiences (and upload offline conversions) now."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from campaigns.models import AdAudience, SyncStatus
from campaigns.services import ad_audiences


class Command(BaseCommand):
    help = _(
        "Send each ad audience the hashes that joined or left its segment since the last "
        "sync, then upload new offline conversions. --dry-run counts and sends nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--audience", type=int, help=_("Only this audience (its id)."))
        parser.add_argument(
            "--dry-run", action="store_true", help=_("Count the changes; send nothing.")
        )

    def handle(self, *args, audience=None, dry_run=False, **options):
        if audience is not None:
            if not AdAudience.objects.filter(pk=audience).exists():
                raise CommandError(_("No ad audience with id %(id)s.") % {"id": audience})
            runs = [ad_audiences.sync_audience(audience, dry_run=dry_run, reason="command")]
        else:
            runs = ad_audiences.sync_all(dry_run=dry_run, reason="command")
        failed = False
        for run in runs:
            if run is None:
                self.stdout.write(
                    _("Audience %(id)s is being synced elsewhere.") % {"id": audience}
                )
                continue
            self.stdout.write(
                _("%(audience)s: %(status)s, %(added)d added, %(removed)d removed%(error)s")
                % {
                    "audience": run.audience,
                    "status": run.get_status_display(),
                    "added": run.added,
                    "removed": run.removed,
                    "error": f" ({run.error})" if run.error else "",
                }
            )
            failed = failed or run.status in (SyncStatus.FAILED, SyncStatus.RETRYING)
        if audience is None and not dry_run:
            result = ad_audiences.upload_conversions()
            self.stdout.write(_("Offline conversions: %(result)s") % {"result": result})
        if failed:
            raise CommandError(_("Some audiences were not synced; see their errors above."))
