"""The one error format of the API: `{"error": {"code", "message", "fields"}}`.

Every exception a view lets out passes through `api_exception_handler`. Apps raise their own
domain exceptions (subclasses of `DomainError`) and never format errors themselves.
"""

import logging
import re
from dataclasses import dataclass

from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis import exceptions as redis_errors
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback


class DomainError(Exception):
    """A business rule refused the request. Apps subclass it:

    class InsufficientStock(DomainError):
        code = "insufficient_stock"
        status_code = 409
    """

    code = "domain_error"
    status_code = 400

    def __init__(self, message, *, fields=None, **details):
        super().__init__(message)
        self.message = str(message)
        self.fields = fields or {}
        self.details = details


def error_body(code, message, fields=None, **details):
    error = {"code": code, "message": str(message), "fields": fields or {}}
    error.update(details)
    return {"error": error}


def _flatten(detail):
    """DRF's nested error detail -> {"field": ["message", ...], "lines.0.sku": [...]}"""
    fields = {}

    def walk(value, path):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list) and value and not all(isinstance(item, str) for item in value):
            for index, inner in enumerate(value):
                if inner:
                    walk(inner, f"{path}.{index}" if path else str(index))
        else:
            messages = value if isinstance(value, list) else [value]
            fields.setdefault(path or "non_field_errors", []).extend(str(m) for m in messages)

    walk(detail, "")
    return fields


def validation_error_body(detail):
    fields = _flatten(detail)
    names = [name for name in fields if name != "non_field_errors"]
    if names:
        message = "Invalid input in: " + ", ".join(names) + "."
    else:
        message = "; ".join(fields.get("non_field_errors", ["Invalid input."]))
    return error_body("invalid", message, fields)


CODES = {
    exceptions.ParseError: "malformed_request",
    exceptions.AuthenticationFailed: "not_authenticated",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(
            error_body(exc.code, exc.message, exc.fields, **exc.details), status=exc.status_code
        )
    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(detail)
    if not isinstance(exc, exceptions.APIException | Http404 | PermissionDenied):
        # Not the client's mistake: a missing service (503), or work committed before the
        # failure (202, see failure_of). A bug that committed nothing goes on to the 500.
        request = getattr(context.get("request"), "_request", context.get("request"))
        failure = failure_of(request, exc)
        if failure is None:
            return None
        log_failure(request, exc, failure)
        set_rollback()
        return Response(
            failure_body(failure), status=failure.status, headers=failure_headers(failure)
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = validation_error_body(exc.detail)
        return response
    code = CODES.get(type(exc)) or getattr(exc, "default_code", "error")
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    details = {}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        details["retry_after"] = int(exc.wait)
    response.data = error_body(code, message, **details)
    return response


def json_error(code, message, status_code, fields=None):
    """For errors raised outside DRF views (middleware, URL resolver)."""
    return JsonResponse(error_body(code, message, fields), status=status_code)


def api_not_found(request, exception=None):
    return json_error("not_found", f"No API endpoint at {request.path}.", status.HTTP_404_NOT_FOUND)


def api_server_error(request):
    return json_error(
        "server_error",
        "The server failed; the request was not applied.",
        status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


# --- When a service is missing, or the server fails -------------------------------------
#
# The project does not wrap requests in one transaction (no ATOMIC_REQUESTS): each service
# runs its own `transaction.atomic()`, so a deadlock's victim can run once more and work is
# enqueued on commit. A request may therefore commit some work and fail afterwards (an
# on_commit hook, the answer's serializer, a later service). `CommitTracker` (installed by
# core.middleware.ServiceFailureMiddleware) notes whether anything this request wrote was
# committed; only when nothing was may an answer say "not applied".

logger = logging.getLogger("core.failures")

# How long a partner should wait before retrying when a service is unreachable: a restart of
# PostgreSQL or Redis takes a few seconds. A busy database (deadlock, lock timeout) frees
# itself faster.
RETRY_AFTER_SECONDS = 5
RETRY_AFTER_BUSY_SECONDS = 1

# SQLSTATEs that mean "the server is not there for us": connection exceptions (class 08),
# terminated by an administrator or a crash, starting up or shutting down, too many clients.
_UNREACHABLE_STATES = {"57P01", "57P02", "57P03", "57P05", "53300"}
# Transient and rolled back whole: deadlock and serialization failures (class 40), a lock
# not available, a statement cancelled by its timeout.
_BUSY_STATES = {"55P03", "57014"}
_SQLITE_BUSY = {"SQLITE_BUSY", "SQLITE_LOCKED"}
_SQLITE_UNREACHABLE = {"SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_FULL", "SQLITE_READONLY"}


@dataclass(frozen=True)
class Outage:
    """A service the request needed did not answer."""

    service: str  # "database", "cache", "broker"
    code: str  # the API error code: database_unavailable, database_busy, ...
    retry_after: int
    reason: str


def _database_outage(exc):
    if isinstance(exc, InterfaceError):
        # "connection already closed": the server went away under a kept connection.
        return Outage("database", "database_unavailable", RETRY_AFTER_SECONDS, str(exc))
    if not isinstance(exc, OperationalError):
        return None
    cause = exc.__cause__
    sqlite_name = getattr(cause, "sqlite_errorname", None)
    if sqlite_name is not None:
        if sqlite_name in _SQLITE_BUSY:
            return Outage("database", "database_busy", RETRY_AFTER_BUSY_SECONDS, str(exc))
        if sqlite_name in _SQLITE_UNREACHABLE:
            return Outage("database", "database_unavailable", RETRY_AFTER_SECONDS, str(exc))
        return None  # "no such table" and the like: a bug or a missing migration
    state = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    if state is None or state.startswith("08") or state in _UNREACHABLE_STATES:
        # libpq's own failures carry no SQLSTATE: connection refused, server closed the
        # connection unexpectedly, timeout expired.
        return Outage("database", "database_unavailable", RETRY_AFTER_SECONDS, str(exc))
    if state.startswith("40") or state in _BUSY_STATES:
        return Outage("database", "database_busy", RETRY_AFTER_BUSY_SECONDS, str(exc))
    return None


def _cache_outage(exc):
    if isinstance(exc, redis_errors.ConnectionError | redis_errors.TimeoutError):
        return Outage("cache", "cache_unavailable", RETRY_AFTER_SECONDS, str(exc))
    return None


def _broker_outage(exc):
    if isinstance(exc, BrokerOperationalError):
        return Outage("broker", "broker_unavailable", RETRY_AFTER_SECONDS, str(exc))
    return None


def outage_of(exc) -> Outage | None:
    """The unreachable (or busy) service behind `exc`, or None when `exc` is a bug. Follows
    explicit causes (`raise ... from`), so a library's wrapper of a Redis error counts."""
    seen = 0
    while exc is not None and seen < 5:
        for classify in (_database_outage, _cache_outage, _broker_outage):
            outage = classify(exc)
            if outage is not None:
                return outage
        exc, seen = exc.__cause__, seen + 1
    return None


# Writes that keep books about the request rather than apply it: the API key's last use, the
# idempotency record, the session.
_BOOKKEEPING_TABLES = {"core_apikey", "core_idempotencyrecord", "django_session"}
_NOT_A_WRITE = re.compile(
    r"\s*(SELECT|SAVEPOINT|RELEASE|ROLLBACK|BEGIN|SET|SHOW|EXPLAIN|PRAGMA|VALUES)\b", re.I
)
_WRITTEN_TABLE = re.compile(r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+[`"]?(\w+)', re.I)


def is_write(sql) -> bool:
    """Whether `sql` may change data (an unknown statement counts as one: claiming "not
    applied" wrongly is the worse mistake)."""
    if not isinstance(sql, str):
        return True
    if _NOT_A_WRITE.match(sql):
        return False
    written = _WRITTEN_TABLE.match(sql)
    return not (written and written.group(1).lower() in _BOOKKEEPING_TABLES)


class CommitTracker:
    """A database execute wrapper noting whether a write of this request was committed: at
    once in autocommit mode, else when its transaction commits (an on_commit hook, which a
    rolled-back transaction or savepoint discards)."""

    def __init__(self):
        self.committed = False
        self._mark = self._mark_committed

    def _mark_committed(self):
        self.committed = True

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not self.committed and is_write(sql):
            connection = context["connection"]
            if not connection.in_atomic_block:
                self.committed = True
            else:
                savepoints = set(connection.savepoint_ids)
                if not any(
                    hook[1] is self._mark and hook[0] == savepoints
                    for hook in connection.run_on_commit
                ):
                    connection.on_commit(self._mark, robust=True)
        return result


def _raised_after_commit(exc) -> bool:
    """`exc` came out of a commit or of an on_commit hook: the transaction was (or, when the
    COMMIT itself failed, may have been) committed."""
    tb = exc.__traceback__ if exc is not None else None
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_name in {"run_and_clear_commit_hooks", "commit", "_commit"} and (
            "django" in code.co_filename and "backends" in code.co_filename
        ):
            return True
        tb = tb.tb_next
    return False


def request_committed(request, exc=None) -> bool:
    tracker = getattr(request, "_omni_commits", None)
    return bool(tracker and tracker.committed) or _raised_after_commit(exc)


# Refusals with answers of their own (Django's response_for_exception, DRF's handler).
_ANSWERED_ELSEWHERE = (
    Http404,
    PermissionDenied,
    BadRequest,
    SuspiciousOperation,
    exceptions.APIException,
)


@dataclass(frozen=True)
class Failure:
    status: int
    code: str
    message: str
    applied: bool
    outage: Outage | None


def failure_of(request, exc) -> Failure | None:
    """What to answer for `exc`, which escaped a view or middleware: None when it is a bug
    and nothing was committed (the plain 500: "not applied" is then true), or when it is
    one of the refusals Django and DRF answer themselves (404, 403, 400)."""
    if isinstance(exc, _ANSWERED_ELSEWHERE):
        return None
    outage = outage_of(exc)
    if request_committed(request, exc):
        cause = f"the {outage.service} became unreachable" if outage else "an internal error"
        return Failure(
            status.HTTP_202_ACCEPTED,
            "applied_with_error",
            f"The server saved changes for this request, then failed ({cause}) before it "
            "could answer: the request may be wholly or partly applied. Read the resource "
            "before sending it again as a new request; a retry with the same Idempotency-Key "
            "replays this answer and does not apply the request twice.",
            True,
            outage,
        )
    if outage is None:
        return None
    what = (
        "The database is busy (a deadlock or a lock timeout)"
        if outage.code == "database_busy"
        else f"The {outage.service} is unreachable"
    )
    return Failure(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        outage.code,
        f"{what}; the request was not applied. Retry after {outage.retry_after} seconds.",
        False,
        outage,
    )


def log_failure(request, exc, failure):
    if failure.applied:
        # The request's work was kept, but the failure may be a bug: keep the traceback.
        logger.error(
            "%s %s failed after committing: %s", request.method, request.path, exc, exc_info=exc
        )
    else:
        logger.warning(
            "%s %s: %s (%s: %s)",
            request.method,
            request.path,
            failure.code,
            type(exc).__name__,
            failure.outage.reason.strip().splitlines()[0] if failure.outage.reason else "",
        )


def failure_headers(failure) -> dict:
    if failure.outage and not failure.applied:
        return {"Retry-After": str(failure.outage.retry_after)}
    return {}


def failure_body(failure) -> dict:
    details = {"applied": failure.applied}
    if failure.outage and not failure.applied:
        details["retry_after"] = failure.outage.retry_after
    return error_body(failure.code, failure.message, **details)


def failure_json(failure):
    response = JsonResponse(failure_body(failure), status=failure.status)
    for name, value in failure_headers(failure).items():
        response[name] = value
    return response
