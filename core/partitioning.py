"""Monthly PostgreSQL partitions for the append-only tables that grow without bound.

The customer event table, campaign messages' delivery receipts (tracking events), the stock
ledger and the outbox are each partitioned by RANGE on their time column, one partition per
calendar month (UTC), plus a DEFAULT partition that catches rows outside the months created
so far. SQLite keeps one plain table: nothing here runs there.

Why partitions: a month is dropped or archived whole (no DELETE of millions of rows, no
vacuum debt), and an index a month large stays in memory while the table grows.

What PostgreSQL does not give a partitioned table, and what stands in for it:

- A unique constraint must include the partition column. The dedupe keys the product relies
  on (an event's `message_id`, a stock movement's `source` + `idempotency_key`) are kept
  unique across every partition by a small key table (`<table>_key`, the key's columns, the
  row's id and its time), claimed by a BEFORE INSERT trigger. For events a second row with a
  claimed key is skipped, so `INSERT ... ON CONFLICT DO NOTHING RETURNING` answers as before;
  for stock movements it raises `unique_violation` under the old constraint's name, so the
  ORM's IntegrityError path is unchanged. A row moved to another month by an UPDATE of its
  time keeps its key; deleting a row frees it; TRUNCATE empties the key table.
- Identity columns (PostgreSQL 17+ only): the id comes from a plain sequence owned by the
  column, so Django's sequence reset still finds it.

Partitions are created ahead by the beat (`core.ensure_partitions`, daily: this month and
PARTITION_MONTHS_AHEAD more), which also moves any rows the DEFAULT partition caught into a
month of their own. `manage.py partitions archive` applies the retention policy
(PARTITION_RETENTION_MONTHS): each partition wholly older than the cutoff is copied to a
gzipped CSV file, detached and dropped. Before that, `partition_archiving` is sent so an app
can fold what it must keep (customers fold lifetime figures) from the rows about to go.
"""

from __future__ import annotations

import datetime as dt
import gzip
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.dispatch import Signal

# Sent with table=<name>, partition=<partition table name>, since=, until= (datetimes, UTC)
# inside the archiving transaction, before the partition's rows are copied out and dropped.
partition_archiving = Signal()

DEFAULT_SUFFIX = "_default"
KEY_SUFFIX = "_key"
_MONTH = re.compile(r"_p(\d{4})_(\d{2})$")


@dataclass(frozen=True)
class PartitionedTable:
    table: str
    column: str
    # Columns unique across all partitions (kept by the key table), and what a duplicate does:
    # "skip" (the row is silently not inserted) or "raise" (unique_violation).
    unique: tuple[str, ...] = ()
    on_duplicate: str = "skip"
    unique_name: str = ""  # the unique constraint this replaces (named in the error)
    # The least retention the product needs (its rollups rebuild from these rows).
    min_retention_months: int = 1
    extra: dict = field(default_factory=dict)

    @property
    def key_table(self) -> str:
        return self.table + KEY_SUFFIX

    @property
    def default_partition(self) -> str:
        return self.table + DEFAULT_SUFFIX

    def partition_name(self, month: dt.date) -> str:
        return f"{self.table}_p{month:%Y_%m}"


TABLES = {
    spec.table: spec
    for spec in (
        PartitionedTable(
            "customers_event",
            "occurred_at",
            unique=("message_id",),
            on_duplicate="skip",
            unique_name="customers_event_message_id_key",
            # The daily rollups rebuild up to 400 days back (customers.services.rollups).
            min_retention_months=14,
        ),
        PartitionedTable("campaigns_trackingevent", "occurred_at"),
        PartitionedTable(
            "inventory_stockmovement",
            "occurred_at",
            unique=("source", "idempotency_key"),
            on_duplicate="raise",
            unique_name="inventory_movement_key_per_source",
        ),
        PartitionedTable("core_outboxevent", "created_at"),
    )
}


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def month_start(value: dt.date | dt.datetime) -> dt.date:
    return dt.date(value.year, value.month, 1)


def add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def _bound(month: dt.date) -> dt.datetime:
    return dt.datetime(month.year, month.month, 1, tzinfo=dt.UTC)


def is_partitioned(table: str, using=None) -> bool:
    """Whether `table` is a partitioned table in this database (never on SQLite)."""
    conn = using or connection
    if conn.vendor != "postgresql":
        return False
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT c.relkind = 'p' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = %s AND n.nspname = current_schema()",
            [table],
        )
        row = cursor.fetchone()
    return bool(row and row[0])


# --- converting a plain table (a migration) -------------------------------------------------


def _indexes_and_constraints(cursor, table: str):
    """`table`'s index definitions [(name, CREATE INDEX ...)], its primary key, unique and
    foreign key constraints [(name, kind, definition)], and those constraints' names (their
    indexes are made with the constraint, not from the index list)."""
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes "
        "WHERE tablename = %s AND schemaname = current_schema()",
        [table],
    )
    indexes = cursor.fetchall()
    cursor.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('f', 'p', 'u')",
        [table],
    )
    constraints = cursor.fetchall()
    return indexes, constraints, {name for name, _kind, _definition in constraints}


def convert(spec: PartitionedTable, cursor, *, now: dt.datetime | None = None) -> None:
    """Turn the plain table `spec.table` into a partitioned one, keeping its rows, columns,
    defaults, checks, foreign keys and (non-unique) indexes under their names. Partitions are
    made for every month holding rows, the last 12 months and PARTITION_MONTHS_AHEAD ahead."""
    table, old = spec.table, spec.table + "_unpartitioned"
    indexes, constraints, constraint_names = _indexes_and_constraints(cursor, table)
    cursor.execute(f"LOCK TABLE {_q(table)} IN ACCESS EXCLUSIVE MODE")
    cursor.execute(f"ALTER TABLE {_q(table)} RENAME TO {_q(old)}")
    cursor.execute(
        f"CREATE TABLE {_q(table)} (LIKE {_q(old)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
        f"INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY RANGE ({_q(spec.column)})"
    )
    cursor.execute(
        f"SELECT DISTINCT date_trunc('month', {_q(spec.column)} AT TIME ZONE 'UTC')::date "
        f"FROM {_q(old)}"
    )
    months = {row[0] for row in cursor.fetchall()}
    this_month = month_start(now or dt.datetime.now(dt.UTC))
    months.update(add_months(this_month, n) for n in range(-12, months_ahead() + 1))
    for month in sorted(months):
        _create_partition(spec, cursor, month)
    cursor.execute(f"CREATE TABLE {_q(spec.default_partition)} PARTITION OF {_q(table)} DEFAULT")
    cursor.execute(f"INSERT INTO {_q(table)} SELECT * FROM {_q(old)}")
    cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {_q(old)}")
    (next_id,) = cursor.fetchone()
    cursor.execute(f"DROP TABLE {_q(old)}")  # and its identity sequence, <table>_id_seq
    # The id: a sequence owned by the column (no identity on partitioned tables before 17).
    sequence = f"{table}_id_seq"
    cursor.execute(f"CREATE SEQUENCE {_q(sequence)} START WITH {int(next_id)}")
    cursor.execute(f"ALTER TABLE {_q(table)} ALTER COLUMN id SET DEFAULT nextval(%s)", [sequence])
    cursor.execute(f"ALTER SEQUENCE {_q(sequence)} OWNED BY {_q(table)}.id")

    cursor.execute(
        f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(table + '_pkey')} "
        f"PRIMARY KEY (id, {_q(spec.column)})"
    )
    for name, kind, definition in constraints:
        if kind == "f":
            cursor.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} {definition}")
    for name, definition in indexes:
        if name in constraint_names:
            continue  # the primary key and unique constraints, handled above and below
        if name.endswith("_like") and any(f"({c} " in definition for c in spec.unique):
            continue  # came with the unique constraint; keys are looked up in the key table
        cursor.execute(definition)  # read before the rename: it names the new table
    if spec.unique:
        _create_key_table(spec, cursor)


def _create_partition(spec: PartitionedTable, cursor, month: dt.date) -> str:
    name = spec.partition_name(month)
    cursor.execute(
        f"CREATE TABLE IF NOT EXISTS {_q(name)} PARTITION OF {_q(spec.table)} "
        "FOR VALUES FROM (%s) TO (%s)",
        [_bound(month), _bound(add_months(month, 1))],
    )
    return name


def _create_key_table(spec: PartitionedTable, cursor) -> None:
    table, keys = spec.table, spec.key_table
    cursor.execute(
        f"CREATE TABLE {_q(keys)} AS SELECT {', '.join(_q(c) for c in spec.unique)}, "
        f"id AS row_id, {_q(spec.column)} AS at FROM {_q(table)} WITH NO DATA"
    )
    columns = ", ".join(_q(c) for c in spec.unique)
    cursor.execute(f"ALTER TABLE {_q(keys)} ADD PRIMARY KEY ({columns})")
    # No index on `at`: every index here is paid by every insert (archiving finds a month's
    # keys through the partition's own rows instead).
    cursor.execute(
        f"INSERT INTO {_q(keys)} SELECT {columns}, id, {_q(spec.column)} FROM {_q(table)}"
    )
    match = " AND ".join(f"k.{_q(c)} = NEW.{_q(c)}" for c in spec.unique)
    new_values = ", ".join(f"NEW.{_q(c)}" for c in spec.unique)
    if spec.on_duplicate == "raise":
        duplicate = (
            "RAISE EXCEPTION USING ERRCODE = 'unique_violation', "
            f"CONSTRAINT = '{spec.unique_name}', "
            f"MESSAGE = 'duplicate key value violates unique constraint \"{spec.unique_name}\"'"
        )
    else:
        duplicate = "RETURN NULL"
    # The key is claimed before the row goes in. ON CONFLICT waits for a concurrent claim to
    # commit or roll back, as a unique index would. A row moved to another month by an UPDATE
    # of its time comes back through here with its own id: it keeps its key.
    cursor.execute(
        f"""
        CREATE FUNCTION {_q(table + "_claim_key")}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO {_q(keys)} ({columns}, row_id, at)
                VALUES ({new_values}, NEW.id, NEW.{_q(spec.column)}) ON CONFLICT DO NOTHING;
            IF FOUND THEN
                RETURN NEW;
            END IF;
            UPDATE {_q(keys)} AS k SET at = NEW.{_q(spec.column)}
                WHERE {match} AND k.row_id = NEW.id;
            IF FOUND THEN
                RETURN NEW;
            END IF;
            {duplicate};
        END $$
        """
    )
    cursor.execute(
        f"CREATE TRIGGER {_q(table + '_claim_key')} BEFORE INSERT ON {_q(table)} "
        f"FOR EACH ROW EXECUTE FUNCTION {_q(table + '_claim_key')}()"
    )
    # A deleted row frees its key (after the statement, and only when the row did not just
    # move to another month, which PostgreSQL performs as a delete and an insert).
    old_match = " AND ".join(f"k.{_q(c)} = OLD.{_q(c)}" for c in spec.unique)
    cursor.execute(
        f"""
        CREATE FUNCTION {_q(table + "_free_key")}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM {_q(keys)} AS k WHERE {old_match} AND k.row_id = OLD.id
                AND NOT EXISTS (SELECT 1 FROM {_q(table)} AS t WHERE t.id = OLD.id);
            RETURN NULL;
        END $$
        """
    )
    cursor.execute(
        f"CREATE TRIGGER {_q(table + '_free_key')} AFTER DELETE ON {_q(table)} "
        f"FOR EACH ROW EXECUTE FUNCTION {_q(table + '_free_key')}()"
    )
    # Changing a key column or the time moves the claim with it (erasure rewrites an event's
    # message id; the demo backdates events).
    set_new = ", ".join(f"{_q(c)} = NEW.{_q(c)}" for c in (*spec.unique,))
    set_new += f", at = NEW.{_q(spec.column)}"
    changed = " OR ".join(
        f"NEW.{_q(c)} IS DISTINCT FROM OLD.{_q(c)}" for c in (*spec.unique, spec.column)
    )
    cursor.execute(
        f"""
        CREATE FUNCTION {_q(table + "_move_key")}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF {changed} THEN
                UPDATE {_q(keys)} AS k SET {set_new} WHERE {old_match} AND k.row_id = OLD.id;
            END IF;
            RETURN NEW;
        END $$
        """
    )
    cursor.execute(
        f"CREATE TRIGGER {_q(table + '_move_key')} BEFORE UPDATE ON {_q(table)} "
        f"FOR EACH ROW EXECUTE FUNCTION {_q(table + '_move_key')}()"
    )
    cursor.execute(
        f"""
        CREATE FUNCTION {_q(table + "_truncate_keys")}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            TRUNCATE {_q(keys)};
            RETURN NULL;
        END $$
        """
    )
    cursor.execute(
        f"CREATE TRIGGER {_q(table + '_truncate_keys')} AFTER TRUNCATE ON {_q(table)} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {_q(table + '_truncate_keys')}()"
    )


def unconvert(spec: PartitionedTable, cursor) -> None:
    """The reverse of `convert` (a migration run backwards): one plain table again, with the
    unique constraint restored. Indexes and foreign keys keep their names."""
    table, parted = spec.table, spec.table + "_partitioned"
    indexes, constraints, constraint_names = _indexes_and_constraints(cursor, table)
    cursor.execute(f"ALTER TABLE {_q(table)} RENAME TO {_q(parted)}")
    cursor.execute(
        f"CREATE TABLE {_q(table)} (LIKE {_q(parted)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
        "INCLUDING STORAGE INCLUDING COMMENTS)"
    )
    cursor.execute(f"INSERT INTO {_q(table)} SELECT * FROM {_q(parted)}")
    cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {_q(table)}")
    (next_id,) = cursor.fetchone()
    # The id becomes an identity column again, as Django made it (the partitioned table's
    # sequence goes with that table).
    cursor.execute(f"ALTER TABLE {_q(table)} ALTER COLUMN id DROP DEFAULT")
    cursor.execute(f"DROP TABLE {_q(parted)} CASCADE")
    cursor.execute(
        f"ALTER TABLE {_q(table)} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY "
        f"(START WITH {int(next_id)})"
    )
    if spec.unique:
        cursor.execute(f"DROP TABLE IF EXISTS {_q(spec.key_table)}")
        for suffix in ("_claim_key", "_free_key", "_move_key", "_truncate_keys"):
            cursor.execute(f"DROP FUNCTION IF EXISTS {_q(table + suffix)}()")
    cursor.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(table + '_pkey')} PRIMARY KEY (id)")
    for name, kind, definition in constraints:
        if kind == "f":
            cursor.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} {definition}")
    if spec.unique:
        columns = ", ".join(_q(c) for c in spec.unique)
        cursor.execute(
            f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(spec.unique_name)} UNIQUE ({columns})"
        )
    for name, definition in indexes:
        if name in constraint_names:
            continue
        cursor.execute(
            re.sub(r" ON (ONLY )?(\w+\.)?\w+ ", f" ON {_q(table)} ", definition, count=1)
        )


def migration_operations(table: str):
    """The RunPython operation a migration uses to partition `table` (PostgreSQL only)."""
    from django.db import migrations  # noqa: PLC0415 (only migrations need it)

    spec = TABLES[table]

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                convert(spec, cursor)

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                unconvert(spec, cursor)

    return migrations.RunPython(forwards, backwards)


# --- running: ahead of time, and the retention policy ---------------------------------------


def months_ahead() -> int:
    return getattr(settings, "PARTITION_MONTHS_AHEAD", 3)


@dataclass
class PartitionInfo:
    table: str
    name: str
    month: dt.date | None  # None for the DEFAULT partition
    rows: int  # the planner's estimate (reltuples), -1 when never analysed
    size_bytes: int


def partitions(table: str) -> list[PartitionInfo]:
    """The partitions of `table`, oldest month first, the DEFAULT one last."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid) "
            "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass ORDER BY c.relname",
            [table],
        )
        rows = cursor.fetchall()
    found = []
    for name, tuples, size in rows:
        match = _MONTH.search(name)
        month = dt.date(int(match[1]), int(match[2]), 1) if match else None
        found.append(PartitionInfo(table, name, month, tuples, size))
    return sorted(found, key=lambda p: (p.month is None, p.month or dt.date.min))


def ensure_partitions(*, now: dt.datetime | None = None) -> dict[str, list[str]]:
    """Create this month's partition and PARTITION_MONTHS_AHEAD more for every partitioned
    table, and move rows the DEFAULT partition caught into months of their own. Returns
    {table: [partitions created]}. Safe to run any number of times."""
    created: dict[str, list[str]] = {}
    this_month = month_start(now or dt.datetime.now(dt.UTC))
    for spec in TABLES.values():
        if not is_partitioned(spec.table):
            continue
        made = []
        with transaction.atomic(), connection.cursor() as cursor:
            existing = {p.month for p in partitions(spec.table)}
            cursor.execute(
                f"SELECT DISTINCT date_trunc('month', {_q(spec.column)} AT TIME ZONE 'UTC')::date "
                f"FROM {_q(spec.default_partition)}"
            )
            caught = {row[0] for row in cursor.fetchall()}
            wanted = {add_months(this_month, n) for n in range(months_ahead() + 1)} | caught
            for month in sorted(wanted - existing):
                made.append(_split_off(spec, cursor, month, month in caught))
        if made:
            created[spec.table] = made
    return created


def _split_off(spec: PartitionedTable, cursor, month: dt.date, has_rows: bool) -> str:
    """A month's partition, made while the DEFAULT partition may hold rows of that month:
    they are moved into a standalone table that is then attached (attaching checks that the
    DEFAULT partition no longer holds any)."""
    if not has_rows:
        return _create_partition(spec, cursor, month)
    name = spec.partition_name(month)
    since, until = _bound(month), _bound(add_months(month, 1))
    cursor.execute(f"LOCK TABLE {_q(spec.table)} IN SHARE ROW EXCLUSIVE MODE")
    cursor.execute(
        f"CREATE TABLE {_q(name)} (LIKE {_q(spec.table)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    )
    where = f"{_q(spec.column)} >= %s AND {_q(spec.column)} < %s"
    cursor.execute(
        f"WITH moved AS (DELETE FROM {_q(spec.default_partition)} WHERE {where} RETURNING *) "  # noqa: S608
        f"INSERT INTO {_q(name)} SELECT * FROM moved",
        [since, until],
    )
    cursor.execute(
        f"ALTER TABLE {_q(spec.table)} ATTACH PARTITION {_q(name)} FOR VALUES FROM (%s) TO (%s)",
        [since, until],
    )
    if spec.unique:
        # The DELETE above ran the partition's key-freeing trigger (the rows were not yet
        # back under the parent): claim their keys again. The lock keeps anyone else from
        # claiming them in between.
        columns = ", ".join(_q(c) for c in spec.unique)
        cursor.execute(
            f"INSERT INTO {_q(spec.key_table)} ({columns}, row_id, at) "  # noqa: S608
            f"SELECT {columns}, id, {_q(spec.column)} FROM {_q(name)} ON CONFLICT DO NOTHING"
        )
    return name


def retention_months(table: str) -> int | None:
    policy = getattr(settings, "PARTITION_RETENTION_MONTHS", {})
    return policy.get(table)


class RetentionError(ValueError):
    pass


def archive_partitions(
    table: str,
    *,
    before: dt.date | None = None,
    to: Path,
    now: dt.datetime | None = None,
    dry_run: bool = False,
) -> list[tuple[str, int, Path | None]]:
    """Archive every partition of `table` whose month ends on or before `before` (default:
    the retention policy's cutoff): copy its rows to `<to>/<partition>.csv.gz` (with a header
    line), let apps fold what they keep (`partition_archiving`), free its keys, detach and
    drop it. Returns [(partition, rows, file)]. Refuses a cutoff inside the table's minimum
    retention, and a table with no policy and no explicit cutoff."""
    spec = TABLES[table]
    this_month = month_start(now or dt.datetime.now(dt.UTC))
    if before is None:
        months = retention_months(table)
        if months is None:
            raise RetentionError(f"{table} has no retention policy; give --before to archive it.")
        before = add_months(this_month, -months)
    before = month_start(before)
    earliest_allowed = add_months(this_month, -spec.min_retention_months)
    if before > earliest_allowed:
        raise RetentionError(
            f"{table} keeps at least {spec.min_retention_months} months; the cutoff may be "
            f"{earliest_allowed:%Y-%m} at the latest."
        )
    if not is_partitioned(table):
        raise RetentionError(f"{table} is not partitioned in this database.")
    done = []
    for part in partitions(table):
        if part.month is None or add_months(part.month, 1) > before:
            continue
        if dry_run:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT count(*) FROM {_q(part.name)}")
                done.append((part.name, cursor.fetchone()[0], None))
            continue
        done.append(_archive_one(spec, part, to))
    return done


def _archive_one(spec: PartitionedTable, part: PartitionInfo, to: Path):
    to.mkdir(parents=True, exist_ok=True)
    target = to / f"{part.name}.csv.gz"
    since, until = _bound(part.month), _bound(add_months(part.month, 1))
    with transaction.atomic(), connection.cursor() as cursor:
        # No writes reach the month while it is copied and dropped.
        cursor.execute(f"LOCK TABLE {_q(part.name)} IN SHARE MODE")
        partition_archiving.send(
            sender=PartitionedTable, table=spec.table, partition=part.name, since=since, until=until
        )
        rows = 0
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        with gzip.open(target, "wb") as out:
            with raw.copy(f"COPY {_q(part.name)} TO STDOUT WITH (FORMAT csv, HEADER true)") as copy:
                for chunk in copy:
                    out.write(chunk)
            cursor.execute(f"SELECT count(*) FROM {_q(part.name)}")  # noqa: S608
            (rows,) = cursor.fetchone()
        if spec.unique:
            # Replays of messages this old are no longer refused; the key table stays bounded.
            match = " AND ".join(f"k.{_q(c)} = p.{_q(c)}" for c in spec.unique)
            cursor.execute(
                f"DELETE FROM {_q(spec.key_table)} AS k USING {_q(part.name)} AS p "
                f"WHERE {match} AND k.row_id = p.id"
            )
        cursor.execute(f"ALTER TABLE {_q(spec.table)} DETACH PARTITION {_q(part.name)}")
        cursor.execute(f"DROP TABLE {_q(part.name)}")
    return part.name, rows, target
