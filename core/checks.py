"""Checks for settings that fail far from their cause: deploy checks for those that pass
silently in one process and break only when the project runs as web workers plus Celery
workers, and a check that the shop's currencies are real ISO 4217 codes."""

from django.conf import settings
from django.core.checks import Error, register
from moneyed import CurrencyDoesNotExist, get_currency

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


@register()
def currencies_are_iso_4217(app_configs=None, **kwargs):
    """Channels and prices take their currency from settings.CURRENCIES: a code py-moneyed
    does not know would fail where money is formatted or rounded, far from the typo."""
    unknown = []
    for code in settings.CURRENCIES:
        try:
            get_currency(code)
        except CurrencyDoesNotExist:
            unknown.append(code)
    if not unknown:
        return []
    return [
        Error(
            f"settings.CURRENCIES holds codes that are not ISO 4217: {', '.join(unknown)}.",
            hint="Use three-letter ISO 4217 codes, e.g. USD, EUR, IRR.",
            id="core.E002",
        )
    ]
