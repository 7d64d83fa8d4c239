"""`python manage.py seed_demo --size small|medium|large [--seed N]`: fill the database with
demo data from every app's registered stages.

At the default verbosity it prints one progress line per stage (to stderr), a summary of what
it created, then the channels' demo secrets and the staff logins, last; the eager Celery
tasks' log lines and the emails the stages send are kept out of sight (`quiet_seeding`).
`--verbosity 2` shows all of it, with a progress bar per step and the stages' notes;
`--verbosity 0` prints nothing but errors. `demo_logins` prints the logins again later."""

import textwrap
import time
from contextlib import nullcontext

from django.core.management.base import BaseCommand
from django.db import transaction

from core.demo import SIZES, DemoContext, quiet_seeding, run_stages
from core.demo_data import write_credentials
from core.models import Channel

SUMMARY_WIDTH = 110  # the secrets' lines are as wide


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
        if if_empty and Channel.objects.exists():
            self.stdout.write("Demo data already loaded.")
            if verbosity:
                write_credentials(self.stdout, self.style)
            return
        ctx = DemoContext(size=size, seed=seed, quiet=verbosity == 0, transient_bars=verbosity == 1)
        started = time.monotonic()
        # quiet_seeding outlives the transaction: the eager tasks it enqueues run as it commits.
        with quiet_seeding() if verbosity < 2 else nullcontext(), transaction.atomic():
            counts = run_stages(ctx, only=only, announce=self._announce if verbosity else None)
        if verbosity == 0:
            return
        heading = f"Demo data ({size}, seed {seed}) created in {time.monotonic() - started:.1f} s:"
        if verbosity >= 2:
            self.stdout.write(self.style.SUCCESS(heading))
            for what, count in counts.items():
                self.stdout.write(f"  {count:>7}  {what}")
            for note_heading, lines in ctx.shared.get("notes", {}).items():
                self.stdout.write(self.style.SUCCESS(note_heading))
                for line in lines:
                    self.stdout.write(f"  {line}")
        else:
            # One paragraph starting with the heading: a few lines, not one per count. A NUL
            # holds each figure to its noun while wrapping ("17" never ends a line).
            summary = "; ".join(f"{count:,}\0{what}" for what, count in counts.items())
            lines = textwrap.wrap(f"{heading} {summary}", SUMMARY_WIDTH, subsequent_indent="  ")
            lines = [line.replace("\0", " ") for line in lines]
            self.stdout.write(self.style.SUCCESS(heading) + lines[0][len(heading) :])
            for line in lines[1:]:
                self.stdout.write(line)
        write_credentials(self.stdout, self.style)

    def _announce(self, number, total, stage):
        # Progress, not an error: stderr without the error colour.
        self.stderr.write(f"[{number:>2}/{total}] {stage.label}", style_func=str)
