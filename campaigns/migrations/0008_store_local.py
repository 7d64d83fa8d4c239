"""Store-local marketing: coupons limited to stores or channels, and each customer's home
store (owner: store-local helper)."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0007_loyalty"),
        ("core", "0010_partition_outbox"),
        ("customers", "0014_store_local"),
        ("inventory", "0004_partition_stock_movements"),
    ]

    operations = [
        migrations.AddField(
            model_name="couponpool",
            name="allowed_channels",
            field=models.ManyToManyField(
                blank=True,
                help_text="Empty: every channel.",
                related_name="+",
                to="core.channel",
                verbose_name="only in these channels",
            ),
        ),
        migrations.AddField(
            model_name="couponpool",
            name="allowed_stores",
            field=models.ManyToManyField(
                blank=True,
                help_text="Empty: every store, and orders that name no store.",
                related_name="+",
                to="inventory.location",
                verbose_name="only in these stores",
            ),
        ),
        migrations.CreateModel(
            name="HomeStore",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("purchases", models.PositiveIntegerField(default=0, verbose_name="orders there")),
                ("visits", models.PositiveIntegerField(default=0, verbose_name="visits there")),
                ("last_at", models.DateTimeField(blank=True, null=True, verbose_name="last there")),
                (
                    "refreshed_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="worked out"
                    ),
                ),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="customers.customer",
                        verbose_name="customer",
                    ),
                ),
                (
                    "store",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="inventory.location",
                        verbose_name="home store",
                    ),
                ),
            ],
            options={
                "verbose_name": "home store",
                "verbose_name_plural": "home stores",
                "ordering": ["customer_id"],
            },
        ),
        migrations.AddIndex(
            model_name="homestore",
            index=models.Index(fields=["store", "customer"], name="campaigns_homestore_store"),
        ),
        migrations.AddIndex(
            model_name="homestore",
            index=models.Index(fields=["customer"], name="campaigns_homestore_customer"),
        ),
    ]
