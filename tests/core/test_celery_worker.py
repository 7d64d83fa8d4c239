"""A real Celery worker and beat against Redis, started the way production starts them."""

import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from celery import Celery
from django.core.cache.backends.redis import RedisCache

from core.selectors import BEAT_HEARTBEAT_KEY
from tests.campaigns.workers import queues_of

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.worker


@contextmanager
def celery_process(*args, env):
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            output, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        if os.environ.get("SHOW_CELERY_OUTPUT"):
            print(output)


def worker_env(redis_url, **extra):
    env = {"CELERY_BROKER_URL": redis_url, "CELERY_RESULT_BACKEND": redis_url}
    env.update(extra)
    return env


def test_worker_picks_up_a_task_and_returns_its_result(redis_url):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    client = Celery(broker=redis_url, backend=redis_url, set_as_current=False)
    with celery_process(
        "worker",
        "--pool=solo",
        "-Q",
        queue,
        "-n",
        f"{queue}@%h",
        "--without-gossip",
        "--without-mingle",
        "--loglevel=INFO",
        env=worker_env(redis_url),
    ):
        result = client.send_task("core.ping", args=["hello"], queue=queue)
        assert result.get(timeout=60)["value"] == "hello"


def test_beat_schedules_the_heartbeat_and_a_worker_runs_it(redis_url, tmp_path):
    cache_url = redis_url.rsplit("/", 1)[0] + "/14"
    cache = RedisCache(cache_url, {})
    cache.delete(BEAT_HEARTBEAT_KEY)
    queue = f"beat-{uuid.uuid4().hex[:8]}"
    env = worker_env(
        redis_url,
        CACHE_URL=cache_url,
        BEAT_HEARTBEAT_SECONDS="1",
        CELERY_TASK_DEFAULT_QUEUE=queue,
        # Beat routes each task to its workload's queue: all of them this test's own.
        CELERY_QUEUE_PREFIX=f"{queue}.",
        CELERY_BEAT_SCHEDULE_FILENAME=str(tmp_path / "schedule"),
    )
    with (
        celery_process(
            "worker",
            "--pool=solo",
            "-Q",
            ",".join(queues_of(queue)),
            "-n",
            f"{queue}@%h",
            "--without-gossip",
            "--without-mingle",
            env=env,
        ),
        celery_process("beat", "--loglevel=INFO", env=env),
    ):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and cache.get(BEAT_HEARTBEAT_KEY) is None:
            time.sleep(0.5)
    assert cache.get(BEAT_HEARTBEAT_KEY) is not None, "beat never got the heartbeat to a worker"
