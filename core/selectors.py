"""Reads shared by core's doors: the home dashboard's figures and the health checks."""

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import Channel, ChannelKind

BEAT_HEARTBEAT_KEY = "core:beat-heartbeat"


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
        last_beat = cache.get(BEAT_HEARTBEAT_KEY)
        if last_beat is not None:
            age = (timezone.now() - timezone.datetime.fromisoformat(last_beat)).total_seconds()
            checks["beat"] = {"status": "ok", "last_heartbeat_seconds_ago": round(age, 1)}
    healthy = all(check["status"] != "error" for check in checks.values())
    return healthy, checks
