import json

import pytest

from core.factories import demo_channels


@pytest.fixture
def channels(db):
    return {channel.code: channel for channel in demo_channels()}


@pytest.fixture
def writer(api_client_for, channels):
    return api_client_for("customers:write")


@pytest.fixture
def reader(api_client_for, channels):
    return api_client_for("customers:read")


def post_json(client, path, body, **headers):
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(path, raw, content_type="application/json", **headers)


def sara_identities(*extra):
    return [
        {"kind": "cookie", "value": "c-81f"},
        {"kind": "email", "value": "Sara@Example.com"},
        *extra,
    ]
