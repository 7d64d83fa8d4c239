"""Prometheus metrics, in Prometheus' own format (prometheus_client), at `/metrics`.

What an operator watches, three kinds:
- **requests**: `omni_http_request_duration_seconds{view,method,status}` (rate, latency and
  errors per view, from its count and buckets) and `omni_db_query_duration_seconds`,
  `omni_cache_call_duration_seconds` (the database's and the shared cache's timings);
- **Celery**: `omni_celery_tasks_total{task,state}` (succeeded, failed, retried) and
  `omni_celery_task_duration_seconds{task}` counted where tasks run, and
  `omni_celery_queue_depth{queue}` read from the broker at scrape time;
- **the business**: gauges computed from the database at scrape time by each app's
  `metrics.py` (`@business_gauge`): events ingested, orders per channel, stock pushes pending
  and failed, messages sent and failed per channel, open conversations, SLA breaches, outbox
  backlog. Figures from the database are the same whichever process is scraped.

Several processes (gunicorn workers, Celery workers): set PROMETHEUS_MULTIPROC_DIR to a
directory they all share (emptied at deploy) and the counters and histograms of every process
are summed by whichever answers the scrape; a worker on another host serves its own on
METRICS_WORKER_PORT (with PROMETHEUS_MULTIPROC_DIR for its pool's children). The endpoint answers to `Authorization: Bearer <METRICS_TOKEN>`, or,
without a token set, only to requests from this machine.
"""

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
from celery.signals import (
    task_failure,
    task_postrun,
    task_prerun,
    task_retry,
    task_success,
    worker_ready,
)
from django.conf import settings
from django.db import connections
from django.http import HttpResponse, HttpResponseNotFound
from django.utils.module_loading import autodiscover_modules
from django.views.decorators.cache import never_cache
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily

from core.models import OutboxEvent

logger = logging.getLogger("omni.metrics")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
REQUESTS = Histogram(
    "omni_http_request_duration_seconds",
    "Time to answer a request, per view, method and status code.",
    ["view", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
DB_QUERIES = Histogram(
    "omni_db_query_duration_seconds",
    "Time of each database query made while answering requests, per database alias.",
    ["alias"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
CACHE_CALLS = Histogram(
    "omni_cache_call_duration_seconds",
    "Time of each shared-cache call, per operation and outcome (ok or unavailable).",
    ["operation", "outcome"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1),
)
CACHE_FALLBACKS = Counter(
    "omni_cache_fallbacks_total",
    "Times a use of the shared cache ran without it (the cache was unreachable), per use.",
    ["use"],
)
TASKS = Counter(
    "omni_celery_tasks_total",
    "Celery tasks run, per task and outcome (succeeded, failed, retried).",
    ["task", "state"],
)
TASK_DURATION = Histogram(
    "omni_celery_task_duration_seconds",
    "Time a Celery task ran, per task.",
    ["task"],
    buckets=LATENCY_BUCKETS + (30, 60, 300),
)


@dataclass
class _Gauge:
    name: str
    documentation: str
    labels: tuple
    compute: Callable


_GAUGES: list[_Gauge] = []


def business_gauge(name, documentation, labels=()):
    """Register a function returning [(label values tuple, value)] as a gauge read at scrape
    time. Apps declare theirs in their `metrics.py` (found by `autodiscover`)."""

    def register(function):
        _GAUGES.append(_Gauge(name, documentation, tuple(labels), function))
        return function

    return register


class BusinessCollector:
    def collect(self):
        for gauge in _GAUGES:
            family = GaugeMetricFamily(gauge.name, gauge.documentation, labels=gauge.labels)
            try:
                for label_values, value in gauge.compute():
                    family.add_metric([str(v) for v in label_values], float(value))
            except Exception:  # one failing figure (a table locked, the broker away) only
                logger.warning("metric %s could not be computed", gauge.name, exc_info=True)
                continue
            yield family


_business = BusinessCollector()


def autodiscover():
    """Import every app's `metrics.py` so its gauges register (once, from CoreConfig.ready)."""
    autodiscover_modules("metrics")


def _registry():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(_business)
        return registry
    registry = CollectorRegistry(auto_describe=False)
    for collector in (REGISTRY, _business):
        registry.register(_Forward(collector))
    return registry


class _Forward:
    """Adapts a registry (or collector) so it can be registered in another."""

    def __init__(self, source):
        self.source = source

    def collect(self):
        return self.source.collect()


def _allowed(request) -> bool:
    token = getattr(settings, "METRICS_TOKEN", "")
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


@never_cache
def metrics_view(request):
    if not _allowed(request):
        return HttpResponseNotFound()  # says nothing about whether metrics exist here
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)


# --- requests ------------------------------------------------------------------------------


class MetricsMiddleware:
    """Times every request (and the database queries it makes), labelled by the view's URL
    name, never by the path: a path holds ids, and one label per id would grow without end."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        start = time.perf_counter()
        wrappers = [(c, _QueryTimer(c.alias)) for c in connections.all(initialized_only=True)]
        for connection, timer in wrappers:
            connection.execute_wrappers.append(timer)
        try:
            response = self.get_response(request)
        finally:
            for connection, timer in wrappers:
                if timer in connection.execute_wrappers:
                    connection.execute_wrappers.remove(timer)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name if match else "") or "unresolved"
        REQUESTS.labels(view=view, method=request.method, status=str(response.status_code)).observe(
            time.perf_counter() - start
        )
        return response


class _QueryTimer:
    def __init__(self, alias):
        self.alias = alias

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            DB_QUERIES.labels(alias=self.alias).observe(time.perf_counter() - start)


# --- Celery --------------------------------------------------------------------------------


def _connect_celery_signals():
    started = {}

    @worker_ready.connect(weak=False)
    def _serve(**kwargs):
        if settings.METRICS_WORKER_PORT:
            start_http_server(settings.METRICS_WORKER_PORT, registry=_registry())

    @task_prerun.connect(weak=False)
    def _prerun(task_id=None, task=None, **kwargs):
        started[task_id] = time.perf_counter()

    @task_postrun.connect(weak=False)
    def _postrun(task_id=None, task=None, **kwargs):
        began = started.pop(task_id, None)
        if began is not None and task is not None:
            TASK_DURATION.labels(task=task.name).observe(time.perf_counter() - began)

    @task_success.connect(weak=False)
    def _success(sender=None, **kwargs):
        TASKS.labels(task=getattr(sender, "name", "?"), state="succeeded").inc()

    @task_failure.connect(weak=False)
    def _failure(sender=None, **kwargs):
        TASKS.labels(task=getattr(sender, "name", "?"), state="failed").inc()

    @task_retry.connect(weak=False)
    def _retry(sender=None, **kwargs):
        TASKS.labels(task=getattr(sender, "name", "?"), state="retried").inc()


_connect_celery_signals()


@business_gauge(
    "omni_celery_queue_depth", "Tasks waiting in the broker, per queue.", labels=("queue",)
)
def _queue_depth():
    url = settings.CELERY_BROKER_URL or ""
    if not url.startswith(("redis://", "rediss://")) or settings.CELERY_TASK_ALWAYS_EAGER:
        return []
    client = redis.Redis.from_url(
        url,
        socket_connect_timeout=settings.BROKER_TIMEOUT_SECONDS,
        socket_timeout=settings.BROKER_TIMEOUT_SECONDS,
    )
    try:
        return [((queue,), client.llen(queue)) for queue in settings.METRICS_CELERY_QUEUES]
    finally:
        client.close()


@business_gauge("omni_outbox_backlog", "Outbox events not yet delivered to webhooks.")
def _outbox_backlog():
    return [((), OutboxEvent.objects.filter(published_at__isnull=True).count())]
