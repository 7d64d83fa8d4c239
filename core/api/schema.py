"""How the OpenAPI schema describes what every view shares: the error object of
`core.api.errors` under each 4xx an operation can answer, and request bodies that refuse
fields they do not name (`StrictFieldsMixin`)."""

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

from core.api.serializers import StrictFieldsMixin
from core.middleware import MAX_KEY_LENGTH

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="Machine-readable: `invalid`, `not_found`, `insufficient_stock`, ..."
    )
    message = serializers.CharField(help_text="For a person, in the request's language.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Each offending field (dotted path into the body) and what is wrong with it.",
    )
    retry_after = serializers.IntegerField(
        required=False, help_text="On 429: seconds to wait before retrying."
    )


class ErrorSerializer(serializers.Serializer):
    """Every 4xx answers this; a domain error may add its own keys beside `code`."""

    error = ErrorDetailSerializer()


class ApiSchema(AutoSchema):
    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        # Views outside /api/v1/ (Segment's tracking paths) dedupe by their own message ids.
        if self.method == "POST" and getattr(self.view, "honours_idempotency_key", True):
            self._declare_idempotency_key(operation)
        if getattr(self.view, "documents_own_errors", False):
            return operation  # another API's contract (Segment's), documented by the view
        error = {"application/json": {"schema": self._error_schema()}}
        responses = operation["responses"]
        for code, description in self._error_responses(operation):
            documented = responses.get(code)
            if documented is None:
                responses[code] = {"description": description, "content": error}
            elif not documented.get("content"):
                documented["content"] = error
        return operation

    def _declare_idempotency_key(self, operation):
        """Every POST honours an Idempotency-Key (`core.middleware`): a client generated from
        the schema must be able to send it."""
        parameters = operation.setdefault("parameters", [])
        if any(p.get("in") == "header" and p.get("name") == "Idempotency-Key" for p in parameters):
            return
        parameters.append(
            {
                "in": "header",
                "name": "Idempotency-Key",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
                "description": (
                    "Makes a retry safe: the same key with the same body within 24 hours "
                    "replays the stored answer (header `Idempotent-Replayed: true`) instead of "
                    "applying the request again; the same key with another body is a 409."
                ),
            }
        )

    def _error_schema(self):
        return self.resolve_serializer(ErrorSerializer, "response").ref

    def _error_responses(self, operation):
        """The 4xx this operation can answer, each with why: any request can be invalid
        or lack credentials; only one that names something (in the path, query or body,
        or a page) can miss it; only a write can break a business rule or reuse an
        Idempotency-Key or send a body too large; only a declared body can be of the wrong
        media type; only a throttled view can be rate-limited."""
        has_body = "requestBody" in operation
        names_something = has_body or bool(operation.get("parameters"))
        candidates = [
            ("400", True, "Invalid input; `fields` names each offending field."),
            ("401", True, "No valid credentials (API key, session or provider signature)."),
            ("403", True, "The credentials lack the scope this operation needs."),
            ("404", names_something, "Something the request names does not exist."),
            (
                "409",
                self.method in UNSAFE_METHODS,
                "A business rule refused it (`code` says which), or the Idempotency-Key was "
                "already used with another request.",
            ),
            ("413", self.method in UNSAFE_METHODS, "The body is larger than the API accepts."),
            ("415", has_body, "The body is not in a media type this operation accepts."),
            (
                "429",
                bool(self.view.get_throttles()),
                "Rate limit reached; `retry_after` says when to retry.",
            ),
        ]
        return [(code, description) for code, applies, description in candidates if applies]

    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if direction == "request" and isinstance(serializer, StrictFieldsMixin):
            schema["additionalProperties"] = False
        return schema
