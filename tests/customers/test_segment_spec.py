"""Segment's HTTP Tracking API, proven with the real SDKs: segment-analytics-python and
rudder-sdk-python send to the running app over real HTTP (their own batching, gzip and
retries), and one customer with that timeline results; a replayed batch stores nothing twice.
"""

import base64
import gzip
import json

import pytest
from django.test import Client
from django.utils import timezone
from rudderstack.analytics.client import Client as RudderClient
from segment.analytics.client import Client as SegmentClient

from core.factories import ChannelFactory, api_key_with
from customers.models import Customer, Event, Identity

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def write_key(db):
    ChannelFactory(code="web", kind="web")
    ChannelFactory(code="instagram", kind="instagram")
    _key, raw = api_key_with(["customers:write"], name="shop web")
    return raw


def journey(client):
    client.track(
        anonymous_id="anon-7",
        event="Product Viewed",
        properties={"sku": "ARIA-RUN-BLK-38", "price": 89},
        context={"campaign": {"source": "instagram", "medium": "social"}},
    )
    client.identify(
        user_id="shop-user-7",
        anonymous_id="anon-7",
        traits={"email": "sara@example.com", "first_name": "Sara"},
    )
    client.track(
        user_id="shop-user-7",
        event="Order Completed",
        properties={"order_id": "W-7", "total": 89, "currency": "USD"},
    )
    client.flush()
    client.join()


def assert_one_customer_with_the_journey():
    [customer] = Customer.objects.filter(
        merged_into__isnull=True, identities__isnull=False
    ).distinct()
    kinds = set(Identity.objects.filter(customer=customer).values_list("kind", "value"))
    assert {
        ("cookie", "anon-7"),
        ("external_id", "shop-user-7"),
        ("email", "sara@example.com"),
    } <= kinds
    # Segment's clock-skew correction counts a batch's time in transit: on a loaded machine
    # two batches sent a millisecond apart may land in either order, so compare by name.
    events = {e.name: e for e in Event.objects.filter(customer=customer)}
    assert sorted(events) == ["order_completed", "product_viewed"]
    viewed = events["product_viewed"]
    assert viewed.channel.code == "instagram"  # the UTM source names one of our channels
    assert (
        viewed.properties["utm_medium"] == "social"
        and viewed.properties["sku"] == "ARIA-RUN-BLK-38"
    )
    assert events["order_completed"].properties["order_id"] == "W-7"


def test_the_segment_sdk_journey_makes_one_customer(live_server, write_key):
    errors = []
    client = SegmentClient(
        write_key=write_key,
        host=live_server.url,
        gzip=True,
        on_error=lambda error, batch: errors.append(error),
        max_retries=2,
        timeout=60,  # a loaded CI machine may answer the first batch slowly
    )
    journey(client)
    client.shutdown()
    assert errors == []
    assert_one_customer_with_the_journey()


def test_the_rudderstack_sdk_journey_makes_one_customer(live_server, write_key):
    errors = []
    client = RudderClient(
        write_key=write_key,
        host=live_server.url,
        gzip=True,
        on_error=lambda error, batch: errors.append(error),
        max_retries=2,
        timeout=60,  # a loaded CI machine may answer the first batch slowly
    )
    journey(client)
    client.shutdown()
    assert errors == []
    assert_one_customer_with_the_journey()


def post(path, body, *, key, encoding=None):
    raw = json.dumps(body).encode()
    headers = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    if encoding == "gzip":
        raw = gzip.compress(raw)
        headers["HTTP_CONTENT_ENCODING"] = "gzip"
    return Client().post(path, raw, content_type="application/json", **headers)


def test_a_replayed_batch_stores_nothing_twice_and_the_clock_skew_is_corrected(write_key):
    batch = {
        "batch": [
            {
                "type": "track",
                "anonymousId": "a-1",
                "event": "Product Viewed",
                "properties": {"sku": "S-1"},
                "messageId": "m-1",
                "timestamp": "2026-12-04T10:00:00Z",
            },
        ],
        # The device's clock runs an hour fast: it sent "11:00" when it was 10:00 here.
        "sentAt": "2099-01-01T00:00:00Z",
    }
    first = post("/v1/batch", batch, key=write_key, encoding="gzip")
    assert first.status_code == 200 and first.json() == {"success": True}
    again = post("/v1/batch", batch, key=write_key)
    assert again.status_code == 200
    assert Event.objects.filter(message_id="m-1").count() == 1
    # An event from the future is never stored: skew correction keeps it at or before now.
    assert Event.objects.get(message_id="m-1").occurred_at <= timezone.now()


def test_refusals_name_what_is_wrong(write_key):
    assert post("/v1/track", {"event": "Product Viewed"}, key=write_key).json()["fields"] == {
        "userId": ["Give a userId or an anonymousId."]
    }
    assert post("/v1/track", {"anonymousId": "x"}, key=write_key).status_code == 400
    too_big = {"anonymousId": "x", "event": "E", "properties": {"p": "x" * 40_000}}
    answer = post("/v1/track", too_big, key=write_key)
    assert answer.status_code == 400 and answer.json()["code"] == "request_too_large"
    assert post("/v1/track", {"anonymousId": "x", "event": "E"}, key="nope").status_code == 401
    _key, reader = api_key_with(["customers:read"], name="reader")
    assert post("/v1/track", {"anonymousId": "x", "event": "E"}, key=reader).status_code == 403
    bomb = gzip.compress(b"[" + b" " * 5_000_000 + b"]")
    answer = Client().post(
        "/v1/batch",
        bomb,
        content_type="application/json",
        HTTP_CONTENT_ENCODING="gzip",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(f"{write_key}:".encode()).decode(),
    )
    assert answer.status_code == 400 and answer.json()["code"] == "request_too_large"
    partly = post(
        "/v1/batch",
        {
            "batch": [
                {"type": "track", "anonymousId": "ok", "event": "Signed Up"},
                {"type": "track", "event": "E"},
            ]
        },
        key=write_key,
    )
    assert partly.status_code == 200
    assert [(e["index"], e["code"]) for e in partly.json()["errors"]] == [(1, "missing_identity")]
    assert Event.objects.filter(name="signed_up").count() == 1  # the good one is stored
