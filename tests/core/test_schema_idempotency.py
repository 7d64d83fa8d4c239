"""The schema declares the Idempotency-Key header every POST honours (its behaviour is tested
in test_api_conventions), so a client generated from it can make retries safe."""

import pytest

from core.middleware import MAX_KEY_LENGTH

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_every_post_declares_the_idempotency_key_header_once(schema):
    # Segment's tracking paths (/v1/...) dedupe by each message's messageId instead.
    posts = [
        (path, methods["post"])
        for path, methods in schema["paths"].items()
        if "post" in methods and not path.startswith("/v1/")
    ]
    assert len(posts) > 10
    for path, operation in posts:
        headers = [
            p
            for p in operation.get("parameters", [])
            if p["in"] == "header" and p["name"] == "Idempotency-Key"
        ]
        assert len(headers) == 1, path
        assert headers[0]["required"] is False
        assert headers[0]["schema"]["maxLength"] == MAX_KEY_LENGTH
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            if method != "post":
                names = {p["name"] for p in operation.get("parameters", [])}
                assert "Idempotency-Key" not in names, (method, path)
