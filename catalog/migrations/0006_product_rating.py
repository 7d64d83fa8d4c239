"""Products' ratings from customers' approved reviews (kept by catalog.services.ratings)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0005_catalog_imports"),
    ]

    operations = [
        migrations.AddField(
            model_name="product",
            name="rating_average",
            field=models.DecimalField(
                blank=True,
                decimal_places=2,
                editable=False,
                max_digits=3,
                null=True,
                verbose_name="average rating",
            ),
        ),
        migrations.AddField(
            model_name="product",
            name="rating_count",
            field=models.PositiveIntegerField(default=0, editable=False, verbose_name="ratings"),
        ),
    ]
