"""Support test helpers: channels configured like production (inbound secrets, providers),
and signed webhook posts through the real door."""

import json

import pytest
from rest_framework.test import APIClient

from core.factories import ChannelFactory
from core.services.outbox import sign

SECRET = "inbound-secret-123"


def make_channel(code, kind, provider="console", **settings):
    return ChannelFactory(
        code=code,
        kind=kind,
        messages=True,
        provider=provider,
        provider_settings={"inbound_secret": SECRET, "verify_token": "verify-me", **settings},
    )


@pytest.fixture
def channels(db):
    kinds = {
        "email": ("email", "smtp"),
        "sms": ("sms", "console"),
        "whatsapp": ("whatsapp", "console"),
        "telegram": ("telegram", "console"),
        "instagram": ("instagram", "console"),
        "messenger": ("messenger", "console"),
        "web": ("web", ""),
        "phone": ("phone", ""),
        "store": ("store", ""),
    }
    return {code: make_channel(code, kind, provider) for code, (kind, provider) in kinds.items()}


class Webhooks:
    def __init__(self):
        self.client = APIClient()

    def post(self, kind, payload, *, secret=SECRET, content_type="application/json", headers=None):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        extra = dict(headers or {})
        if kind in ("whatsapp", "instagram", "messenger"):
            extra.setdefault("X-Hub-Signature-256", sign(secret, body))
        elif kind == "telegram":
            extra.setdefault("X-Telegram-Bot-Api-Secret-Token", secret)
        else:
            extra.setdefault("X-Omni-Signature", sign(secret, body))
        return self.client.post(
            f"/api/v1/inbound/{kind}", data=body, content_type=content_type, headers=extra
        )


@pytest.fixture
def webhooks(channels):
    return Webhooks()
