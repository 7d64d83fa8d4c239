"""What a partner or a staff member is answered when a request fails (core.api.errors,
core.middleware.ServiceFailureMiddleware, core.views.server_error):

- a cache (or database) that does not answer is a 503 with Retry-After and a code naming it;
- a bug that committed nothing is the 500 saying "not applied", and nothing is kept;
- a failure after the request committed work is never a 5xx: a 202 saying it may be applied,
  which an Idempotency-Key retry replays instead of applying the request twice.

Real components throughout: a real redis-server started and stopped by the test, real rows
and transactions (transactional tests: on_commit hooks run as in production)."""

import os
import shutil
import socket
import subprocess

import pytest
from django.test import override_settings

from core.models import Channel
from tests.campaigns.workers import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.core.fault_urls")]


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class RedisServer:
    """A redis-server of the test's own on a free port (never the shared one on 6379)."""

    def __init__(self, workdir):
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert wait_until(lambda: _answers(self.port), timeout=20), "redis-server did not start"

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=20)


@pytest.fixture
def redis_cache(tmp_path):
    """The shared cache (CACHE_URL) is a redis-server of this test's own; stop() it to have
    the cache go away under the running project."""
    if not shutil.which("redis-server"):
        reason = "needs redis-server (apt-get install redis-server)"
        if os.environ.get("OMNI_REQUIRE_SERVICES") == "1":
            pytest.fail(f"required service missing: {reason}")
        pytest.skip(reason)
    server = RedisServer(tmp_path)
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": server.url,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
    try:
        with override_settings(CACHES=caches):
            yield server
    finally:
        if server.process.poll() is None:
            server.stop()


@pytest.fixture
def partner(api_client_for):
    client = api_client_for()
    client.raise_request_exception = False
    return client


@pytest.fixture
def page_client(client):
    client.raise_request_exception = False
    return client


def test_healthz_ready_names_the_cache_when_the_shared_cache_goes_away(client, redis_cache):
    up = client.get("/healthz?ready")
    assert up.status_code == 200, up.json()
    cache_check = up.json()["checks"]["cache"]
    assert cache_check["status"] == "ok" and cache_check["required"] is True
    assert isinstance(cache_check["latency_ms"], float)

    redis_cache.stop()
    down = client.get("/healthz?ready")
    assert down.status_code == 503
    body = down.json()
    assert body["status"] == "error"
    assert body["checks"]["cache"]["status"] == "error"
    assert "ConnectionError" in body["checks"]["cache"]["error"]
    assert body["checks"]["database"]["status"] == "ok"
    # Liveness touches no dependency: the process is fine, it must not be restarted.
    assert client.get("/healthz?live").status_code == 200


def test_a_cache_error_reaching_the_handler_is_503_cache_unavailable(
    partner, page_client, redis_cache
):
    assert partner.get("/api/v1/test-failures/cache/").json() == {"result": "the cache answered"}
    redis_cache.stop()

    api = partner.get("/api/v1/test-failures/cache/")
    assert api.status_code == 503
    assert api["Retry-After"] == "5"
    error = api.json()["error"]
    assert (error["code"], error["applied"], error["retry_after"]) == (
        "cache_unavailable",
        False,
        5,
    )
    assert "not applied" in error["message"]

    page = page_client.get("/test-failures/cache/")
    assert page.status_code == 503
    assert page["Retry-After"] == "5"
    assert page["Content-Type"].startswith("text/html")
    assert b'data-error-code="cache_unavailable"' in page.content
    assert b"Nothing was saved" in page.content


def test_a_bug_that_committed_nothing_is_the_500_saying_not_applied(partner, page_client):
    # The key's first use writes its last_used_at: bookkeeping, not the request's work.
    answer = partner.post("/api/v1/test-failures/bug/")
    assert answer.status_code == 500
    assert answer.json()["error"]["code"] == "server_error"
    assert "not applied" in answer.json()["error"]["message"]
    assert "Retry-After" not in answer

    rolled_back = partner.post("/api/v1/test-failures/rolled-back-bug/")
    assert rolled_back.status_code == 500
    assert "not applied" in rolled_back.json()["error"]["message"]
    assert not Channel.objects.filter(code="rolled-back").exists()

    assert page_client.post("/test-failures/rolled-back-bug/").status_code == 500


@pytest.mark.parametrize(
    ("what", "code"), [("write-then-bug", "written"), ("hook-fails", "hooked")]
)
def test_a_failure_after_a_commit_is_never_5xx_and_a_retry_does_not_apply_it_twice(
    partner, what, code
):
    headers = {"HTTP_IDEMPOTENCY_KEY": f"after-commit-{what}"}
    first = partner.post(f"/api/v1/test-failures/{what}/", **headers)
    assert first.status_code == 202
    error = first.json()["error"]
    assert (error["code"], error["applied"]) == ("applied_with_error", True)
    assert "not applied" not in error["message"]
    assert "Retry-After" not in first

    again = partner.post(f"/api/v1/test-failures/{what}/", **headers)
    assert again.status_code == 202 and again["Idempotent-Replayed"] == "true"
    assert Channel.objects.filter(code=code).count() == 1


def test_a_page_that_failed_after_saving_says_it_was_saved(page_client):
    page = page_client.post("/test-failures/write-then-bug/")
    assert page.status_code == 202
    assert b'data-error-code="applied_with_error"' in page.content
    assert b"Your changes were saved" in page.content
    assert Channel.objects.filter(code="written").count() == 1


def test_a_refusal_after_a_write_keeps_its_own_answer(partner, page_client):
    assert page_client.get("/test-failures/write-then-404/").status_code == 404
    api = partner.get("/api/v1/test-failures/write-then-404/")
    assert (api.status_code, api.json()["error"]["code"]) == (404, "not_found")
