"""Trigram indexes on the upper-cased customer names, so "contains" searches (customer search,
the inbox's search by name) read the index instead of every profile. PostgreSQL only: the
embedded SQLite mode scans, which is fine at its size."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

NAME_INDEXES = {
    "customer_first_name_trgm": "first_name",
    "customer_last_name_trgm": "last_name",
}


def create_name_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in NAME_INDEXES.items():
        # UPPER() because Django's icontains compares UPPER(column) LIKE UPPER(pattern).
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON customers_customer"
            f" USING gin (UPPER({column}) gin_trgm_ops)"
        )


def drop_name_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in NAME_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0002_leaner_ingest_indexes"),
    ]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_name_indexes, drop_name_indexes),
    ]
