"""What no JSON body may carry, checked once before any door decodes it: nesting deeper than
MAX_JSON_DEPTH (Python's and msgspec's decoders recurse, and fail with RecursionError) and the
NUL character (PostgreSQL cannot store it in text or jsonb, and fails the statement).

DRF views read bodies through `JSONParser` (REST_FRAMEWORK's only parser); the doors that
decode raw bytes with msgspec call `check_json_body`; paths and query strings are checked by
core.middleware.RefuseNulMiddleware, with the same message.
"""

import io
from itertools import accumulate

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, parsers
from rest_framework.utils import json

MAX_JSON_DEPTH = 64
NUL_MESSAGE = gettext_lazy("Text may not contain the NUL character (\\u0000).")

# Every byte but the brackets and the quote: what is left of a document is its structure.
_NOT_STRUCTURE = bytes(set(range(256)) - set(b'[]{}"'))
_STEP = [0] * 256
for _open, _close in (b"[]", b"{}"):
    _STEP[_open], _STEP[_close] = 1, -1


def nul_path(value, path: str = "") -> str | None:
    """The dotted path (`traits.first_name`, `lines.0.sku`) of the first key or text in a
    decoded JSON value that holds a NUL, `path` itself for a text, or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, inner in value.items():
            inner_path = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return inner_path
            found = nul_path(inner, inner_path)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            found = nul_path(inner, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None


def nul_refusal(path: str) -> exceptions.ValidationError:
    """The error naming the field (or query parameter) whose text holds a NUL: a 400
    `invalid` in the API's error format."""
    return exceptions.ValidationError({path: [NUL_MESSAGE]})


def refuse_nul(value) -> None:
    """Raise ValidationError naming the first field of a decoded JSON value holding a NUL."""
    path = nul_path(value)
    if path is not None:
        raise nul_refusal(path or "non_field_errors")


def is_nested_too_deep(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Does the JSON document nest arrays and objects more than `limit` deep? A few linear
    passes in C (no recursion): a 50,000-deep body costs what its size costs to read."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    # Without escaped backslashes, then escaped quotes, every quote left opens or closes a
    # string: the brackets outside strings are the even pieces between quotes.
    structure = raw.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    brackets = b"".join(structure.split(b'"')[::2])
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > limit


def refuse_deep_nesting(raw: bytes) -> None:
    if is_nested_too_deep(raw):
        raise exceptions.ParseError(
            _("JSON nested deeper than %(limit)d levels.") % {"limit": MAX_JSON_DEPTH}
        )


def check_json_body(raw: bytes, *, nul_allowed: bool = False) -> None:
    """For doors that decode raw bytes themselves: raise ParseError (400 malformed_request)
    for nesting past MAX_JSON_DEPTH, and ValidationError (400 invalid, naming the field) for
    a NUL anywhere unless `nul_allowed` (a door that judges parts of the body alone)."""
    refuse_deep_nesting(raw)
    # A NUL can only reach a decoded string through the escape `\u0000`; a raw NUL byte
    # is malformed JSON, which the door's decoder refuses.
    if nul_allowed or b"\\u0000" not in raw:
        return
    try:
        document = json.loads(raw)
    except ValueError:
        return  # malformed: the door's own decoder says where
    refuse_nul(document)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing too deep nesting and NUL characters (see module)."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        refuse_deep_nesting(raw)
        data = super().parse(io.BytesIO(raw), media_type, parser_context)
        if b"\\u0000" in raw:
            refuse_nul(data)
        return data
