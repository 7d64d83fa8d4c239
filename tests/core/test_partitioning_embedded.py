"""The embedded mode (SQLite) keeps each growing table as one plain table; the partitions
command says so rather than failing. (On PostgreSQL: tests/core/test_partitioning.py.)"""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from core import partitioning

pytestmark = pytest.mark.django_db


def test_tables_are_partitioned_only_on_postgresql():
    on_postgresql = connection.vendor == "postgresql"
    for table in partitioning.TABLES:
        assert partitioning.is_partitioned(table) is on_postgresql


def test_the_command_on_sqlite_says_there_is_nothing_to_do():
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL has partitions: tests/core/test_partitioning.py")
    out = StringIO()
    call_command("partitions", "ensure", stdout=out)
    assert "SQLite keeps one table" in out.getvalue()
    assert partitioning.ensure_partitions() == {}
