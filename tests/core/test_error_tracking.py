"""Sentry, switched on by SENTRY_DSN, sends errors to a real HTTP endpoint speaking Sentry's
envelope protocol (here a local receiver) with personal data scrubbed first."""

import gzip
import zlib

import pytest

from core import observability
from tests.receivers import HttpReceiver

sentry_sdk = pytest.importorskip("sentry_sdk")


def decoded(headers, body):
    encoding = headers.get("Content-Encoding", "")
    if encoding == "gzip":
        return gzip.decompress(body).decode()
    if encoding == "deflate":
        return zlib.decompress(body).decode()
    if encoding == "br":
        import brotli  # noqa: PLC0415 (optional: Sentry uses brotli only if it is installed)

        return brotli.decompress(body).decode()
    return body.decode()


@pytest.fixture
def sentry_at(settings):
    receiver = HttpReceiver()
    port = receiver.url.split(":")[2].split("/")[0]
    settings.SENTRY_DSN = f"http://publickey@127.0.0.1:{port}/42"
    yield receiver
    sentry_sdk.get_client().close()
    sentry_sdk.init(dsn=None)
    receiver.close()


def test_an_error_reaches_sentry_without_emails_phones_or_message_texts(sentry_at):
    assert observability.init_sentry()

    # Built at run time: Sentry also sends the source lines around each frame, and those
    # are code (here, this test's), not what a customer wrote.
    email, street = "@".join(["sara.rahimi", "example.com"]), "Vali" + "asr"
    phone_digits = "912 " + "123 4567"

    def reply_to(customer_email, text):
        phone = "+98 " + phone_digits
        raise ValueError(f"could not send {text!r} to {customer_email} or {phone}")

    try:
        reply_to(email, f"My size is 38, address {street} 12")
    except ValueError:
        sentry_sdk.capture_exception()
    sentry_sdk.flush(timeout=10)

    assert sentry_at.received, "nothing reached the Sentry endpoint"
    headers, body = sentry_at.received[0]
    assert "sentry_key=publickey" in headers.get("X-Sentry-Auth", "")
    sent = decoded(headers, body)
    assert "ValueError" in sent and "reply_to" in sent  # what is needed to fix it stays
    for personal in ("sara.rahimi@example.com", "912 123 4567", "Valiasr"):
        assert personal not in sent


def test_scrubbing_keeps_structure_and_drops_personal_fields():
    event = {
        "request": {"data": {"text": "Hi, I am Sara", "channel": "sms"}},
        "extra": {"to": "+989121234567", "count": 3, "note": "mail me at a@b.io"},
    }
    assert observability.scrub(event) == {
        "request": {"data": {"text": "[redacted]", "channel": "sms"}},
        "extra": {"to": "[redacted]", "count": 3, "note": "mail me at [redacted]"},
    }


def test_without_a_dsn_nothing_is_initialised(settings):
    settings.SENTRY_DSN = ""
    assert observability.init_sentry() is False
