"""Backups you can trust (PostgreSQL): a dump with the row counts it holds, and a check that
restores it into a scratch database and compares.

`manage.py backup DIR` opens a REPEATABLE READ transaction, exports its snapshot, counts the
rows of every table of the database in that snapshot, and runs `pg_dump --snapshot` on the
same snapshot while the transaction is held: the counts written to `DIR/manifest.json` are
exactly what `DIR/database.dump` holds, even under traffic.

`manage.py verify_backup DIR` creates a scratch database, restores the dump into it with
`pg_restore`, counts every table again and compares with the manifest; it reports each
difference, drops the scratch database and exits non-zero on any. Media files are backed up
by the storage's own tools (see the README); this module covers the database.
"""

import json
import os
import subprocess
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import connection
from psycopg import sql

DUMP = "database.dump"
MANIFEST = "manifest.json"


class BackupError(Exception):
    pass


@dataclass
class Comparison:
    tables: int
    differences: list[str]

    @property
    def ok(self) -> bool:
        return not self.differences


def _require_postgresql():
    if connection.vendor != "postgresql":
        raise BackupError("Backups need PostgreSQL (the embedded SQLite file is copied as is).")


def _dsn(database=None) -> dict:
    db = settings.DATABASES["default"]
    params = {
        "host": db.get("HOST") or "127.0.0.1",
        "port": str(db.get("PORT") or 5432),
        "user": db.get("USER") or "postgres",
        "dbname": database or db["NAME"],
    }
    if db.get("PASSWORD"):
        params["password"] = db["PASSWORD"]
    return params


def _env(params) -> dict:
    env = {**os.environ, "PGHOST": params["host"], "PGPORT": params["port"]}
    env["PGUSER"] = params["user"]
    if "password" in params:
        env["PGPASSWORD"] = params["password"]
    return env


def count_rows(cursor) -> dict[str, int]:
    """{schema.table: rows} for every ordinary table outside the system schemas."""
    cursor.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_type = 'BASE TABLE' "
        "AND table_schema NOT IN ('pg_catalog', 'information_schema') "
        "ORDER BY table_schema, table_name"
    )
    counts = {}
    for schema, table in cursor.fetchall():
        cursor.execute(
            sql.SQL("SELECT count(*) FROM {}.{}").format(
                sql.Identifier(schema), sql.Identifier(table)
            )
        )
        counts[f"{schema}.{table}"] = cursor.fetchone()[0]
    return counts


def backup(directory) -> dict:
    """Dump the database into `directory` with the manifest of its row counts."""
    _require_postgresql()
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    params = _dsn()
    with psycopg.connect(**params) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            counts = count_rows(cursor)
            # The snapshot lives as long as this transaction: dump while it is held.
            result = subprocess.run(
                ["pg_dump", "--format=custom", f"--snapshot={snapshot}", "--no-owner"]
                + ["--file", str(target / DUMP), params["dbname"]],
                env=_env(params),
                capture_output=True,
                text=True,
            )
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()[:1000]}")
    manifest = {"database": params["dbname"], "snapshot": snapshot, "tables": counts}
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return manifest


@contextmanager
def scratch_database():
    params = _dsn()
    name = f"verify_{uuid.uuid4().hex[:12]}"
    admin = {**params, "dbname": "postgres"}
    with psycopg.connect(**admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with psycopg.connect(**admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def verify(directory) -> Comparison:
    """Restore the dump into a scratch database and compare its rows with the manifest."""
    _require_postgresql()
    source = Path(directory)
    try:
        manifest = json.loads((source / MANIFEST).read_text())
        expected = manifest["tables"]
    except (OSError, ValueError, KeyError) as error:
        raise BackupError(f"No readable {MANIFEST} in {source}: {error}") from error
    if not (source / DUMP).is_file():
        raise BackupError(f"No {DUMP} in {source}.")
    with scratch_database() as name:
        params = _dsn(name)
        result = subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", "--dbname", name, str(source / DUMP)],
            env=_env(params),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise BackupError(f"pg_restore failed: {result.stderr.strip()[:1000]}")
        with psycopg.connect(**params) as conn, conn.cursor() as cursor:
            restored = count_rows(cursor)
    differences = []
    for table in sorted(set(expected) | set(restored)):
        want, got = expected.get(table), restored.get(table)
        if want != got:
            differences.append(f"{table}: {want} rows in the manifest, {got} restored")
    return Comparison(tables=len(expected), differences=differences)
