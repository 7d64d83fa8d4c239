"""Services enqueue their app's tasks by registered name (a tasks module imports its services,
so a service importing it back would be a cycle). In a process where no tasks module has been
imported yet (a management command, a web worker), the name still finds its task."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.services.enqueue import task_of

ROOT = Path(__file__).resolve().parents[2]


def test_a_fresh_process_finds_every_app_task_by_name():
    code = (
        "import django; django.setup()\n"
        "import sys\n"
        "assert 'core.tasks' not in sys.modules and 'support.tasks' not in sys.modules\n"
        "from core.services.enqueue import task_of\n"
        "for name in ('core.deliver_outbox', 'support.send_outbound_message'):\n"
        "    assert task_of(name).name == name, name\n"
        "print('ok')\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"


def test_an_unknown_name_is_refused():
    with pytest.raises(KeyError):
        task_of("core.no_such_task")
