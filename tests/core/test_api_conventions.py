"""The conventions every endpoint follows, proven on /api/v1/channels."""

import hashlib
import json
from itertools import count

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from core.factories import ChannelFactory
from core.models import Channel
from core.services.idempotency import claim, request_digest
from tests.query_counts import assert_queries_do_not_grow

pytestmark = pytest.mark.django_db

NEW_CHANNEL = {"code": "kiosk-tabriz", "name": "Kiosk Tabriz", "kind": "store", "currency": "IRR"}


@pytest.fixture
def writer(api_client_for):
    return api_client_for("channels:write")


def post_json(client, path, body, **headers):
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(path, raw, content_type="application/json", **headers)


def test_created_channel_is_returned(writer):
    response = post_json(writer, "/api/v1/channels", NEW_CHANNEL)
    assert response.status_code == 201
    assert response.json()["code"] == "kiosk-tabriz"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**NEW_CHANNEL, "colour": "red"}, "colour"),  # unknown field
        ({**NEW_CHANNEL, "sells": "perhaps"}, "sells"),  # wrong type
        ({key: v for key, v in NEW_CHANNEL.items() if key != "name"}, "name"),  # missing
        ({**NEW_CHANNEL, "kind": "pigeon"}, "kind"),  # not a choice
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(writer, body, field):
    response = post_json(writer, "/api/v1/channels", body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert field in error["message"]
    assert not Channel.objects.filter(code="kiosk-tabriz").exists()


def test_malformed_json_is_a_400(writer):
    response = post_json(writer, "/api/v1/channels", '{"code": "x", ')
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


@override_settings(API_MAX_BODY_BYTES=1000)
def test_oversize_body_is_a_413_before_it_is_read(writer):
    response = post_json(writer, "/api/v1/channels", {**NEW_CHANNEL, "name": "x" * 5000})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def test_unknown_api_path_is_a_json_404(writer):
    response = writer.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_lists_are_paged_and_filtered(api_client_for):
    for index in range(7):
        ChannelFactory(code=f"store-{index}", kind="store")
    ChannelFactory(code="web", kind="web")
    client = api_client_for("channels:read")
    page = client.get("/api/v1/channels", {"kind": "store", "page_size": 5}).json()
    assert page["count"] == 7
    assert len(page["results"]) == 5
    assert page["next"]
    assert {row["kind"] for row in page["results"]} == {"store"}


def test_list_query_count_does_not_grow_with_rows(api_client_for):
    client = api_client_for("channels:read")
    made = count()

    def add_channels(n):
        for _ in range(n):
            ChannelFactory(code=f"c-{next(made)}")

    def channel_list():
        assert client.get("/api/v1/channels", {"page_size": 50}).status_code == 200

    assert_queries_do_not_grow(add_channels, channel_list, at_most=4)


def test_each_key_is_throttled_at_its_own_rate(api_client_for):
    slow = api_client_for("channels:read", rate="2/min")
    other = api_client_for("channels:read")
    assert slow.get("/api/v1/channels").status_code == 200
    assert slow.get("/api/v1/channels").status_code == 200
    response = slow.get("/api/v1/channels")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert "retry_after" in response.json()["error"]
    assert other.get("/api/v1/channels").status_code == 200


class TestIdempotencyKey:
    def test_replay_returns_the_stored_response_and_applies_once(self, writer):
        first = post_json(writer, "/api/v1/channels", NEW_CHANNEL, HTTP_IDEMPOTENCY_KEY="k-1")
        second = post_json(writer, "/api/v1/channels", NEW_CHANNEL, HTTP_IDEMPOTENCY_KEY="k-1")
        assert first.status_code == second.status_code == 201
        assert first.json() == second.json()
        assert second["Idempotent-Replayed"] == "true"
        assert Channel.objects.filter(code="kiosk-tabriz").count() == 1

    def test_same_key_with_another_body_is_a_409(self, writer):
        post_json(writer, "/api/v1/channels", NEW_CHANNEL, HTTP_IDEMPOTENCY_KEY="k-2")
        response = post_json(
            writer, "/api/v1/channels", {**NEW_CHANNEL, "name": "Other"}, HTTP_IDEMPOTENCY_KEY="k-2"
        )
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "idempotency_key_reused"

    def test_a_refused_request_replays_its_refusal(self, writer):
        bad = {**NEW_CHANNEL, "kind": "pigeon"}
        first = post_json(writer, "/api/v1/channels", bad, HTTP_IDEMPOTENCY_KEY="k-3")
        second = post_json(writer, "/api/v1/channels", bad, HTTP_IDEMPOTENCY_KEY="k-3")
        assert first.status_code == second.status_code == 400
        assert first.json() == second.json()

    def test_keys_belong_to_their_client(self, api_client_for):
        one, two = api_client_for("channels:write"), api_client_for("channels:write")
        assert (
            post_json(one, "/api/v1/channels", NEW_CHANNEL, HTTP_IDEMPOTENCY_KEY="k").status_code
            == 201
        )
        other_body = {**NEW_CHANNEL, "code": "kiosk-2", "name": "Kiosk 2"}
        response = post_json(two, "/api/v1/channels", other_body, HTTP_IDEMPOTENCY_KEY="k")
        assert response.status_code == 201
        assert "Idempotent-Replayed" not in response

    def test_a_request_still_running_is_not_run_twice(self, writer):
        body = json.dumps(NEW_CHANNEL).encode()
        client_id = "key:" + hashlib.sha256(writer.raw_key.encode()).hexdigest()
        claim(
            client_id,
            "k-4",
            method="POST",
            path="/api/v1/channels",
            digest=request_digest("POST", "/api/v1/channels", body),
        )
        response = post_json(writer, "/api/v1/channels", body.decode(), HTTP_IDEMPOTENCY_KEY="k-4")
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "idempotency_request_in_progress"
        assert not Channel.objects.filter(code="kiosk-tabriz").exists()


def test_an_idempotent_post_looks_its_key_up_once(writer):
    with CaptureQueriesContext(connection) as queries:
        post_json(writer, "/api/v1/channels", NEW_CHANNEL, HTTP_IDEMPOTENCY_KEY="k-once")
    key_lookups = [q for q in queries.captured_queries if 'FROM "core_apikey"' in q["sql"]]
    assert len(key_lookups) == 1
