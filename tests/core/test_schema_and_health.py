"""OpenAPI schema, interactive docs and the health endpoint."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def test_schema_is_openapi_3_and_lists_the_endpoints(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/channels" in schema["paths"]
    assert "apiKey" in schema["components"]["securitySchemes"]


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


def test_health_is_503_when_the_broker_is_unreachable(client):
    from config.celery import app

    with override_settings(CELERY_TASK_ALWAYS_EAGER=False):
        app.conf.broker_url = "redis://127.0.0.1:1/0"
        try:
            response = client.get("/healthz")
        finally:
            app.conf.broker_url = "memory://"
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["status"] == "error"
