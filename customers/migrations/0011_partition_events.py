"""customers_event becomes a table partitioned by month on PostgreSQL (core.partitioning: why, and
what stands in for what a partitioned table lacks). SQLite keeps one table; the model is
unchanged."""

from django.db import migrations

from core.partitioning import migration_operations


class Migration(migrations.Migration):
    dependencies = [("customers", "0010_journey_runs_by_place")]

    operations = [migration_operations("customers_event")]
