"""Reading and writing many rows at once on PostgreSQL with a handful of parameters.

Django's bulk_update builds a CASE per field and row (seconds for a 500-row batch), and a
multi-row VALUES list with thousands of placeholders costs psycopg noticeable time to
assemble. Rows travel instead as one JSON document (msgspec encodes it in C; the server
parses it once and reads it with `jsonb_array_elements`), or as one array per column, bound
server-side. Other databases (SQLite, the embedded mode) take the plain Django path.
"""

from contextlib import ExitStack

import msgspec
import psycopg
from django.db import connection, models

from core.models import Channel
from customers.models import Customer, Event, Identity
from customers.normalise import IdentityKey
from customers.services.identities import identities_matching


def _server_cursor():
    # Django's cursors bind parameters client-side, into the SQL text; a large JSON document
    # or array goes far faster as a parameter bound server-side.
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def _is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _array_type(field) -> str:
    if isinstance(field, models.JSONField):
        return "text[]"
    return f"{_db_type(field)}[]"


def _db_type(field) -> str:
    # Without the length: a cast to varchar(100) would silently cut a longer value, where
    # the column itself refuses it.
    return field.db_type(connection).split("(")[0]


def _array_value(field, obj):
    value = getattr(obj, field.attname)
    if isinstance(field, models.JSONField):
        return _json(value)
    return value


def _json(value) -> str:
    return msgspec.json.encode(value).decode()


def _json_columns(fields) -> str:
    """The select list reading rows sent as one JSON array of arrays (`FROM
    jsonb_array_elements(%s::jsonb) AS r`), column i from element i. One JSON document,
    encoded by msgspec in C and parsed once by the server, costs a fraction of dumping one
    array per column element by element."""
    columns = []
    for position, field in enumerate(fields):
        if isinstance(field, models.JSONField):
            columns.append(f"r -> {position}")
        else:
            columns.append(f"(r ->> {position})::{_db_type(field)}")
    return ", ".join(columns)


def bulk_set(objects, fields: list[str]) -> None:
    """Write `fields` of every object (all of one model) in one statement."""
    if not objects:
        return
    model = type(objects[0])
    if not _is_postgresql():
        model._default_manager.bulk_update(objects, fields, batch_size=500)
        return
    quote = connection.ops.quote_name
    pk = model._meta.pk
    columns = [pk, *(model._meta.get_field(name) for name in fields)]
    ordered = sorted(objects, key=lambda o: o.pk)
    params = [[_array_value(field, obj) for obj in ordered] for field in columns]
    arrays = ", ".join(f"%b::{_array_type(field)}" for field in columns)
    names = ", ".join(quote(field.column) for field in columns)
    assignments = ", ".join(
        f"{quote(f.column)} = v.{quote(f.column)}"
        + ("::jsonb" if isinstance(f, models.JSONField) else "")
        for f in columns[1:]
    )
    table, key = quote(model._meta.db_table), quote(pk.column)
    # Only quoted column names, their types and placeholders are formatted in.
    sql = f"UPDATE {table} AS t SET {assignments} FROM unnest({arrays}) AS v ({names}) WHERE t.{key} = v.{key}"  # noqa: S608
    with _server_cursor() as cursor:
        cursor.execute(sql, params)


def insert_objects(objects) -> None:
    """Insert new model objects (all of one model, with an auto primary key) in one
    statement and set their primary keys; the portable path is bulk_create."""
    if not objects:
        return
    model = type(objects[0])
    if not _is_postgresql():
        model._default_manager.bulk_create(objects)
        return
    names = [f.attname for f in model._meta.concrete_fields if f is not model._meta.pk]
    keys = insert_rows(model, names, [[getattr(obj, name) for name in names] for obj in objects])
    for obj, key in zip(objects, keys, strict=True):
        obj.pk = key
        obj._state.adding = False
        obj._state.db = connection.alias


def insert_rows(model, names: list[str], rows: list[list]) -> list:
    """Insert rows of `model` given as values in the order of the field `names` (attnames),
    without building model instances. Fields not named take their model default, evaluated
    once for all rows (so a unique field must be named). Returns the new primary keys in row
    order."""
    if not rows:
        return []
    pk = model._meta.pk
    others = [f for f in model._meta.concrete_fields if f is not pk and f.attname not in names]
    if any(f.unique for f in others):
        raise ValueError(f"insert_rows needs a value per row for {[f.name for f in others]}")
    if others:
        defaults = [f.get_default() for f in others]
        rows = [[*row, *defaults] for row in rows]
    fields = [model._meta.get_field(name) for name in names] + others
    if not _is_postgresql():
        objects = [
            model(**{f.attname: value for f, value in zip(fields, row, strict=True)})
            for row in rows
        ]
        model._default_manager.bulk_create(objects)
        return [obj.pk for obj in objects]
    quote = connection.ops.quote_name
    # Only quoted names and types are formatted in; values travel in the JSON parameter.
    # PostgreSQL returns the rows of an INSERT ... SELECT in the order it inserts them, the
    # order of the array (Django's own bulk_create relies on the same).
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608
        f"({', '.join(quote(f.column) for f in fields)}) "
        f"SELECT {_json_columns(fields)} FROM jsonb_array_elements(%s::jsonb) AS r "
        f"RETURNING {quote(pk.column)}"
    )
    with _server_cursor() as cursor:
        cursor.execute(sql, [msgspec.json.encode(rows).decode()])
        return [key for (key,) in cursor.fetchall()]


EVENT_COLUMNS = (
    "customer",
    "name",
    "channel",
    "occurred_at",
    "received_at",
    "properties",
    "source",
    "message_id",
)


def _event_insert(names, rows, returning: str, shared=None) -> tuple[str, list]:
    """`INSERT INTO events ... ON CONFLICT DO NOTHING` of rows holding the
    fields `names` (sent as one JSON document), plus `shared` {field: value} the same for
    every row (sent once, as parameters); and its parameters."""
    shared = shared or {}
    fields = [Event._meta.get_field(name) for name in names]
    constants = [Event._meta.get_field(name) for name in shared]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in [*fields, *constants])
    selects = ", ".join([_json_columns(fields)] + [f"%s::{_db_type(f)}" for f in constants])
    table = quote(Event._meta.db_table)
    # Only quoted names and types are formatted in; values travel as parameters. No conflict
    # target: on PostgreSQL the event table is partitioned and a stored message id is skipped
    # by its key trigger (core.partitioning); on SQLite its unique index does the same.
    sql = (
        f"INSERT INTO {table} ({columns}) SELECT {selects} "  # noqa: S608
        "FROM jsonb_array_elements(%s::jsonb) AS r "
        f"ON CONFLICT DO NOTHING RETURNING {returning}"
    )
    # Parameters in the order their placeholders appear: the constants, then the rows.
    return sql, [*shared.values(), msgspec.json.encode(rows).decode()]


def insert_event_rows(rows: list[tuple]) -> set[str]:
    """Insert events given as tuples in EVENT_COLUMNS order (customer and channel as ids,
    properties as a dict); message ids already stored are skipped. Returns the ids inserted."""
    if not rows:
        return set()
    if not _is_postgresql():
        return _insert_event_rows_portable(rows)
    sql, params = _event_insert(EVENT_COLUMNS, rows, "message_id")
    with _server_cursor() as cursor:
        cursor.execute(sql, params)
        return {message_id for (message_id,) in cursor.fetchall()}


COUNTED_EVENT_COLUMNS = ("customer", "name", "channel", "occurred_at", "properties", "message_id")


def insert_event_rows_counting(
    rows: list[tuple], *, received_at, source: str, order_event: str
) -> set[str]:
    """Insert events given as tuples (or named tuples) in COUNTED_EVENT_COLUMNS order, all
    received at `received_at` from `source`, skipping message ids already stored
    (PostgreSQL only); in the same statement add those inserted to their customers'
    events_count, orders_count (events named `order_event`), channels_used and first/last
    seen, without reading the rows into Python. Lifetime spend is left to the caller. The
    caller holds the customers' locks; returns the message ids inserted."""
    if not rows:
        return set()
    insert, params = _event_insert(
        COUNTED_EVENT_COLUMNS,
        rows,
        "customer_id, name, channel_id, occurred_at, message_id",
        shared={"received_at": received_at, "source": source},
    )
    quote = connection.ops.quote_name
    customers, channels = quote(Customer._meta.db_table), quote(Channel._meta.db_table)
    # Data-modifying CTEs see each other's rows only through RETURNING: the UPDATE counts
    # exactly the events this statement inserted, never a duplicate it skipped. Channel
    # kinds are sorted bytewise (COLLATE "C"), as Python's sorted() keeps them.
    sql = f"""
        WITH inserted AS ({insert}),
        added AS (
            SELECT e.customer_id,
                   count(*) AS events,
                   count(*) FILTER (WHERE e.name = %b) AS orders,
                   min(e.occurred_at) AS first_seen,
                   max(e.occurred_at) AS last_seen,
                   coalesce(jsonb_agg(DISTINCT ch.kind) FILTER (WHERE ch.kind IS NOT NULL),
                            '[]'::jsonb) AS kinds
            FROM inserted AS e LEFT JOIN {channels} AS ch ON ch.id = e.channel_id
            GROUP BY e.customer_id
        ),
        counted AS (
            UPDATE {customers} AS c SET
                events_count = c.events_count + a.events,
                orders_count = c.orders_count + a.orders,
                first_seen_at = LEAST(c.first_seen_at, a.first_seen),
                last_seen_at = GREATEST(c.last_seen_at, a.last_seen),
                channels_used = CASE WHEN c.channels_used @> a.kinds THEN c.channels_used ELSE (
                    SELECT jsonb_agg(s.kind ORDER BY s.kind COLLATE "C") FROM (
                        SELECT jsonb_array_elements_text(c.channels_used)
                        UNION SELECT jsonb_array_elements_text(a.kinds)
                    ) AS s (kind)
                ) END
            FROM added AS a
            -- The ids again, as an array the planner can count: it then reads these rows
            -- by primary key instead of scanning every profile to join them.
            WHERE c.id = a.customer_id AND c.id = ANY(%b::bigint[])
        )
        SELECT message_id FROM inserted
    """  # noqa: S608 (only quoted table names and the INSERT built above are formatted in)
    customer_ids = sorted({row[0] for row in rows})  # the customer of each row
    with _server_cursor() as cursor:
        cursor.execute(sql, [*params, order_event, customer_ids])
        return {message_id for (message_id,) in cursor.fetchall()}


def _insert_event_rows_portable(rows):
    fields = [Event._meta.get_field(name) for name in EVENT_COLUMNS]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    inserted: set[str] = set()
    for start in range(0, len(rows), 1000):
        chunk = rows[start : start + 1000]
        params = [
            field.get_db_prep_save(value, connection)
            for row in chunk
            for field, value in zip(fields, row, strict=True)
        ]
        table, key = quote(Event._meta.db_table), quote("message_id")
        values = ", ".join([placeholders] * len(chunk))
        sql = f"INSERT INTO {table} ({columns}) VALUES {values} ON CONFLICT DO NOTHING RETURNING {key}"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            inserted.update(message_id for (message_id,) in cursor.fetchall())
    return inserted


_IDENTITY_ROWS_SQL = (
    # One probe of the unique index per key, whatever the planner believes about the
    # table's size (LIMIT keeps the LATERAL subquery from being flattened into a join that
    # may scan the whole table); the server answers with each key's position, not its text.
    "SELECT k.position, i.id, i.customer_id, i.is_verified "
    "FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS k (key, position) "
    "CROSS JOIN LATERAL (SELECT id, customer_id, is_verified FROM customers_identity "
    "    WHERE kind = k.key ->> 0 AND value = k.key ->> 1 AND partner = k.key ->> 2 "
    "    LIMIT 1) AS i"
)


def identity_rows(keys) -> list[tuple]:
    """`(key, id, customer_id, is_verified)` of the identities with these `(kind, value,
    partner)` keys, read without locking them (see ingest: the customer's row lock is what
    keeps an identity where it is)."""
    return IdentityRead(keys).rows()


class IdentityRead:
    """identity_rows() sent now and answered later: on PostgreSQL the query goes out at
    once, through psycopg's pipeline mode, and the caller goes on with other work (not
    touching the database) until it asks for `rows()`, which must be called. Elsewhere it
    simply runs in `rows()`."""

    def __init__(self, keys):
        self._keys = list(keys)
        self._open = None  # the pipeline, until rows() closes it
        if self._keys and _is_postgresql():
            connection.ensure_connection()
            with ExitStack() as stack:
                stack.enter_context(connection.connection.pipeline())
                self._cursor = stack.enter_context(psycopg.Cursor(connection.connection))
                # In pipeline mode execute() sends the query and returns at once; the server
                # runs it meanwhile, and fetchall() in rows() reads the answer.
                self._cursor.execute(_IDENTITY_ROWS_SQL, [msgspec.json.encode(self._keys).decode()])
                self._open = stack.pop_all()

    def rows(self) -> list[tuple]:
        keys = self._keys
        if not keys:
            return []
        if self._open is None:
            return self._portable_rows()
        with self._open:
            self._open = None
            found = self._cursor.fetchall()
        return [
            (keys[position - 1], pk, customer_id, verified)
            for position, pk, customer_id, verified in found
        ]

    def _portable_rows(self):
        return [
            ((kind, value, partner), pk, customer_id, verified)
            for pk, customer_id, kind, value, partner, verified in identities_matching(
                IdentityKey(*key) for key in self._keys
            ).values_list("id", "customer_id", "kind", "value", "partner", "is_verified")
        ]


def lock_identities(identity_ids) -> dict[int, int]:
    """Lock these identities FOR UPDATE in id order; returns {id: customer_id} of those that
    still exist."""
    return dict(
        Identity.objects.select_for_update()
        .filter(id__in=sorted(identity_ids))
        .order_by("id")
        .values_list("id", "customer_id")
    )


def lock_customer_rows(customer_ids) -> list[tuple]:
    """`(id, public_id as text, is_anonymous, merged_into_id, is_erased)` of these
    customers, locked FOR UPDATE in id order (after any identity: the order every
    resolution follows). Only the columns a track needs: a batch does not load profiles."""
    ids = sorted(customer_ids)
    if not ids:
        return []
    if not _is_postgresql():
        return [
            (pk, str(public_id), is_anonymous, merged_into_id, erased_at is not None)
            for pk, public_id, is_anonymous, merged_into_id, erased_at in (
                Customer.objects.select_for_update()
                .filter(id__in=ids)
                .order_by("id")
                .values_list("id", "public_id", "is_anonymous", "merged_into_id", "erased_at")
            )
        ]
    sql = (
        "SELECT id, public_id::text, is_anonymous, merged_into_id, erased_at IS NOT NULL "
        "FROM customers_customer WHERE id = ANY(%b::bigint[]) ORDER BY id FOR UPDATE"
    )
    with _server_cursor() as cursor:
        cursor.execute(sql, [ids])
        return cursor.fetchall()
