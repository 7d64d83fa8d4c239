"""Deploy checks for settings that fail open: each passes silently in one process and breaks
only when the project runs as web workers plus Celery workers."""

from django.conf import settings
from django.core.checks import Error, register

PROCESS_LOCAL_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}


@register(deploy=True)
def cache_is_shared_when_workers_are(app_configs=None, **kwargs):
    """With a real broker, web and worker processes are separate: rate limits, debounces,
    the beat heartbeat and the per-key throttle live in the cache, so a per-process cache
    would let each process count alone (and /healthz would never see the heartbeat)."""
    broker = settings.CELERY_BROKER_URL or ""
    if broker.startswith("memory://") or settings.CELERY_TASK_ALWAYS_EAGER:
        return []
    backend = settings.CACHES["default"]["BACKEND"]
    if backend not in PROCESS_LOCAL_CACHES:
        return []
    return [
        Error(
            "CELERY_BROKER_URL names a broker but the cache is per process "
            f"({backend.rsplit('.', 1)[-1]}).",
            hint="Set CACHE_URL to the shared cache the web and worker processes use, "
            "e.g. redis://127.0.0.1:6379/1.",
            id="core.E001",
        )
    ]
