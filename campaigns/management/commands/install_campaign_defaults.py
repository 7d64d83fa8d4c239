"""Install what campaigns ship with: ready-made segments, the WELCOME pool, the journeys and
their templates; bring shipped templates nobody edited up to the current version."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from campaigns.services import install_defaults


class Command(BaseCommand):
    help = _(
        "Make the shipped segments, coupon pool, journeys and templates that are missing, and "
        "update shipped templates nobody edited. Changes nothing else; safe to run again."
    )

    def handle(self, *args, **options):
        installed = install_defaults()
        self.stdout.write(
            _(
                "%(journeys)d journeys, %(templates)d templates, %(segments)d segments and "
                "%(pools)d coupon pools are installed; templates brought up to date: %(upgraded)s."
            )
            % {
                "journeys": len(installed["journeys"]),
                "templates": len(installed["templates"]),
                "segments": len(installed["segments"]),
                "pools": len(installed["pools"]),
                "upgraded": ", ".join(installed["upgraded"]) or _("none"),
            }
        )
