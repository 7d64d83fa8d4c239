"""Audiences synced to ad platforms (owner: ad-audiences helper)."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0008_store_local"),
        ("customers", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="AdAudience",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "platform",
                    models.CharField(
                        choices=[
                            ("google_ads", "Google Ads (Customer Match)"),
                            ("meta", "Meta (Custom Audiences)"),
                        ],
                        max_length=20,
                        verbose_name="platform",
                    ),
                ),
                (
                    "external_id",
                    models.CharField(
                        help_text="Google Ads: the user list id. Meta: the custom audience id.",
                        max_length=64,
                        verbose_name="list id at the platform",
                    ),
                ),
                (
                    "account_id",
                    models.CharField(
                        blank=True,
                        help_text="Google Ads: the customer id (digits, no dashes). Meta: the ad account id. Empty: the account from the settings.",
                        max_length=64,
                        verbose_name="account id",
                    ),
                ),
                (
                    "is_enabled",
                    models.BooleanField(default=True, verbose_name="synced on schedule"),
                ),
                (
                    "last_synced_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="last synced"),
                ),
                ("last_error", models.TextField(blank=True, verbose_name="last error")),
                (
                    "last_error_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="last error at"),
                ),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="created"),
                ),
                (
                    "segment",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="ad_audiences",
                        to="campaigns.segment",
                        verbose_name="segment",
                    ),
                ),
            ],
            options={
                "verbose_name": "ad audience",
                "verbose_name_plural": "ad audiences",
                "ordering": ["segment", "platform", "id"],
            },
        ),
        migrations.CreateModel(
            name="AdAudienceMember",
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
                        choices=[("email", "Email"), ("phone", "Phone")],
                        max_length=10,
                        verbose_name="kind",
                    ),
                ),
                ("digest", models.CharField(max_length=64, verbose_name="SHA-256")),
                (
                    "sent_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="sent"),
                ),
                (
                    "audience",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="members",
                        to="campaigns.adaudience",
                        verbose_name="audience",
                    ),
                ),
                (
                    "customer",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="customers.customer",
                        verbose_name="customer",
                    ),
                ),
            ],
            options={
                "verbose_name": "ad audience member",
                "verbose_name_plural": "ad audience members",
                "ordering": ["audience", "kind", "digest"],
            },
        ),
        migrations.CreateModel(
            name="AdAudienceSync",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("succeeded", "Succeeded"),
                            ("retrying", "Failed, will retry"),
                            ("failed", "Failed"),
                            ("dry_run", "Dry run (nothing sent)"),
                        ],
                        max_length=20,
                        verbose_name="status",
                    ),
                ),
                ("reason", models.CharField(blank=True, max_length=40, verbose_name="started by")),
                ("added", models.PositiveIntegerField(default=0, verbose_name="added")),
                ("removed", models.PositiveIntegerField(default=0, verbose_name="removed")),
                (
                    "rejected",
                    models.PositiveIntegerField(default=0, verbose_name="refused by the platform"),
                ),
                ("error", models.TextField(blank=True, verbose_name="error")),
                (
                    "started_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="started"),
                ),
                (
                    "finished_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="finished"),
                ),
                (
                    "audience",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="syncs",
                        to="campaigns.adaudience",
                        verbose_name="audience",
                    ),
                ),
            ],
            options={
                "verbose_name": "ad audience sync",
                "verbose_name_plural": "ad audience syncs",
                "ordering": ["-started_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="AdConversionUpload",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("order_number", models.CharField(max_length=40, verbose_name="order")),
                (
                    "platform",
                    models.CharField(
                        choices=[
                            ("google_ads", "Google Ads (Customer Match)"),
                            ("meta", "Meta (Custom Audiences)"),
                        ],
                        max_length=20,
                        verbose_name="platform",
                    ),
                ),
                ("click_id", models.CharField(blank=True, max_length=255, verbose_name="click id")),
                ("clicked_at", models.DateTimeField(blank=True, null=True, verbose_name="clicked")),
                ("purchased_at", models.DateTimeField(verbose_name="purchased")),
                (
                    "value",
                    models.DecimalField(
                        decimal_places=2, default=0, max_digits=14, verbose_name="value"
                    ),
                ),
                ("currency", models.CharField(blank=True, max_length=3, verbose_name="currency")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Waiting to upload"),
                            ("uploaded", "Uploaded"),
                            ("failed", "Refused by the platform"),
                        ],
                        default="pending",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                ("error", models.TextField(blank=True, verbose_name="error")),
                ("attempts", models.PositiveSmallIntegerField(default=0, verbose_name="attempts")),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="created"),
                ),
                (
                    "uploaded_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="uploaded"),
                ),
                (
                    "customer",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="customers.customer",
                        verbose_name="customer",
                    ),
                ),
            ],
            options={
                "verbose_name": "offline conversion upload",
                "verbose_name_plural": "offline conversion uploads",
                "ordering": ["-purchased_at", "-id"],
            },
        ),
        migrations.AddConstraint(
            model_name="adaudience",
            constraint=models.UniqueConstraint(
                fields=("platform", "external_id"), name="campaigns_adaudience_list"
            ),
        ),
        migrations.AddConstraint(
            model_name="adaudiencemember",
            constraint=models.UniqueConstraint(
                fields=("audience", "kind", "digest"), name="campaigns_adaudiencemember_hash"
            ),
        ),
        migrations.AddConstraint(
            model_name="adconversionupload",
            constraint=models.UniqueConstraint(
                fields=("order_number", "platform"), name="campaigns_adconversion_once"
            ),
        ),
    ]
