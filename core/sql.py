"""Pieces of the few hot statements written out in SQL (stock, recommendations): what the
ORM would build per call, built once."""

from django.db import connection


def one_of(column: str, values) -> tuple[str, list]:
    """(condition, params) for `column` being one of `values`. On PostgreSQL one array
    parameter (`= ANY(%s)`): a single value to send and one statement text whatever the
    number, where `IN (%s, ...)` costs the driver a conversion per value. Elsewhere, the
    portable IN list. An empty `values` matches nothing."""
    values = list(values)
    if not values:
        return "FALSE" if connection.vendor == "postgresql" else "0 = 1", []
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [values]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", values
