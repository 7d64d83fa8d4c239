"""`python manage.py revoke_api_key PREFIX`: refuse a key from now on."""

from django.core.management.base import BaseCommand, CommandError

from core.models import ApiKey
from core.services.api_keys import revoke_api_key


class Command(BaseCommand):
    help = "Revoke a partner API key by its prefix."

    def add_arguments(self, parser):
        parser.add_argument("prefix")

    def handle(self, *args, prefix, **options):
        api_key = ApiKey.objects.filter(prefix=prefix).first()
        if api_key is None:
            raise CommandError(f"No key with prefix {prefix!r}.")
        revoke_api_key(api_key)
        self.stdout.write(f"Revoked {api_key}.")
