"""OpenAPI schema, interactive docs and the health endpoint."""

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone
from openapi_spec_validator import validate

from config.celery import app
from core.selectors import BEAT_HEARTBEAT_KEY

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def test_schema_is_openapi_3_and_lists_the_endpoints(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/channels" in schema["paths"]
    assert "apiKey" in schema["components"]["securitySchemes"]


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", method, operation


def test_schema_passes_an_openapi_validator(schema):
    validate(schema)


def test_every_operation_documents_its_errors_with_the_error_object(schema):
    error = {"$ref": "#/components/schemas/Error"}
    assert schema["components"]["schemas"]["Error"]["required"] == ["error"]
    for label, method, operation in operations(schema):
        if " /v1/" in label:
            continue  # Segment's tracking API answers in Segment's own error shape
        responses = operation["responses"]
        expected = {"400", "401", "403"}
        if "{" in label:
            expected.add("404")
        if method in {"post", "put", "patch", "delete"}:
            expected |= {"409", "413"}
        if "requestBody" in operation:
            expected.add("415")
        missing = expected - set(responses)
        assert not missing, f"{label} does not document {sorted(missing)}"
        for code, response in responses.items():
            if code.startswith("4"):
                body = response["content"]["application/json"]["schema"]
                assert body == error, f"{label} {code} is not the error object"


def test_request_bodies_refuse_fields_they_do_not_name(schema):
    components = schema["components"]["schemas"]
    for label, _method, operation in operations(schema):
        content = operation.get("requestBody", {}).get("content", {})
        body = content.get("application/json", {}).get("schema", {})
        if "$ref" not in body:
            continue  # a provider's own payload (inbound webhooks) is taken as it comes
        name = body["$ref"].rsplit("/", 1)[-1]
        assert components[name].get("additionalProperties") is False, label


def test_no_default_the_schema_itself_forbids(schema):
    def walk(node, where):
        if isinstance(node, dict):
            if node.get("default") == "":
                assert node.get("minLength", 0) == 0, where
            for key, inner in node.items():
                walk(inner, f"{where}/{key}")
        elif isinstance(node, list):
            for index, inner in enumerate(node):
                walk(inner, f"{where}/{index}")

    walk(schema, "#")


def test_nullable_relations_and_report_numbers_are_typed_as_they_are_sent(schema):
    components = schema["components"]["schemas"]
    for component, field in [
        ("OrderLineOut", "pickup_location"),
        ("OrderOut", "store"),
        ("Conversation", "assignee"),
        ("Message", "author"),
        ("Message", "channel"),
        ("StockMovement", "channel"),
        ("StockLocation", "supplied_by"),
        ("Segment", "count"),
    ]:
        assert components[component]["properties"][field].get("nullable") is True, (
            f"{component}.{field}"
        )
    by_channel = components["Attribution"]["properties"]["revenue_by_channel"]
    assert by_channel["additionalProperties"]["additionalProperties"]["type"] == "number"


def test_every_endpoint_is_documented_without_warnings():
    """drf-spectacular warns for any view it cannot describe; --fail-on-warn makes that red."""
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--file",
            "/dev/null",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_interactive_docs_are_served_from_our_own_static_files(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
    assert b"cdn.jsdelivr" not in response.content


def test_health_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["broker"]["status"] == "skipped"


def test_health_reports_each_check_with_its_status_latency_and_whether_it_is_required(client):
    """The embedded default (SQLite, tasks in-process, a per-process cache) needs only its
    database: it is healthy, and says what it skipped and why."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    checks = response.json()["checks"]
    assert set(checks) == {"database", "broker", "cache", "beat"}
    for name in ("database", "cache"):
        assert checks[name]["status"] == "ok", checks[name]
        assert isinstance(checks[name]["latency_ms"], float)
    assert checks["database"]["required"] is True
    assert (checks["cache"]["required"], checks["cache"]["shared"]) == (False, False)
    for name in ("broker", "beat"):
        assert (checks[name]["status"], checks[name]["required"]) == ("skipped", False)
        assert checks[name]["reason"]


def test_ready_is_every_check_and_live_touches_no_dependency(client, django_assert_num_queries):
    ready = client.get("/healthz?ready")
    assert ready.status_code == 200
    assert set(ready.json()["checks"]) == {"database", "broker", "cache", "beat"}
    # Liveness must not depend on any service: no query, and a cache nobody can reach
    # (a configured Redis on a closed port) does not matter to it.
    unreachable_cache = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    with override_settings(CACHES=unreachable_cache):
        with django_assert_num_queries(0):
            live = client.get("/healthz?live")
        not_ready = client.get("/healthz?ready")
    assert live.status_code == 200
    assert live.json() == {"status": "ok", "checks": {}}
    assert not_ready.status_code == 503
    assert not_ready.json()["checks"]["cache"]["status"] == "error"
    assert not_ready.json()["checks"]["cache"]["required"] is True


def test_health_is_503_when_the_broker_is_unreachable(client):
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False):
        app.conf.broker_url = "redis://127.0.0.1:1/0"
        try:
            response = client.get("/healthz")
        finally:
            app.conf.broker_url = "memory://"
    assert response.status_code == 503
    broker = response.json()["checks"]["broker"]
    assert (broker["status"], broker["required"]) == ("error", True)
    assert isinstance(broker["latency_ms"], float)


def _health_with_a_broker(client):
    """/healthz as a deployment with a (reachable, in-memory) broker sees it."""
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False):
        return client.get("/healthz")


def test_health_is_503_when_beat_never_sent_a_heartbeat(client):
    cache.delete(BEAT_HEARTBEAT_KEY)
    response = _health_with_a_broker(client)
    assert response.status_code == 503
    beat = response.json()["checks"]["beat"]
    assert (beat["status"], beat["error"], beat["required"]) == (
        "error",
        "no heartbeat from celery beat",
        True,
    )


def test_health_is_503_when_beats_heartbeat_is_older_than_three_intervals(client, settings):
    settings.BEAT_HEARTBEAT_SECONDS = 60
    cache.set(BEAT_HEARTBEAT_KEY, (timezone.now() - timedelta(seconds=200)).isoformat())
    stale = _health_with_a_broker(client)
    assert stale.status_code == 503
    assert stale.json()["checks"]["beat"]["status"] == "error"
    cache.set(BEAT_HEARTBEAT_KEY, (timezone.now() - timedelta(seconds=30)).isoformat())
    fresh = _health_with_a_broker(client)
    assert fresh.status_code == 200, fresh.json()
    assert fresh.json()["checks"]["beat"]["status"] == "ok"


def test_every_beat_entry_expires_after_its_interval_and_tasks_have_time_limits(settings):
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["options"]["expires"] == entry["schedule"], name
    assert 0 < settings.CELERY_TASK_SOFT_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT
