"""SMS through Kavenegar, against a local server speaking its REST API: a support reply
reaches it as send.json with receptor, sender and message under the API key in the path; the
beat task asks status.json about recent messages and moves them to delivered or failed; its
errors map to the recipient (411), retry later (418) or this message."""

import pytest

from core.factories import ChannelFactory
from core.providers import OutboundMessage, ProviderError, send_message
from core.tasks import poll_sms_receipts
from support.models import DeliveryStatus, Message
from support.services import InboundMessage, receive_inbound
from tests.providers.sms_servers import KavenegarServer

pytestmark = pytest.mark.django_db

CUSTOMER = "09121234567"


@pytest.fixture
def kavenegar_server():
    with KavenegarServer() as server:
        yield server


@pytest.fixture
def sms(kavenegar_server):
    return ChannelFactory(
        code="sms-kavenegar",
        kind="sms",
        messages=True,
        provider="kavenegar",
        provider_settings={
            "api_key": kavenegar_server.api_key,
            "sender": "10004346",
            "api_base_url": kavenegar_server.url,
        },
    )


def reply_through_the_api(api_client_for, channel, text, capture):
    question = receive_inbound(
        InboundMessage(
            channel=channel,
            identities=[{"kind": "phone", "value": "+989121234567"}],
            text="سفارش من کی می‌رسد؟",
            external_id="kv-in-1",
            address=CUSTOMER,
        )
    ).message
    with capture(execute=True):
        response = api_client_for("support:write").post(
            f"/api/v1/support/conversations/{question.conversation_id}/reply",
            {"text": text},
            format="json",
        )
    assert response.status_code == 201, response.content
    return Message.objects.get(pk=response.json()["id"])


def test_a_support_reply_reaches_kavenegar_and_the_status_poll_marks_it_delivered(
    sms, kavenegar_server, api_client_for, django_capture_on_commit_callbacks
):
    answer = reply_through_the_api(
        api_client_for, sms, "فردا به دستتان می‌رسد.", django_capture_on_commit_callbacks
    )
    assert len(kavenegar_server.received) == 1
    sent = kavenegar_server.received[0]
    assert sent["receptor"] == CUSTOMER and sent["sender"] == "10004346"
    assert sent["message"] == "فردا به دستتان می‌رسد."
    answer.refresh_from_db()
    assert answer.delivery_status == DeliveryStatus.SENT
    message_id = int(answer.provider_message_id)

    # Still with the operator: nothing changes.
    assert poll_sms_receipts() == 0
    assert kavenegar_server.status_calls[-1] == [str(message_id)]
    answer.refresh_from_db()
    assert answer.delivery_status == DeliveryStatus.SENT

    kavenegar_server.statuses[message_id] = 10  # delivered to the handset
    assert poll_sms_receipts() == 1
    answer.refresh_from_db()
    assert answer.delivery_status == DeliveryStatus.DELIVERED and answer.delivered_at
    # Settled: not asked about again.
    calls = len(kavenegar_server.status_calls)
    assert poll_sms_receipts() == 0
    assert len(kavenegar_server.status_calls) == calls


def test_an_undelivered_message_is_reported_failed_by_the_poll(
    sms, kavenegar_server, api_client_for, django_capture_on_commit_callbacks
):
    answer = reply_through_the_api(
        api_client_for, sms, "کد تخفیف شما", django_capture_on_commit_callbacks
    )
    kavenegar_server.statuses[int(answer.provider_message_id)] = 11  # not delivered
    assert poll_sms_receipts() == 1
    answer.refresh_from_db()
    assert answer.delivery_status == DeliveryStatus.FAILED


def test_the_same_idempotency_key_is_one_message_at_kavenegar(sms, kavenegar_server):
    message = OutboundMessage(to=CUSTOMER, text="سلام", idempotency_key="omni-c1-u1")
    first = send_message(sms, message)
    again = send_message(sms, message)  # a worker died after the send: sent again
    assert first.provider_message_id == again.provider_message_id
    assert len(kavenegar_server.received) == 1


def test_kavenegar_errors_map_to_recipient_retry_or_message(sms, kavenegar_server):
    kavenegar_server.invalid_receptors.add("0912")
    with pytest.raises(ProviderError) as invalid:
        send_message(sms, OutboundMessage(to="0912", text="x", idempotency_key="a"))
    assert invalid.value.scope == ProviderError.RECIPIENT and invalid.value.code == "411"

    kavenegar_server.low_credit = True
    with pytest.raises(ProviderError) as credit:
        send_message(sms, OutboundMessage(to=CUSTOMER, text="x", idempotency_key="b"))
    assert credit.value.scope == ProviderError.RETRY and credit.value.code == "418"
    assert credit.value.retry_after >= 600
    kavenegar_server.low_credit = False

    with pytest.raises(ProviderError) as empty:
        send_message(sms, OutboundMessage(to=CUSTOMER, text="", idempotency_key="c"))
    assert empty.value.scope == ProviderError.MESSAGE and empty.value.code == "400"

    sms.provider_settings["api_key"] = "wrong-key"
    with pytest.raises(ProviderError) as key:
        send_message(sms, OutboundMessage(to=CUSTOMER, text="x", idempotency_key="d"))
    assert key.value.scope == ProviderError.RETRY and key.value.code == "403"
    assert kavenegar_server.received == []
