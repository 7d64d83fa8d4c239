"""Loyalty points ledger, tiers and referrals (owner: lead)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0006_product_pair_scores"),
    ]

    operations = []
