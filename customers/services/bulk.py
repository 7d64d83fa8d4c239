"""Writing many rows at once on PostgreSQL with a handful of array parameters.

Django's bulk_update builds a CASE per field and row (seconds for a 500-row batch), and a
multi-row VALUES list with thousands of placeholders costs psycopg noticeable time to
assemble. `unnest()` over one array per column keeps every statement to a few parameters,
bound server-side. Other databases (SQLite, the embedded mode) take the plain Django path.
"""

import msgspec
import psycopg
from django.db import connection, models

from customers.models import Event


def _server_cursor():
    # Django's cursors bind parameters client-side; arrays bind far faster server-side.
    return psycopg.Cursor(connection.connection)


def _array_type(field) -> str:
    if isinstance(field, models.JSONField):
        return "text[]"
    return f"{field.db_type(connection)}[]"


def _array_value(field, obj):
    value = getattr(obj, field.attname)
    if isinstance(field, models.JSONField):
        return _json(value)
    return value


def _json(value) -> str:
    return msgspec.json.encode(value).decode()


def bulk_set(objects, fields: list[str]) -> None:
    """Write `fields` of every object (all of one model) in one statement."""
    if not objects:
        return
    model = type(objects[0])
    if connection.vendor != "postgresql":
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
    connection.ensure_connection()
    with _server_cursor() as cursor:
        cursor.execute(sql, params)


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


def insert_event_rows(rows: list[tuple]) -> set[str]:
    """Insert events given as tuples in EVENT_COLUMNS order (customer and channel as ids,
    properties as a dict); message ids already stored are skipped. Returns the ids inserted."""
    if not rows:
        return set()
    if connection.vendor != "postgresql":
        return _insert_event_rows_portable(rows)
    fields = [Event._meta.get_field(name) for name in EVENT_COLUMNS]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    arrays = ", ".join(f"%b::{_array_type(f)}" for f in fields)
    selects = ", ".join(
        f"u{i}::jsonb" if isinstance(f, models.JSONField) else f"u{i}" for i, f in enumerate(fields)
    )
    aliases = ", ".join(f"u{i}" for i in range(len(fields)))
    json_at = EVENT_COLUMNS.index("properties")
    params = [
        [_json(row[i]) for row in rows] if i == json_at else [row[i] for row in rows]
        for i in range(len(fields))
    ]
    table, key = quote(Event._meta.db_table), quote("message_id")
    # Only quoted names, types and placeholders are formatted in; values are parameters.
    sql = (
        f"INSERT INTO {table} ({columns}) SELECT {selects} FROM unnest({arrays}) AS u ({aliases}) "  # noqa: S608
        f"ON CONFLICT ({key}) DO NOTHING RETURNING {key}"
    )
    connection.ensure_connection()
    with _server_cursor() as cursor:
        cursor.execute(sql, params)
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
        sql = f"INSERT INTO {table} ({columns}) VALUES {values} ON CONFLICT ({key}) DO NOTHING RETURNING {key}"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            inserted.update(message_id for (message_id,) in cursor.fetchall())
    return inserted


def lock_identity_rows(keys) -> list[tuple]:
    """`(id, customer_id, kind, value, partner, is_verified)` of the identities with these
    keys, locked FOR UPDATE in id order (the lock order every resolution follows)."""
    keys = list(keys)
    if not keys:
        return []
    if connection.vendor != "postgresql":
        from customers.services.identities import identities_matching

        return list(
            identities_matching(keys)
            .select_for_update()
            .order_by("id")
            .values_list("id", "customer_id", "kind", "value", "partner", "is_verified")
        )
    sql = (
        "SELECT i.id, i.customer_id, i.kind, i.value, i.partner, i.is_verified "
        "FROM customers_identity AS i "
        "JOIN unnest(%b::text[], %b::text[], %b::text[]) AS k (kind, value, partner) "
        "ON i.kind = k.kind AND i.value = k.value AND i.partner = k.partner "
        "ORDER BY i.id FOR UPDATE OF i"
    )
    params = [[k.kind for k in keys], [k.value for k in keys], [k.partner for k in keys]]
    connection.ensure_connection()
    with _server_cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
