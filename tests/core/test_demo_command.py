"""`seed_demo` on an empty SQLite database, as a new user runs it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from core.models import Channel

ROOT = Path(__file__).resolve().parents[2]


def test_seed_demo_fills_an_empty_sqlite_database(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),  # the demo's feeds are built there
    }
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert migrate.returncode == 0, migrate.stderr
    seed = subprocess.run(
        [sys.executable, "manage.py", "seed_demo", "--size", "small", "--seed", "7"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert seed.returncode == 0, seed.stderr[-3000:]
    assert "channels" in seed.stdout
    assert "support_agent" in seed.stdout  # the printed logins
    assert "Channels" in seed.stderr  # progress (a line per stage) goes to stderr
    # A quiet first run, with the real console logging and email: the logins come last, not
    # buried under the eager tasks' log lines and the console emails.
    seen = seed.stdout + seed.stderr
    assert len(seen.splitlines()) < 40, seen
    assert "succeeded" not in seen and "Subject:" not in seen and "kombu" not in seen, seen
    assert seed.stdout.splitlines()[-1].split()[:2] == ["support_lead", "demo-pass-123"]


@pytest.mark.django_db
def test_seed_demo_is_repeatable_with_a_seed(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # the demo's feeds are built there
    call_command("seed_demo", "--seed", "3", verbosity=0)
    first = sorted(Channel.objects.values_list("code", "kind", "currency"))
    call_command("seed_demo", "--seed", "3", verbosity=0)
    assert sorted(Channel.objects.values_list("code", "kind", "currency")) == first
    assert {"web", "store", "instagram", "whatsapp", "telegram"} <= {code for code, *_ in first}
