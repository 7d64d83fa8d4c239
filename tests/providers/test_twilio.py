"""SMS through a Twilio-compatible API, against a local server speaking it: a support reply
reaches it as the documented form post with Basic auth and our StatusCallback; its signed
StatusCallback moves the reply to delivered (and never back); a bad signature is refused;
its errors map to retry (with Retry-After), this message, or this recipient."""

from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from core.factories import ChannelFactory
from core.providers import OutboundMessage, ProviderError, send_message
from core.providers.twilio import status_callback_url
from support.models import DeliveryStatus, Direction, Message
from support.services import InboundMessage, receive_inbound
from tests.providers.sms_servers import TwilioServer

pytestmark = pytest.mark.django_db

CUSTOMER = "+989121234567"


@pytest.fixture
def twilio_server():
    with TwilioServer() as server:
        yield server


@pytest.fixture
def sms(twilio_server, settings):
    settings.SITE_URL = "https://shop.example.com"
    return ChannelFactory(
        code="sms-twilio",
        kind="sms",
        messages=True,
        provider="twilio",
        provider_settings={
            "account_sid": twilio_server.account_sid,
            "auth_token": twilio_server.auth_token,
            "from": "+15005550006",
            "api_base_url": twilio_server.url,
        },
    )


def reply_through_the_api(api_client_for, channel, text, django_capture_on_commit_callbacks):
    question = receive_inbound(
        InboundMessage(
            channel=channel,
            identities=[{"kind": "phone", "value": CUSTOMER}],
            text="Do you have it in 38?",
            external_id="SMin1",
            address=CUSTOMER,
        )
    ).message
    writer = api_client_for("support:write")
    with django_capture_on_commit_callbacks(execute=True):
        response = writer.post(
            f"/api/v1/support/conversations/{question.conversation_id}/reply",
            {"text": text},
            format="json",
        )
    assert response.status_code == 201, response.content
    return Message.objects.get(pk=response.json()["id"])


def form_post(channel, params, signature):
    return APIClient().generic(
        "POST",
        f"/api/v1/providers/{channel.code}/twilio-status",
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature},
    )


def test_a_support_reply_over_sms_reaches_twilio_and_its_receipt_marks_it_delivered(
    sms, twilio_server, api_client_for, django_capture_on_commit_callbacks
):
    answer = reply_through_the_api(
        api_client_for, sms, "Yes, size 38 is in stock.", django_capture_on_commit_callbacks
    )
    assert len(twilio_server.received) == 1
    form = twilio_server.received[0]
    assert form["To"] == CUSTOMER and form["From"] == "+15005550006"
    assert form["Body"] == "Yes, size 38 is in stock."
    assert form["StatusCallback"] == (
        "https://shop.example.com/api/v1/providers/sms-twilio/twilio-status"
    )
    answer.refresh_from_db()
    assert answer.direction == Direction.OUTBOUND
    assert answer.delivery_status == DeliveryStatus.SENT
    assert answer.provider_message_id == form["sid"]

    url = form["StatusCallback"]
    params = {
        "AccountSid": twilio_server.account_sid,
        "MessageSid": form["sid"],
        "SmsSid": form["sid"],
        "MessageStatus": "delivered",
        "To": CUSTOMER,
        "From": "+15005550006",
        "ApiVersion": "2010-04-01",
    }
    # A forged or stale signature is refused and changes nothing.
    forged = form_post(sms, params, twilio_server.signature(url, {**params, "To": "+1"}))
    assert forged.status_code == 403
    missing = form_post(sms, params, "")
    assert missing.status_code == 403
    answer.refresh_from_db()
    assert answer.delivery_status == DeliveryStatus.SENT

    good = form_post(sms, params, twilio_server.signature(url, params))
    assert good.status_code == 200 and good.json() == {"accepted": True}
    answer.refresh_from_db()
    assert answer.delivery_status == DeliveryStatus.DELIVERED and answer.delivered_at
    # Twilio retries callbacks and they arrive out of order: a repeat or a late "sent"
    # changes nothing.
    assert form_post(sms, params, twilio_server.signature(url, params)).status_code == 200
    late = {**params, "MessageStatus": "sent"}
    assert form_post(sms, late, twilio_server.signature(url, late)).status_code == 200
    answer.refresh_from_db()
    assert answer.delivery_status == DeliveryStatus.DELIVERED


def test_a_status_callback_naming_a_bad_status_is_a_400_naming_the_field(sms, twilio_server):
    url = status_callback_url(sms)
    params = {"MessageSid": "SM1", "MessageStatus": "exploded"}
    response = form_post(sms, params, twilio_server.signature(url, params))
    assert response.status_code == 400
    assert "MessageStatus" in response.json()["error"]["fields"]
    unknown = APIClient().post(
        "/api/v1/providers/nowhere/twilio-status", {}, headers={"X-Twilio-Signature": "x"}
    )
    assert unknown.status_code == 404


def outbound(to):
    return OutboundMessage(to=to, text="Sale starts today", idempotency_key=f"k-{to}")


def test_twilio_errors_map_to_retry_message_or_recipient(sms, twilio_server):
    twilio_server.fail_next_with_429 = 1
    twilio_server.retry_after = 7
    with pytest.raises(ProviderError) as throttled:
        send_message(sms, outbound(CUSTOMER))
    assert throttled.value.scope == ProviderError.RETRY
    assert throttled.value.retry_after == 7 and throttled.value.code == "20429"

    twilio_server.invalid_numbers.add("+100")
    with pytest.raises(ProviderError) as invalid:
        send_message(sms, outbound("+100"))
    assert invalid.value.scope == ProviderError.RECIPIENT and invalid.value.code == "21211"

    twilio_server.unsubscribed.add("+989120000000")
    with pytest.raises(ProviderError) as stopped:
        send_message(sms, outbound("+989120000000"))
    assert stopped.value.scope == ProviderError.RECIPIENT and stopped.value.code == "21610"

    with pytest.raises(ProviderError) as empty:
        send_message(sms, OutboundMessage(to=CUSTOMER, text="", idempotency_key="k-empty"))
    assert empty.value.scope == ProviderError.MESSAGE and empty.value.code == "21602"

    sms.provider_settings["auth_token"] = "wrong"
    with pytest.raises(ProviderError) as unauthorised:
        send_message(sms, outbound(CUSTOMER))
    assert unauthorised.value.scope == ProviderError.RETRY and "20003" in str(unauthorised.value)

    sms.provider_settings["auth_token"] = twilio_server.auth_token
    result = send_message(sms, outbound(CUSTOMER))
    assert result.provider_message_id.startswith("SM")
    assert [f["To"] for f in twilio_server.received] == [CUSTOMER]


def test_a_twilio_channel_without_a_sender_is_refused_clearly(sms):
    sms.provider_settings = {"account_sid": "AC1", "auth_token": "t"}
    with pytest.raises(ProviderError) as missing:
        send_message(sms, outbound(CUSTOMER))
    assert missing.value.scope == ProviderError.MESSAGE and "'from'" in str(missing.value)
