"""campaigns_trackingevent becomes a table partitioned by month on PostgreSQL (core.partitioning: why, and
what stands in for what a partitioned table lacks). SQLite keeps one table; the model is
unchanged."""

from django.db import migrations

from core.partitioning import migration_operations


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0004_remove_segmentsnapshot_member_ids")]

    operations = [migration_operations("campaigns_trackingevent")]
