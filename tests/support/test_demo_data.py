"""The support demo: its inbound webhooks are live with the secrets seed_demo prints."""

import json
import re
from io import StringIO

import pytest
from django.core.management import call_command

from core.services.outbox import sign
from support.models import Message

pytestmark = pytest.mark.django_db


def test_demo_inbound_webhooks_accept_a_request_signed_with_the_printed_secret(client):
    out = StringIO()
    call_command(
        "seed_demo", "--seed", "5", "--only", "core.", "--only", "customers.",
        "--only", "support.", stdout=out,
    )  # fmt: skip
    printed = dict(re.findall(r"/api/v1/inbound/sms\?channel=(\S+)\s+secret (\S+)", out.getvalue()))
    assert len(printed) == 1, out.getvalue()
    ((code, secret),) = printed.items()
    body = json.dumps({"id": "demo-sms-1", "from": "+989121112233", "text": "Hello"}).encode()
    response = client.post(
        f"/api/v1/inbound/sms?channel={code}",
        data=body,
        content_type="application/json",
        headers={"X-Omni-Signature": sign(secret, body)},
    )
    assert response.status_code == 200, response.content
    assert Message.objects.filter(external_id="demo-sms-1", text="Hello").exists()
    forged = client.post(
        f"/api/v1/inbound/sms?channel={code}",
        data=body,
        content_type="application/json",
        headers={"X-Omni-Signature": sign("not-the-secret", body)},
    )
    assert forged.status_code == 401
