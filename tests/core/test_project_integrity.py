"""Whole-project guards: no model change without its migration, Django's checks clean."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_every_model_change_has_a_migration():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=StringIO())
    except SystemExit as exit_:
        pytest.fail(f"missing migrations:\n{out.getvalue()}") if exit_.code else None


def test_system_checks_are_clean():
    call_command("check", "--fail-level", "WARNING", stdout=StringIO())
