"""Loyalty points ledger, tiers and referrals (owner: lead)."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0006_product_pair_scores"),
        ("catalog", "0005_catalog_imports"),
        ("core", "0010_partition_outbox"),
        ("customers", "0013_timeline_index_carries_channel"),
    ]

    operations = [
        migrations.CreateModel(
            name="LoyaltyTier",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=80, verbose_name="name")),
                ("currency", models.CharField(max_length=3, verbose_name="currency")),
                (
                    "minimum_spend",
                    models.DecimalField(
                        decimal_places=2, max_digits=14, verbose_name="minimum lifetime spend"
                    ),
                ),
                (
                    "earn_multiplier",
                    models.DecimalField(
                        decimal_places=2, default=1, max_digits=5, verbose_name="earn multiplier"
                    ),
                ),
            ],
            options={
                "verbose_name": "loyalty tier",
                "verbose_name_plural": "loyalty tiers",
                "ordering": ["currency", "minimum_spend"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("currency", "minimum_spend"),
                        name="campaigns_tier_one_per_threshold",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("earn_multiplier__gt", 0)),
                        name="campaigns_tier_multiplier_positive",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="Referral",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("code", models.CharField(max_length=20, verbose_name="code")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Waiting for her first order"),
                            ("credited", "Credited"),
                            ("refused", "Refused"),
                        ],
                        default="pending",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                (
                    "refusal",
                    models.CharField(blank=True, max_length=200, verbose_name="why refused"),
                ),
                (
                    "order_number",
                    models.CharField(blank=True, max_length=64, verbose_name="first order"),
                ),
                (
                    "referrer_points",
                    models.PositiveIntegerField(default=0, verbose_name="points to the referrer"),
                ),
                (
                    "referee_points",
                    models.PositiveIntegerField(
                        default=0, verbose_name="points to the new customer"
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="created"),
                ),
                ("decided_at", models.DateTimeField(blank=True, null=True, verbose_name="decided")),
                (
                    "referee",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="referrals_received",
                        to="customers.customer",
                        verbose_name="new customer",
                    ),
                ),
                (
                    "referrer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="referrals_made",
                        to="customers.customer",
                        verbose_name="referred by",
                    ),
                ),
            ],
            options={
                "verbose_name": "referral",
                "verbose_name_plural": "referrals",
                "ordering": ["-created_at"],
            },
        ),
        migrations.CreateModel(
            name="ReferralCode",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("code", models.CharField(max_length=20, unique=True, verbose_name="code")),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="created"),
                ),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="referral_codes",
                        to="customers.customer",
                        verbose_name="customer",
                    ),
                ),
            ],
            options={
                "verbose_name": "referral code",
                "verbose_name_plural": "referral codes",
            },
        ),
        migrations.CreateModel(
            name="LoyaltyEntry",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("earn", "Earned on an order"),
                            ("reverse", "Taken back by a return or cancellation"),
                            ("spend", "Spent on an order"),
                            ("release", "Given back (order cancelled)"),
                            ("expire", "Expired"),
                            ("referral", "Referral credit"),
                            ("adjust", "Adjustment"),
                        ],
                        max_length=10,
                        verbose_name="kind",
                    ),
                ),
                ("points", models.IntegerField(verbose_name="points")),
                (
                    "source",
                    models.CharField(
                        help_text="What caused it: an order, a return, a referral or a partner's key.",
                        max_length=120,
                        verbose_name="source",
                    ),
                ),
                (
                    "order_number",
                    models.CharField(
                        blank=True, db_index=True, max_length=64, verbose_name="order"
                    ),
                ),
                ("note", models.CharField(blank=True, max_length=300, verbose_name="note")),
                ("details", models.JSONField(blank=True, default=dict, verbose_name="details")),
                ("expires_at", models.DateTimeField(blank=True, null=True, verbose_name="expires")),
                (
                    "created_at",
                    models.DateTimeField(
                        db_index=True, default=django.utils.timezone.now, verbose_name="created"
                    ),
                ),
                (
                    "channel",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        to="core.channel",
                        verbose_name="channel",
                    ),
                ),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="loyalty_entries",
                        to="customers.customer",
                        verbose_name="customer",
                    ),
                ),
            ],
            options={
                "verbose_name": "loyalty entry",
                "verbose_name_plural": "loyalty entries",
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(
                        fields=["customer", "kind", "expires_at"],
                        name="campaigns_loyalty_expiry_idx",
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("customer", "source", "kind"), name="campaigns_loyalty_entry_once"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("points", 0), _negated=True),
                        name="campaigns_loyalty_entry_moves",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="LoyaltyRule",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=120, verbose_name="name")),
                ("currency", models.CharField(max_length=3, verbose_name="currency")),
                (
                    "points_per_unit",
                    models.DecimalField(
                        decimal_places=8,
                        help_text="Points earned per one unit of the currency spent (0 earns nothing).",
                        max_digits=16,
                        verbose_name="points per unit",
                    ),
                ),
                ("is_active", models.BooleanField(default=True, verbose_name="active")),
                (
                    "category",
                    models.ForeignKey(
                        blank=True,
                        help_text="Empty: every category. A category covers its subcategories.",
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        to="catalog.category",
                        verbose_name="category",
                    ),
                ),
                (
                    "channel",
                    models.ForeignKey(
                        blank=True,
                        help_text="Empty: every channel.",
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        to="core.channel",
                        verbose_name="channel",
                    ),
                ),
            ],
            options={
                "verbose_name": "loyalty earn rule",
                "verbose_name_plural": "loyalty earn rules",
                "ordering": ["currency", "name"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("points_per_unit__gte", 0)),
                        name="campaigns_loyalty_rule_not_negative",
                    )
                ],
            },
        ),
    ]
