"""The two run modes, checked in fresh interpreters with controlled environments."""

import json
import os
import subprocess
import sys
from pathlib import Path

from config.settings import _DEV_SECRET_KEY

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'], "
    "'name': str(settings.DATABASES['default']['NAME']), "
    "'eager': settings.CELERY_TASK_ALWAYS_EAGER, 'broker': settings.CELERY_BROKER_URL, "
    "'debug': settings.DEBUG, 'hosts': settings.ALLOWED_HOSTS}))"
)
PRODUCTION = {
    "DEBUG": "False",
    "SECRET_KEY": "k8Jx2-prod-secret-for-tests-9aQw7zR4tY6uI1oP3sD5fG7hJ9kL0zXcVbNm",
    "ALLOWED_HOSTS": "shop.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/omni_prod_probe",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
}


def run_in(env, *args):
    clean = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        **env,
    }
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_no_environment_runs_embedded_on_sqlite_with_eager_tasks():
    result = run_in({}, "-c", PROBE)
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout)
    assert probe["engine"] == "django.db.backends.sqlite3"
    assert probe["name"] == str(ROOT / "db.sqlite3")
    assert probe["eager"] is True
    assert probe["debug"] is True


def test_production_environment_uses_postgres_and_the_broker():
    result = run_in(PRODUCTION, "-c", PROBE)
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout)
    assert probe["engine"] == "django.db.backends.postgresql"
    assert probe["name"] == "omni_prod_probe"
    assert probe["eager"] is False
    assert probe["broker"] == "redis://127.0.0.1:6379/0"
    assert probe["debug"] is False
    assert probe["hosts"] == ["shop.example.com"]


def test_deploy_check_is_clean_with_production_settings():
    result = run_in(PRODUCTION, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {key: value for key, value in PRODUCTION.items() if key != "SECRET_KEY"}
    result = run_in(env, "-c", PROBE)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_deploy_check_refuses_a_broker_with_a_per_process_cache():
    env = {key: value for key, value in PRODUCTION.items() if key != "CACHE_URL"}
    result = run_in(env, "manage.py", "check", "--deploy")
    assert result.returncode != 0
    assert "core.E001" in result.stderr + result.stdout
    assert "CACHE_URL" in result.stderr + result.stdout


def test_debug_refuses_to_serve_a_public_host():
    result = run_in({"ALLOWED_HOSTS": "shop.example.com"}, "-c", PROBE)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS names shop.example.com" in result.stderr


def test_the_development_secret_key_refuses_to_serve_a_public_host():
    result = run_in({**PRODUCTION, "SECRET_KEY": _DEV_SECRET_KEY}, "-c", PROBE)
    assert result.returncode != 0
    assert "SECRET_KEY of your own" in result.stderr


def test_debug_on_loopback_hosts_is_the_embedded_mode():
    result = run_in({"ALLOWED_HOSTS": "127.0.0.1,localhost"}, "-c", PROBE)
    assert result.returncode == 0, result.stderr
