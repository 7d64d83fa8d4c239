"""core_outboxevent becomes a table partitioned by month on PostgreSQL (core.partitioning: why, and
what stands in for what a partitioned table lacks). SQLite keeps one table; the model is
unchanged."""

from django.db import migrations

from core.partitioning import migration_operations


class Migration(migrations.Migration):
    dependencies = [("core", "0009_channel_provider_woocommerce")]

    operations = [migration_operations("core_outboxevent")]
