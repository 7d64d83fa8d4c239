"""Following one piece of work end to end: a request id, structured logs, error tracking.

- Every request gets an id: the caller's `X-Request-Id` when it is a plain token (letters,
  digits, `._-`, at most 100), else a new one; it is answered in `X-Request-Id`, carried in
  the headers of every Celery task the request publishes (and of tasks those tasks publish),
  sent with every outbound webhook and stock push (`X-Request-Id`, through
  core.services.outbox.post_signed), and written on every log line.
- One log line per request (`omni.request`) and per task (`omni.task`), with its duration and
  outcome. With LOG_FORMAT=json (the default when DEBUG is off) every line is a JSON object.
- OTEL_ENABLED turns on OpenTelemetry tracing of requests and tasks, exported over OTLP/HTTP
  to OTEL_EXPORTER_OTLP_ENDPOINT (a collector), for those who run one.
- SENTRY_DSN turns on Sentry (sentry-sdk, Django and Celery integrations) with personal data
  scrubbed before anything leaves: emails, phone numbers and message texts never reach it.
"""

import contextvars
import logging
import re
import time
import uuid

from celery.signals import before_task_publish, task_postrun, task_prerun
from django.conf import settings

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
# The request being answered (None in tasks and commands), for who-did-what records.
request_var: contextvars.ContextVar = contextvars.ContextVar("request", default=None)
TOKEN = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
HEADER = "X-Request-Id"
request_log = logging.getLogger("omni.request")
task_log = logging.getLogger("omni.task")


def current_request_id() -> str:
    return request_id_var.get()


def current_request():
    return request_var.get()


def new_request_id(given: str | None = None) -> str:
    return given if given and TOKEN.match(given) else uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (empty outside a request or task)."""

    def filter(self, record):
        record.request_id = request_id_var.get()
        return True


def _install_record_factory():
    """Every log record is born with the current request id, whatever handler (ours, a test's
    capture, Celery's) later reads it."""
    make = logging.getLogRecordFactory()
    if getattr(make, "adds_request_id", False):
        return

    def factory(*args, **kwargs):
        record = make(*args, **kwargs)
        record.request_id = request_id_var.get()
        return record

    factory.adds_request_id = True
    logging.setLogRecordFactory(factory)


_install_record_factory()


class RequestIdMiddleware:
    """First in the chain (after the metrics timer): everything below logs with the id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = new_request_id(request.headers.get(HEADER))
        token = request_id_var.set(request_id)
        request_token = request_var.set(request)
        request.request_id = request_id
        start = time.perf_counter()
        try:
            response = self.get_response(request)
            response[HEADER] = request_id
            match = getattr(request, "resolver_match", None)
            request_log.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "view": match.view_name if match else "",
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - start) * 1000, 1),
                    "user_id": getattr(getattr(request, "user", None), "pk", None),
                },
            )
            return response
        finally:
            request_id_var.reset(token)
            request_var.reset(request_token)


# --- Celery: the id travels in the task's headers ----------------------------------------


def _connect_celery_signals():
    started: dict[str, tuple[float, contextvars.Token | None]] = {}

    @before_task_publish.connect(weak=False)
    def _carry(headers=None, **kwargs):
        request_id = request_id_var.get()
        if headers is not None and request_id and not headers.get("request_id"):
            headers["request_id"] = request_id

    @task_prerun.connect(weak=False)
    def _adopt(task_id=None, task=None, **kwargs):
        request = getattr(task, "request", None)
        headers = getattr(request, "headers", None) or {}
        given = getattr(request, "request_id", None) or headers.get("request_id")
        token = None
        # Eager tasks run inside the request and keep its id; a worker adopts the publisher's.
        if given or not request_id_var.get():
            token = request_id_var.set(new_request_id(given))
        started[task_id] = (time.perf_counter(), token)

    @task_postrun.connect(weak=False)
    def _log(task_id=None, task=None, state=None, **kwargs):
        began, token = started.pop(task_id, (None, None))
        if task is not None:
            task_log.info(
                "task %s %s",
                task.name,
                state,
                extra={
                    "task": task.name,
                    "task_id": task_id,
                    "state": state,
                    "duration_ms": round((time.perf_counter() - began) * 1000, 1)
                    if began
                    else None,
                },
            )
        if token is not None:
            request_id_var.reset(token)


_connect_celery_signals()


# --- Sentry --------------------------------------------------------------------------------

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
PHONE = re.compile(r"\+?\d[\d ()-]{6,}\d")
# Keys whose values are what customers wrote or who they are: dropped whole.
PERSONAL_KEYS = {
    "text", "html", "body", "subject", "message_text", "email", "phone", "address",
    "first_name", "last_name", "name", "identities", "value", "to", "from", "password",
}  # fmt: skip
REDACTED = "[redacted]"


def scrub(value, key=None):
    """A copy of `value` with personal data replaced (see PERSONAL_KEYS, EMAIL, PHONE)."""
    if key is not None and str(key).lower() in PERSONAL_KEYS and value not in (None, "", [], {}):
        return REDACTED
    if isinstance(value, dict):
        return {k: scrub(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    if isinstance(value, str):
        return PHONE.sub(REDACTED, EMAIL.sub(REDACTED, value))
    return value


QUOTED = re.compile("'[^']*'|\"[^\"]*\"")


def _scrub_text(text):
    """Free text that may quote what a customer wrote (an exception's message, a log
    message): quoted parts go too, besides emails and phones."""
    return QUOTED.sub(REDACTED, scrub(text)) if isinstance(text, str) else scrub(text)


def before_send(event, hint):
    """Sentry's hook: the event as it will be sent, scrubbed. The exception's type and stack
    (code, line numbers) stay; local variables are never sent (init_sentry), request bodies,
    messages and breadcrumbs are scrubbed of emails, phones and quoted texts."""
    event = scrub(event)
    for exception in (event.get("exception") or {}).get("values") or []:
        exception["value"] = _scrub_text(exception.get("value"))
    if isinstance(event.get("logentry"), dict):
        for key in ("message", "formatted"):
            event["logentry"][key] = _scrub_text(event["logentry"].get(key))
    if "message" in event:
        event["message"] = _scrub_text(event["message"])
    return event


def init_sentry():
    dsn = getattr(settings, "SENTRY_DSN", "")
    if not dsn:
        return False
    # An optional extra (pip install .[sentry]): imported only when configured.
    import sentry_sdk  # noqa: PLC0415
    from sentry_sdk.integrations.celery import CeleryIntegration  # noqa: PLC0415
    from sentry_sdk.integrations.django import DjangoIntegration  # noqa: PLC0415

    sentry_sdk.init(
        dsn=dsn,
        environment=settings.SENTRY_ENVIRONMENT,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # Personal data is not sent by default (no send_default_pii); a frame's variables may
        # hold anything a customer wrote, under any name: not sent either.
        include_local_variables=False,
        before_send=before_send,
        before_breadcrumb=lambda crumb, hint: {
            **scrub(crumb),
            "message": _scrub_text(crumb.get("message")),
        },
        traces_sample_rate=settings.SENTRY_TRACES_SAMPLE_RATE,
    )
    return True


# --- OpenTelemetry ---------------------------------------------------------------------------

_tracer_provider = None


def init_tracing():
    """With OTEL_ENABLED: spans for every request (Django) and task (Celery), batched to the
    collector at OTEL_EXPORTER_OTLP_ENDPOINT over OTLP/HTTP. Returns the provider, or None."""
    global _tracer_provider
    if not getattr(settings, "OTEL_ENABLED", False) or _tracer_provider is not None:
        return _tracer_provider
    # An optional extra (pip install .[otel]): imported only when tracing is on.
    from opentelemetry import trace  # noqa: PLC0415
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415
    from opentelemetry.instrumentation.celery import CeleryInstrumentor  # noqa: PLC0415
    from opentelemetry.instrumentation.django import DjangoInstrumentor  # noqa: PLC0415
    from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

    provider = TracerProvider(
        resource=Resource.create({"service.name": settings.OTEL_SERVICE_NAME})
    )
    endpoint = settings.OTEL_EXPORTER_OTLP_ENDPOINT.rstrip("/") + "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, timeout=5)))
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(provider)  # once per process, as OpenTelemetry allows
    DjangoInstrumentor().instrument(tracer_provider=provider)
    CeleryInstrumentor().instrument(tracer_provider=provider)
    _tracer_provider = provider
    return provider


def stop_tracing():
    """Undo init_tracing (tests): the instrumentation comes off and spans are flushed."""
    global _tracer_provider
    if _tracer_provider is None:
        return
    from opentelemetry.instrumentation.celery import CeleryInstrumentor  # noqa: PLC0415
    from opentelemetry.instrumentation.django import DjangoInstrumentor  # noqa: PLC0415

    DjangoInstrumentor().uninstrument()
    CeleryInstrumentor().uninstrument()
    _tracer_provider.shutdown()
    _tracer_provider = None
