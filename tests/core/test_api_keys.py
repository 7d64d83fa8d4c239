"""Partner API keys: hashed at rest, shown once, scoped, revocable, through every door."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from core.models import ApiKey

pytestmark = pytest.mark.django_db


def client_with(raw_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def test_command_prints_a_key_once_that_authenticates_and_is_not_stored():
    out = StringIO()
    call_command(
        "create_api_key",
        "POS Tabriz",
        "--scopes",
        "inventory:write,customers:read",
        stdout=out,
        stderr=StringIO(),
    )
    raw_key = out.getvalue().strip()
    response = client_with(raw_key).get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["scopes"] == ["customers:read", "inventory:write"]
    api_key = ApiKey.objects.get()
    stored = " ".join(str(value) for value in api_key.__dict__.values())
    assert raw_key not in stored


def test_command_names_an_unknown_scope():
    with pytest.raises(CommandError, match="inventory:delete"):
        call_command("create_api_key", "x", "--scopes", "inventory:delete", stdout=StringIO())


def test_unknown_key_is_refused_in_the_error_format():
    response = client_with("omni_deadbeef_not-a-real-key").get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_revoked_key_is_refused(api_client_for):
    client = api_client_for("channels:read")
    assert client.get("/api/v1/channels").status_code == 200
    call_command("revoke_api_key", client.api_key.prefix, stdout=StringIO())
    assert client.get("/api/v1/channels").status_code == 401


def test_missing_scope_is_refused_naming_the_scope(api_client_for):
    response = api_client_for("customers:read").get("/api/v1/channels")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "permission_denied"
    assert "channels:read" in error["message"]


def test_write_scope_implies_read_but_read_does_not_allow_writes(api_client_for):
    assert api_client_for("channels:write").get("/api/v1/channels").status_code == 200
    reader = api_client_for("channels:read")
    response = reader.post(
        "/api/v1/channels", {"code": "x", "name": "X", "kind": "web"}, format="json"
    )
    assert response.status_code == 403


def test_no_credentials_is_401(db):
    response = APIClient().get("/api/v1/channels")
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "not_authenticated"


def test_admin_creates_a_key_and_shows_it_once(client, staff_in_role):
    client.force_login(staff_in_role("Administrator"))
    response = client.post(
        "/admin/core/apikey/add/",
        {"name": "Web shop", "scopes": ["catalog:read", "customers:write"], "rate": ""},
        follow=True,
    )
    assert response.status_code == 200
    text = response.content.decode()
    start = text.index("<code class='api-key'>") + len("<code class='api-key'>")
    raw_key = text[start : text.index("</code>", start)]
    assert client_with(raw_key).get("/api/v1/me").json()["name"] == "Web shop"
    # Shown once: the key's own page does not contain it.
    api_key = ApiKey.objects.get(name="Web shop")
    assert raw_key not in client.get(f"/admin/core/apikey/{api_key.pk}/change/").content.decode()


def test_staff_session_uses_django_permissions(client, staff_in_role):
    client.force_login(staff_in_role("Support agent"))
    assert client.get("/api/v1/channels").status_code == 200
    response = client.post(
        "/api/v1/channels",
        {"code": "x", "name": "X", "kind": "web"},
        content_type="application/json",
    )
    assert response.status_code == 403
