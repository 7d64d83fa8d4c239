"""Shared fixtures: API clients holding real keys, staff users in real roles, and the
markers that skip (with a reason) tests whose service is not there.

Set OMNI_REQUIRE_SERVICES=1 (CI does) to turn those skips into failures, so a missing
PostgreSQL, Redis or browser can never pass silently.
"""

import os
import shutil
import socket

import pytest
from celery import current_app
from django.conf import settings as django_settings
from django.core.cache import cache
from django.utils import translation
from rest_framework.test import APIClient

from config.celery import app
from core.factories import StaffUserFactory, api_key_with
from tests.pooler import django_db_setup  # noqa: F401 (OMNI_PGBOUNCER=1: through PgBouncer)
from tests.receivers import HttpReceiver, SmtpServer
from tests.templates_strict import make_undefined_variables_raise

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def _port_open(host, port):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _missing_service(item):
    if item.get_closest_marker("postgres"):
        if django_settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
            return "needs PostgreSQL: set DATABASE_URL=postgres://..."
    if item.get_closest_marker("worker"):
        if not _port_open("127.0.0.1", 6379):
            return "needs Redis on 127.0.0.1:6379"
    if item.get_closest_marker("imap"):
        if not os.path.exists("/usr/sbin/dovecot"):
            return "needs Debian's dovecot (apt-get install dovecot-imapd)"
    if item.get_closest_marker("e2e"):
        if not (shutil.which(CHROMIUM) or os.path.exists(CHROMIUM)):
            return f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)"
        try:
            import playwright.sync_api  # noqa: F401, PLC0415 (checks whether playwright is there)
        except ImportError:
            return "needs the playwright package"
    return None


def pytest_runtest_setup(item):
    reason = _missing_service(item)
    if reason:
        if os.environ.get("OMNI_REQUIRE_SERVICES") == "1":
            pytest.fail(f"required service missing: {reason}")
        pytest.skip(reason)


@pytest.fixture(autouse=True, scope="session")
def _undefined_template_variables_fail():
    make_undefined_variables_raise()


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _language_reset():
    """A page asked for in Persian (LocaleMiddleware activates the language in the test's own
    thread and leaves it so) does not turn the next test's messages and dates Persian."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _our_celery_app_stays_current():
    """A test that builds a Celery client app of its own (to talk to a worker) must not leave
    it as the current app: shared tasks resolve to the current app, so every later test would
    publish to that test's broker instead of running eagerly. Fails the test that does it."""
    yield
    leaked = current_app._get_current_object() is not app
    app.set_current()
    assert not leaked, "this test left another Celery app current (use set_as_current=False)"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_client_for(db):
    """`api_client_for("customers:write", "catalog:read")` -> APIClient with a real key."""

    def make(*scopes, **options):
        api_key, raw_key = api_key_with(list(scopes), **options)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        client.api_key = api_key
        client.raw_key = raw_key
        return client

    return make


@pytest.fixture
def staff_in_role(db):
    """`staff_in_role("Support agent")` -> a logged-out staff user in that group."""

    def make(*roles, username=None):
        name = username or "_".join(role.lower().replace(" ", "_") for role in roles) or "staff"
        return StaffUserFactory(username=name, roles=list(roles))

    return make


@pytest.fixture
def redis_url():
    return REDIS_URL


@pytest.fixture
def http_receiver():
    """A real HTTP server on loopback recording what it is sent (tests/receivers.py)."""
    receiver = HttpReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server (aiosmtpd) on loopback, with Django's email backend pointed at it."""
    server = SmtpServer()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield server
    server.stop()
