"""Store-local marketing: coupons limited to stores or channels (owner: store-local helper)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0007_loyalty"),
    ]

    operations = []
