"""Reads shared by core's doors: the home dashboard's figures and the health checks."""

import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.utils import load_backend
from django.utils import timezone
from django.utils.translation import gettext as _

from config.celery import app
from core.api.errors import DomainError
from core.models import Channel, ChannelKind

BEAT_HEARTBEAT_KEY = "core:beat-heartbeat"
HEALTH_PROBE_KEY = "core:health-probe"

# database alias -> (fingerprint of the channel table, its index by name)
_channel_indexes: dict[str, tuple] = {}


def channels_by_name() -> dict[str, Channel]:
    """Every channel under its code and its name (lower-cased) and, for the first active
    one of each kind, under its kind: what partners may write in a `channel` field.

    Built once per process and checked on every call against the table's fingerprint (row
    count, last change, highest id: one small query instead of loading every row), so a
    channel added, renamed or removed in any process, or in the caller's own transaction,
    is seen at once. The channels returned are shared: read them, never save them."""
    table = connection.ops.quote_name(Channel._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), max(updated_at), max(id) FROM {table}")  # noqa: S608
        fingerprint = cursor.fetchone()
    cached = _channel_indexes.get(connection.alias)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    channels = sorted(Channel.objects.all(), key=lambda c: (not c.is_active, c.id))
    index: dict[str, Channel] = {}
    for channel in channels:
        index.setdefault(channel.code.lower(), channel)
        index.setdefault(channel.name.lower(), channel)
    for channel in channels:
        index.setdefault(channel.kind, channel)
    _channel_indexes[connection.alias] = (fingerprint, index)
    return index


def channel_for(value, *, field="channel", error=None):
    """The Channel given itself or by its code. An unknown code raises `error` (each app
    passes its own DomainError subclass, so the status it answers stays its own) naming
    `field`. None stays None."""
    if value is None or isinstance(value, Channel):
        return value
    found = None
    if value != "":
        # Every API call naming a channel reads it: a raw statement (the code is unique)
        # costs a third of what building the ORM query does.
        found = next(
            iter(Channel.objects.raw("SELECT * FROM core_channel WHERE code = %s", [str(value)])),
            None,
        )
    if found is None:
        raise (error or DomainError)(
            _("No channel has the code %(code)s.") % {"code": value},
            fields={field: [_("Unknown channel.")]},
        )
    return found


def channel_summary():
    channels = list(Channel.objects.order_by("kind", "name"))
    return {
        "channels": channels,
        "selling": sum(1 for c in channels if c.sells and c.is_active),
        "messaging": sum(1 for c in channels if c.messages and c.is_active),
        "kinds_missing": [
            label for value, label in ChannelKind.choices if value not in {c.kind for c in channels}
        ],
    }


# No check may hold /healthz (and the load balancer asking it) longer than this.
CHECK_TIMEOUT_SECONDS = 2
# Cache backends that live inside the process: nothing to reach, so never "down".
_IN_PROCESS_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}


def _timed(check) -> dict:
    """Run `check()` (returns extra fields, or raises) and report status and latency."""
    started = time.perf_counter()
    try:
        result = {"status": "ok", **(check() or {})}
    except Exception as error:  # a check reports any failure, whatever its type
        result = {"status": "error", "error": f"{type(error).__name__}: {error}".strip()}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def database_check() -> dict:
    """A SELECT 1 on a connection of its own, opened with a short connect timeout (the
    request's connection would wait for PostgreSQL as long as the OS lets it)."""

    def check():
        if connection.vendor != "postgresql":
            probe = connection  # SQLite: a file (or a test's in-memory database) in-process
        else:
            settings_dict = connection.settings_dict
            options = {**settings_dict.get("OPTIONS", {}), "connect_timeout": CHECK_TIMEOUT_SECONDS}
            backend = load_backend(settings_dict["ENGINE"])
            probe = backend.DatabaseWrapper({**settings_dict, "OPTIONS": options}, connection.alias)
        try:
            with probe.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        finally:
            if probe is not connection:
                probe.close()
        return {"vendor": connection.vendor}

    return _timed(check)


def broker_required() -> bool:
    """A broker is configured (CELERY_BROKER_URL): without one, tasks run in-process."""
    return not settings.CELERY_TASK_ALWAYS_EAGER


def broker_check() -> dict:
    if not broker_required():
        return {"status": "skipped", "reason": "tasks run eagerly, no broker"}

    def check():
        with app.connection_for_write() as conn:
            conn.ensure_connection(
                max_retries=1, interval_start=0.2, interval_max=0.2, timeout=CHECK_TIMEOUT_SECONDS
            )
        return {}

    return _timed(check)


def cache_required() -> bool:
    """A shared cache is configured (CACHE_URL): rate limits and beat's heartbeat live there."""
    return settings.CACHES["default"]["BACKEND"] not in _IN_PROCESS_CACHES


def cache_check() -> dict:
    """Write and read back one key: the cache answers, and answers what it was given."""

    def check():
        token = str(time.time_ns())
        cache.set(HEALTH_PROBE_KEY, token, timeout=CHECK_TIMEOUT_SECONDS * 5)
        if cache.get(HEALTH_PROBE_KEY) != token:
            raise RuntimeError("the cache did not keep a value written just now")
        return {"shared": cache_required()}

    return _timed(check)


def beat_check() -> dict:
    """Beat is failing when its heartbeat is missing or older than three of its intervals:
    with a broker configured, nothing periodic (outbox, SLA, reservations) runs without it."""
    started = time.perf_counter()
    result = _beat_state()
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def _beat_state() -> dict:
    limit = 3 * settings.BEAT_HEARTBEAT_SECONDS
    try:
        last_beat = cache.get(BEAT_HEARTBEAT_KEY)
    except Exception as error:  # the heartbeat lives in the cache: any cache failure
        return {"status": "error", "error": f"cannot read the heartbeat from the cache: {error}"}
    if last_beat is None:
        return {"status": "error", "error": "no heartbeat from celery beat"}
    age = (timezone.now() - timezone.datetime.fromisoformat(last_beat)).total_seconds()
    if age > limit:
        return {
            "status": "error",
            "error": f"last heartbeat {age:.0f} s ago (limit {limit:.0f} s)",
            "last_heartbeat_seconds_ago": round(age, 1),
        }
    return {"status": "ok", "last_heartbeat_seconds_ago": round(age, 1)}


def health():
    """Checks of what a running back-office needs: `(is_healthy, checks)`. Each check has a
    status (ok, error or skipped), its latency in ms and whether this deployment `required`
    it; only a required check in error makes the whole unhealthy. The database always is;
    the broker and beat are when a broker is configured; the cache when it is shared
    (CACHE_URL). The embedded default has neither, so it is healthy with its database."""
    checks = {
        "database": {**database_check(), "required": True},
        "broker": {**broker_check(), "required": broker_required()},
        "cache": {**cache_check(), "required": cache_required()},
    }
    if broker_required():
        checks["beat"] = {**beat_check(), "required": True}
    else:
        checks["beat"] = {
            "status": "skipped",
            "reason": "no broker: periodic tasks need `celery beat` with a broker",
            "required": False,
        }
    healthy = all(check["status"] != "error" for check in checks.values() if check["required"])
    return healthy, checks
