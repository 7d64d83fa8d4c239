"""Real Celery workers for the fault tests: a `celery worker` process on a queue of its own
in Redis, against the test database, started and stopped by the test."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.conf import settings

from tests import pooler

ROOT = Path(__file__).resolve().parents[2]


def database_url(**options):
    """The test database as a DATABASE_URL for a worker process; `options` become
    PostgreSQL settings of its connections (lock_timeout="300ms": `-c lock_timeout=300ms`)."""
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    if options and pooler.is_running():
        # PgBouncer (1.18) refuses the `options` startup parameter: such a worker connects
        # to PostgreSQL itself.
        host, port = pooler.postgresql_address()
    url = f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"
    if options:
        flags = "%20".join(f"-c%20{name}%3D{value}" for name, value in options.items())
        url += f"?options={flags}"
    return url


WORKLOADS = ("sending", "stock", "ingest")


def queues_of(queue):
    """The test's own default queue and its workloads' queues (config/settings.py routes a
    task by name to one of them), so a test's tasks never meet another run's on one Redis."""
    return [queue, *(f"{queue}.{workload}" for workload in WORKLOADS)]


def worker_env(queue, redis_url, **extra):
    return {
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "CELERY_QUEUE_PREFIX": f"{queue}.",
        "DATABASE_URL": database_url(),
        "CONN_MAX_AGE": "0",
        **extra,
    }


def new_queue(prefix="fault"):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def start_worker(queue, env, *, queues=None):
    """A worker consuming every queue of the test (`queues_of`), or only `queues`."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "-Q",
            ",".join(queues or queues_of(queue)),
            "-n",
            f"{queue}-{uuid.uuid4().hex[:4]}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(process):
    """Stop the worker (warm shutdown, then kill) and return what it printed."""
    if process.poll() is None:
        process.terminate()
    try:
        output, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output


def wait_until(condition, timeout, step=0.2):
    """Poll `condition` until it holds (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False
