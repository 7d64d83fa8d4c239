"""Store-local marketing: where a customer lives (latitude, longitude), for distance-to-store
segments, with a partial index over the profiles that have a place."""

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0013_timeline_index_carries_channel"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="latitude",
            field=models.FloatField(
                blank=True,
                help_text="Where she lives, in degrees; used by distance-to-store segments.",
                null=True,
                validators=[
                    django.core.validators.MinValueValidator(-90),
                    django.core.validators.MaxValueValidator(90),
                ],
                verbose_name="latitude",
            ),
        ),
        migrations.AddField(
            model_name="customer",
            name="longitude",
            field=models.FloatField(
                blank=True,
                null=True,
                validators=[
                    django.core.validators.MinValueValidator(-180),
                    django.core.validators.MaxValueValidator(180),
                ],
                verbose_name="longitude",
            ),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(
                condition=models.Q(("latitude__isnull", False)),
                fields=["latitude", "longitude"],
                name="customer_place_idx",
            ),
        ),
    ]
