"""Product reviews written on the signed review page, moderated by staff."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0013_timeline_index_carries_channel"),
        ("support", "0006_provider_connectors"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Review",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("order_number", models.CharField(max_length=50, verbose_name="order")),
                ("sku", models.CharField(max_length=64, verbose_name="SKU")),
                (
                    "product_id",
                    models.PositiveBigIntegerField(db_index=True, verbose_name="product id"),
                ),
                (
                    "product_name",
                    models.CharField(blank=True, max_length=255, verbose_name="product"),
                ),
                ("rating", models.PositiveSmallIntegerField(verbose_name="rating (1-5)")),
                ("text", models.TextField(blank=True, verbose_name="text")),
                ("photo", models.CharField(blank=True, max_length=255, verbose_name="photo")),
                (
                    "photo_content_type",
                    models.CharField(blank=True, max_length=30, verbose_name="photo type"),
                ),
                ("language", models.CharField(blank=True, max_length=10, verbose_name="language")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Waiting for moderation"),
                            ("approved", "Approved"),
                            ("rejected", "Rejected"),
                        ],
                        default="pending",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                (
                    "moderated_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="moderated"),
                ),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="written"),
                ),
                (
                    "updated_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="updated"),
                ),
                (
                    "conversation",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="review",
                        to="support.conversation",
                        verbose_name="conversation",
                    ),
                ),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="reviews",
                        to="customers.customer",
                        verbose_name="customer",
                    ),
                ),
                (
                    "moderated_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="moderated by",
                    ),
                ),
            ],
            options={
                "verbose_name": "review",
                "verbose_name_plural": "reviews",
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(fields=["status", "created_at"], name="support_review_status_idx"),
                    models.Index(fields=["order_number"], name="support_review_order_idx"),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("customer", "order_number", "sku"),
                        name="support_review_once_per_line",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("rating__gte", 1), ("rating__lte", 5)),
                        name="support_review_rating_1_5",
                    ),
                ],
            },
        ),
    ]
