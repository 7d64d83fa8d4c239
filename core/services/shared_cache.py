"""The shared cache (CACHE_URL) speeds things up but is never a dependency: when it cannot be
reached, each use says what to do instead, and the fallback is logged and counted.

Rate limits fail open, debounces answer what their caller chose (usually "leave it to the
periodic sweep", which reads the pending work from the database), locks fall back to a
PostgreSQL advisory lock, cached reads read the database.
"""

import logging
import time
import zlib
from collections import Counter
from contextlib import contextmanager

import psycopg
from django.core.cache import cache
from django.db import connection
from redis.exceptions import RedisError

from core import metrics

logger = logging.getLogger(__name__)

WARN_EVERY_SECONDS = 60


def _cache_errors() -> tuple:
    errors = [OSError, RedisError]  # sockets: refused, reset, timed out; Redis's own
    try:
        from pymemcache.exceptions import MemcacheError  # noqa: PLC0415 (optional: memcached)
    except ImportError:
        pass
    else:
        errors.append(MemcacheError)
    return tuple(errors)


# What a cache call raises when the cache server is down, whatever the backend.
CACHE_ERRORS = _cache_errors()

# Fallbacks taken by this process since it started, per use: the metric of cache outages.
fallbacks: Counter = Counter()
_last_warned: dict[str, float] = {}


def unavailable(use: str, error: Exception) -> None:
    """Record that `use` (e.g. "rate limit") ran without the cache: counted every time,
    logged as a warning at most once a minute per use and process, so an outage is visible
    without a line for every request."""
    fallbacks[use] += 1
    metrics.CACHE_FALLBACKS.labels(use=use).inc()
    now = time.monotonic()
    if now - _last_warned.get(use, -WARN_EVERY_SECONDS) >= WARN_EVERY_SECONDS:
        _last_warned[use] = now
        logger.warning(
            "shared cache unavailable, %s falls back (%d times in this process so far): %s",
            use,
            fallbacks[use],
            error,
        )


@contextmanager
def _timed(operation):
    """Times one cache call for /metrics (core.metrics), labelled ok or unavailable."""
    start = time.perf_counter()
    outcome = "unavailable"
    try:
        yield
        outcome = "ok"
    finally:
        metrics.CACHE_CALLS.labels(operation=operation, outcome=outcome).observe(
            time.perf_counter() - start
        )


def read(key, default=None, *, use: str):
    """cache.get, or `default` (the caller then reads the database) when the cache is down."""
    try:
        with _timed("get"):
            return cache.get(key, default)
    except CACHE_ERRORS as error:
        unavailable(use, error)
        return default


def write(key, value, timeout, *, use: str) -> None:
    try:
        with _timed("set"):
            cache.set(key, value, timeout)
    except CACHE_ERRORS as error:
        unavailable(use, error)


def claim(key, timeout, *, use: str, if_unavailable: bool) -> bool:
    """A debounce: True for the first caller in `timeout` seconds (cache.add). With the cache
    down it answers `if_unavailable`: False where the work is marked pending in the database
    and a beat sweep sends it, True where the caller is that sweep."""
    try:
        with _timed("add"):
            return bool(cache.add(key, 1, timeout=timeout))
    except CACHE_ERRORS as error:
        unavailable(use, error)
        return if_unavailable


def release(key, *, use: str) -> None:
    try:
        with _timed("delete"):
            cache.delete(key)
    except CACHE_ERRORS as error:
        unavailable(use, error)


@contextmanager
def hold(key, timeout, *, use: str):
    """A lock across processes: yields True when taken, False when another holds it. The
    cache holds it (expiring after `timeout`, so a dead holder cannot keep it); with the cache
    down, a PostgreSQL advisory lock does (`_advisory_lock`: released here, or when its
    connection closes). SQLite, the single-process embedded mode, has no other process to
    exclude."""
    try:
        taken = bool(cache.add(key, 1, timeout=timeout))
    except CACHE_ERRORS as error:
        unavailable(use, error)
    else:
        try:
            yield taken
        finally:
            if taken:
                release(key, use=use)
        return
    if connection.vendor != "postgresql":
        yield True
        return
    with _advisory_lock(zlib.crc32(key.encode()) - 2**31) as taken:  # a stable bigint
        yield taken


@contextmanager
def _advisory_lock(lock_id: int):
    """Tries a transaction-scoped advisory lock on a connection of its own, whose transaction
    stays open for the block; yields whether it was taken.

    Pooler-safe: a transaction-mode pooler (PgBouncer, DATABASE_POOLER=transaction) keeps one
    server connection for an open transaction, so the lock is taken and released on the same
    one, whereas a session lock taken by one statement could stay held for good on a server
    connection the unlock never reaches. Its own connection, rather than a transaction around
    the block on the caller's: the block commits its work as it goes (a stock push commits
    its claim before the HTTP call, and its failure bookkeeping after it), as without the
    lock."""
    with psycopg.connect(**connection.get_connection_params()) as holder:
        taken = holder.execute("SELECT pg_try_advisory_xact_lock(%s)", [lock_id]).fetchone()[0]
        yield taken  # leaving the `with` ends the transaction, and the lock with it
