"""The tests' `string_if_invalid`: an undefined variable in one of the project's own template
files raises, so a typo or a key a view forgot fails the test that renders the page (in the
test client and in the live server the browser tests use) instead of printing nothing.

A variable filtered through `default` or `default_if_none` says in the template that it may be
missing (`{{ order.store.name|default:"—" }}` for an order without a store): it is allowed.
Templates that are not the project's own files are left as Django renders them: third-party
ones (the admin, DRF, drf-spectacular) and user-written message templates compiled from
strings, whose variables the campaign sandbox checks when they are saved.
"""

import sys
from pathlib import Path

from django.conf import settings
from django.template import engines

PROJECT = str(Path(__file__).resolve().parents[1])
THIRD_PARTY = (str(Path(sys.prefix).resolve()), "site-packages")


class UndefinedTemplateVariable(Exception):
    pass


def _template_file_rendering():
    """The file name of the template whose node is being rendered, or "" if none is."""
    frame = sys._getframe(2)
    for _ in range(40):
        if frame is None:
            return ""
        node = frame.f_locals.get("self")
        origin = getattr(node, "origin", None)
        if origin is not None and frame.f_code.co_name in ("render", "render_annotated"):
            return str(origin.name)
        frame = frame.f_back
    return ""


class RaiseOnUndefined(str):
    """Django formats `string_if_invalid % variable` when it holds "%s"; formatting raises.
    A str, as the template system check requires."""

    def __new__(cls):
        return super().__new__(cls, "%s")

    def __mod__(self, variable):
        expression = sys._getframe(1).f_locals.get("self")
        filters = {func.__name__ for func, _args in getattr(expression, "filters", ())}
        if filters & {"default", "default_if_none"}:
            return ""
        name = _template_file_rendering()
        if not name.startswith(PROJECT) or any(part in name for part in THIRD_PARTY):
            return ""
        raise UndefinedTemplateVariable(
            f"Undefined template variable '{variable}' in {Path(name).relative_to(PROJECT)}"
        )


def make_undefined_variables_raise():
    strict = RaiseOnUndefined()
    for options in (backend.get("OPTIONS", {}) for backend in settings.TEMPLATES):
        options["string_if_invalid"] = strict
    for backend in engines.all():
        engine = getattr(backend, "engine", None)
        if engine is not None:
            engine.string_if_invalid = strict
