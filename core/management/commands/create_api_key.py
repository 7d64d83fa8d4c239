"""`python manage.py create_api_key NAME --scopes customers:write,inventory:write`

Prints the key once; only its digest is stored."""

from django.core.management.base import BaseCommand, CommandError

from core.models import Channel
from core.scopes import SCOPES, UnknownScope
from core.services.api_keys import create_api_key


class Command(BaseCommand):
    help = "Create a partner API key and print it once."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument(
            "--scopes", required=True, help=f"Comma-separated; known: {', '.join(sorted(SCOPES))}"
        )
        parser.add_argument("--rate", default="", help="e.g. 600/min; default: the API default")
        parser.add_argument("--channel", default=None, help="Code of the partner's own channel")

    def handle(self, *args, name, scopes, rate, channel, **options):
        channel_obj = None
        if channel:
            channel_obj = Channel.objects.filter(code=channel).first()
            if channel_obj is None:
                raise CommandError(f"No channel with code {channel!r}.")
        try:
            api_key, raw_key = create_api_key(
                name, scopes.split(","), rate=rate, channel=channel_obj
            )
        except UnknownScope as error:
            raise CommandError(str(error)) from error
        self.stderr.write(
            f"Created key {api_key.prefix} for {name!r} with {', '.join(api_key.scopes)}."
        )
        self.stderr.write("It is shown once; store it now:")
        self.stdout.write(raw_key)
