"""Reading reports and dashboards from the read replica (DATABASE_REPLICA_URL), and nothing
else: a staff page or API call that writes and reads back must see its own write, which a
lagging replica cannot promise. config/db_router.py reads this flag."""

from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connections

REPLICA = "replica"

_reading_replica = ContextVar("reading_replica", default=False)


def replica_alias() -> str | None:
    """The replica's database alias while a report reads inside `reading_replica()`, when
    one is configured; None otherwise (the read goes where it would have gone)."""
    if _reading_replica.get() and REPLICA in connections.settings:
        return REPLICA
    return None


@contextmanager
def reading_replica():
    """Reads inside go to the replica (when configured); writes still go to `default`.
    A decorator too: `@reading_replica()` on a report view or a dashboard's chart function.
    Only for pages that show figures and never read back what they wrote: the replica may
    be a few seconds behind."""
    token = _reading_replica.set(True)
    try:
        yield
    finally:
        _reading_replica.reset(token)
