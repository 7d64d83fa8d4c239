"""Guards every request before a view sees it: no NUL character in the path or query (any
page), then, for /api/, body size and idempotency keys; and the answer when a service the
request needs is missing (ServiceFailureMiddleware)."""

import hashlib
from contextlib import ExitStack

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import connection, connections
from django.http import HttpResponse, JsonResponse
from django.http.request import RawPostDataException
from django.template import loader
from django.utils.translation import gettext as _
from django.views.defaults import bad_request

from core.api.errors import (
    CommitTracker,
    failure_headers,
    failure_json,
    failure_of,
    json_error,
    log_failure,
    validation_error_body,
)
from core.api.parsers import nul_refusal
from core.services import idempotency
from core.services.api_keys import key_for

API_PREFIX = "/api/"
MAX_KEY_LENGTH = 255


class RefuseNulMiddleware:
    """PostgreSQL cannot compare or store text holding a NUL character: a path or query
    parameter carrying one would fail the first query that uses it (a 500). Refuse it here
    for every view at once: in the API's error format under /api/, a plain 400 page
    elsewhere. (JSON bodies are checked by core.api.parsers.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refusal = self._refusal(request)
        if refusal is None:
            return self.get_response(request)
        if not request.path.startswith(API_PREFIX):
            return bad_request(request, refusal)
        return JsonResponse(validation_error_body(refusal.detail), status=400)

    def _refusal(self, request):
        if "\x00" in request.path:
            return nul_refusal("path")
        query = request.META.get("QUERY_STRING", "")
        if "%00" not in query and "\x00" not in query:
            return None
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                return nul_refusal(name)
        return None


class ApiRequestMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        too_large = self._refuse_oversize(request)
        if too_large:
            return too_large
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key:
            return self.get_response(request)
        return self._idempotent(request, key)

    def _refuse_oversize(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return json_error("malformed_request", "Content-Length is not a number.", 400)
        if length > settings.API_MAX_BODY_BYTES:
            return json_error(
                "request_too_large",
                f"The body is {length} bytes; the limit is {settings.API_MAX_BODY_BYTES}.",
                413,
            )
        return None

    def _client_of(self, request):
        """Who owns the key space: the API key (by digest, so knowing a prefix is not
        enough to read another client's stored answers) or the signed-in staff user."""
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            raw = auth[7:].strip()
            api_key = key_for(raw)
            if api_key is None:
                return None
            # Authentication reuses it rather than looking the key up a second time.
            request._omni_api_key = (raw, api_key)
            return "key:" + hashlib.sha256(raw.encode()).hexdigest()
        if request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return None

    def _idempotent(self, request, key):
        if len(key) > MAX_KEY_LENGTH:
            return json_error(
                "invalid",
                f"Idempotency-Key is longer than {MAX_KEY_LENGTH} characters.",
                400,
                {"Idempotency-Key": ["Too long."]},
            )
        client = self._client_of(request)
        if client is None:
            # Not authenticated: let the view answer 401 as usual; nothing to store.
            return self.get_response(request)
        try:
            body = request.body
        except (RequestDataTooBig, RawPostDataException):
            return json_error("request_too_large", "The body is too large.", 413)
        digest = idempotency.request_digest(
            request.method, request.get_full_path(), _comparable_body(request, body)
        )
        try:
            claim = idempotency.claim(
                client, key, method=request.method, path=request.path, digest=digest
            )
        except idempotency.IdempotencyKeyReused:
            return json_error(
                "idempotency_key_reused",
                "This Idempotency-Key was already used with a different request.",
                409,
            )
        except idempotency.IdempotencyInProgress:
            return json_error(
                "idempotency_request_in_progress",
                "A request with this Idempotency-Key is still being processed; retry later.",
                409,
            )
        if not claim.is_new:
            record = claim.record
            response = HttpResponse(
                bytes(record.response_body or b""),
                status=record.status_code,
                content_type=record.content_type or "application/json",
            )
            response["Idempotent-Replayed"] = "true"
            return response
        try:
            response = self.get_response(request)
        except BaseException:
            _reconnect_if_broken()
            idempotency.release(claim.record)
            raise
        # A connection the database dropped during the view is replaced, so the key is
        # released (or the answer stored) once the database is back.
        _reconnect_if_broken()
        if getattr(response, "streaming", False):
            idempotency.release(claim.record)
            return response
        idempotency.complete(
            claim.record,
            status_code=response.status_code,
            body=response.content,
            content_type=response.get("Content-Type", ""),
        )
        return response


def _comparable_body(request, body: bytes) -> bytes:
    """The body as compared between a request and its retry. A multipart body's boundary is
    drawn at random for each send, so a retried upload (same parts, new boundary) would
    otherwise count as another request; the boundary never occurs inside a part."""
    content_type = request.META.get("CONTENT_TYPE", "")
    if not content_type.lower().startswith("multipart/"):
        return body
    for parameter in content_type.split(";")[1:]:
        name, _sep, value = parameter.strip().partition("=")
        if name.lower() == "boundary" and value.strip('"'):
            return body.replace(value.strip('"').encode("latin-1", "replace"), b"BOUNDARY")
    return body


def _reconnect_if_broken():
    """Close the connection when the database dropped it (terminated, restarted): the next
    query opens a new one instead of failing on the dead one. Never inside a transaction."""
    if (
        connection.connection is not None
        and connection.errors_occurred
        and not connection.in_atomic_block
        and not connection.is_usable()
    ):
        connection.close()


SERVICE_NAMES = {
    "database": lambda: _("the database"),
    "cache": lambda: _("the cache"),
    "broker": lambda: _("the task queue"),
}


def failure_response(request, failure):
    """The answer for a Failure (core.api.errors.failure_of): the API's error object under
    /api/, else the 503 page. The page is rendered without context processors: they would
    ask the missing service again."""
    if request.path.startswith(API_PREFIX):
        return failure_json(failure)
    service = failure.outage.service if failure.outage else ""
    page = loader.render_to_string(
        "503.html",
        {
            "applied": failure.applied,
            "service": SERVICE_NAMES[service]() if service in SERVICE_NAMES else "",
            "code": failure.code,
            "retry_after": failure.outage.retry_after if failure.outage else 0,
        },
    )
    response = HttpResponse(page, status=failure.status)
    for name, value in failure_headers(failure).items():
        response[name] = value
    return response


class ServiceFailureMiddleware:
    """The one place a page or API view's unhandled failure becomes an honest answer: a
    database, cache or broker that does not answer is a 503 with Retry-After naming it; a
    failure after this request committed work is a 202 saying so, never a 500 claiming
    "not applied" (core.api.errors.failure_of). A bug that committed nothing stays the 500.

    It notes the request's committed writes (CommitTracker), so it sits after
    ApiRequestMiddleware, whose idempotency record is bookkeeping, not the request's work.
    DRF views answer through core.api.errors.api_exception_handler with the same rules;
    failures in other middleware reach core.views.server_error, which uses them too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tracker = CommitTracker()
        request._omni_commits = tracker
        with ExitStack() as wrappers:
            for each in connections.all():
                wrappers.enter_context(each.execute_wrapper(tracker))
            return self.get_response(request)

    def process_exception(self, request, exception):
        failure = failure_of(request, exception)
        if failure is None:
            return None
        log_failure(request, exception, failure)
        return failure_response(request, failure)
