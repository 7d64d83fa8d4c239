"""Reads shared by core's doors: the home dashboard's figures and the health checks."""

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import Channel, ChannelKind

BEAT_HEARTBEAT_KEY = "core:beat-heartbeat"

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
    found = Channel.objects.filter(code=str(value)).first() if value != "" else None
    if found is None:
        from core.api.errors import DomainError

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


def beat_check() -> dict:
    """Beat is failing when its heartbeat is missing or older than three of its intervals:
    with a broker configured, nothing periodic (outbox, SLA, reservations) runs without it."""
    limit = 3 * settings.BEAT_HEARTBEAT_SECONDS
    last_beat = cache.get(BEAT_HEARTBEAT_KEY)
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
    """Checks of what a running back-office needs: `(is_healthy, checks)`."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = {"status": "ok", "vendor": connection.vendor}
    except Exception as error:  # the check reports any failure, whatever its type
        checks["database"] = {"status": "error", "error": str(error)}

    if settings.CELERY_TASK_ALWAYS_EAGER:
        checks["broker"] = {"status": "skipped", "reason": "tasks run eagerly, no broker"}
    else:
        from config.celery import app

        try:
            with app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
            checks["broker"] = {"status": "ok"}
        except Exception as error:  # kombu raises many kinds of connection error
            checks["broker"] = {"status": "error", "error": str(error)}
        checks["beat"] = beat_check()
    healthy = all(check["status"] != "error" for check in checks.values())
    return healthy, checks
