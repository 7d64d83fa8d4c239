"""Audiences synced to ad platforms (owner: ad-audiences helper)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0008_store_local"),
    ]

    operations = []
