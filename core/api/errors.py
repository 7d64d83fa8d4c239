"""The one error format of the API: `{"error": {"code", "message", "fields"}}`.

Every exception a view lets out passes through `api_exception_handler`. Apps raise their own
domain exceptions (subclasses of `DomainError`) and never format errors themselves.
"""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


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
