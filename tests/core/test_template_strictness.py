"""The suite's own guard: an undefined variable in a project template fails the test that
renders it, while a user-written template (compiled from a string) renders as in production."""

import pytest
from django.template import Context, Template
from django.template.loader import render_to_string

from tests.templates_strict import UndefinedTemplateVariable


def test_a_missing_key_in_a_project_template_raises():
    with pytest.raises(UndefinedTemplateVariable, match="row.variant.sku"):
        render_to_string("inventory/_stock_matrix.html", {"rows": [{"cells": []}], "locations": []})


def test_a_variable_declared_optional_by_default_renders():
    html = render_to_string(
        "inventory/_stock_matrix.html",
        {
            "rows": [{"variant": {"sku": "S-1", "colour": "red", "size": "38"}, "cells": []}],
            "locations": [],
        },
    )
    assert "S-1" in html


def test_user_written_templates_render_missing_values_as_empty():
    assert Template("Hi {{ nobody.name }}!").render(Context({})) == "Hi !"
