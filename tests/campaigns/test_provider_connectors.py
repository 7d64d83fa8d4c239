"""Campaigns through the providers' own APIs, against local servers speaking them: each
provider error is read by its scope (retry after the provider's delay, fail the message, or
fail it and mark the customer's address unreachable so later campaigns skip it); receipts
from the provider (Twilio's signed StatusCallback, Kavenegar's status call) reach the
campaign's report of delivered and read per channel."""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns.factories import CampaignFactory, MessageTemplateFactory
from campaigns.models import CampaignMessage, MessageStatus
from campaigns.services import sending
from core.factories import ChannelFactory
from core.tasks import poll_sms_receipts
from customers.models import Identity
from tests.providers.sms_servers import KavenegarServer, TwilioServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def twilio_server():
    with TwilioServer() as server:
        yield server


@pytest.fixture
def kavenegar_server():
    with KavenegarServer() as server:
        yield server


def sms_channel(code, provider, settings):
    return ChannelFactory(
        code=code, kind="sms", messages=True, provider=provider, provider_settings=settings
    )


def send_until_done(campaign, *, rounds=20):
    """The campaign's own send loop, run eagerly: every queued row due by `clock` is sent;
    the clock then moves an hour on (a row retried after a 429 waits, without sleeping)."""
    clock = timezone.now()
    outcomes = []
    for _ in range(rounds):
        ids = list(
            campaign.messages.filter(status=MessageStatus.QUEUED).values_list("id", flat=True)
        )
        if not ids:
            break
        outcomes.append(sending.send_messages(ids, now=clock))
        clock += timedelta(hours=1)
    return outcomes


def results(api_client_for, campaign):
    response = api_client_for("campaigns:read").get(
        f"/api/v1/campaigns/campaigns/{campaign.pk}/results"
    )
    assert response.status_code == 200
    return response.json()


def test_a_twilio_sms_campaign_retries_429_fails_unreachable_numbers_and_counts_receipts(
    person, twilio_server, settings, api_client_for
):
    settings.SITE_URL = "https://shop.example.com"
    sms = sms_channel(
        "sms-twilio",
        "twilio",
        {
            "account_sid": twilio_server.account_sid,
            "auth_token": twilio_server.auth_token,
            "messaging_service_sid": "MG" + "1" * 32,
            "api_base_url": twilio_server.url,
        },
    )
    good = [person(phone=f"+98912000000{i}", consent=["sms"]) for i in range(4)]
    invalid = person(phone="+989129999999", consent=["sms"])
    stopped = person(phone="+989128888888", consent=["sms"])
    twilio_server.invalid_numbers.add("+989129999999")
    twilio_server.unsubscribed.add("+989128888888")
    twilio_server.fail_next_with_429 = 2
    twilio_server.retry_after = 120  # longer than our first backoff (30 s)
    template = MessageTemplateFactory(channel_kind="sms", text="{{ first_name }}: 20% off today")
    campaign = CampaignFactory(channel=sms, templates=[template])
    sending.start_campaign(campaign)
    before = timezone.now()
    first_round = sending.send_messages(
        list(campaign.messages.values_list("id", flat=True)), now=before
    )
    assert first_round["retry"] == 2  # whichever two rows met the 429s
    assert first_round.get("sent", 0) + first_round.get("failed", 0) == 4
    waiting = campaign.messages.filter(status=MessageStatus.QUEUED)
    assert waiting.count() == 2
    # The provider's Retry-After wins over our shorter backoff.
    assert all(row.not_before >= before + timedelta(seconds=119) for row in waiting)
    send_until_done(campaign)

    # Every good number got exactly one message; the bad ones none.
    to = sorted(form["To"] for form in twilio_server.received)
    assert to == sorted(f"+98912000000{i}" for i in range(4))
    assert all(form["MessagingServiceSid"].startswith("MG") for form in twilio_server.received)
    rows = {row.customer_id: row for row in campaign.messages.all()}
    assert {rows[c.pk].status for c in good} == {MessageStatus.SENT}
    assert rows[invalid.pk].status == rows[stopped.pk].status == MessageStatus.FAILED
    assert "21211" in rows[invalid.pk].status_reason
    assert "21610" in rows[stopped.pk].status_reason
    unreachable = Identity.objects.filter(unreachable_at__isnull=False)
    assert set(unreachable.values_list("value", flat=True)) == {"+989129999999", "+989128888888"}

    # Receipts: Twilio's signed StatusCallback for each message.
    callback = twilio_server.received[0]["StatusCallback"]
    assert callback == "https://shop.example.com/api/v1/providers/sms-twilio/twilio-status"
    for form, status in zip(
        twilio_server.received, ["delivered", "delivered", "read", "undelivered"], strict=True
    ):
        params = {"MessageSid": form["sid"], "MessageStatus": status, "To": form["To"]}
        if status == "undelivered":
            params["ErrorCode"] = "30003"
        response = APIClient().generic(
            "POST",
            "/api/v1/providers/sms-twilio/twilio-status",
            urlencode(params),
            content_type="application/x-www-form-urlencoded",
            headers={"X-Twilio-Signature": twilio_server.signature(callback, params)},
        )
        assert response.status_code == 200
    report = results(api_client_for, campaign)
    assert report["channels"] == [
        {
            "channel": "sms-twilio",
            "kind": "sms",
            "audience": 6,
            "sent": 3,
            "failed": 3,
            "delivered": 3,
            "read": 1,
        }
    ]
    undelivered = CampaignMessage.objects.get(provider_message_id=twilio_server.received[3]["sid"])
    assert undelivered.status == MessageStatus.FAILED and "30003" in undelivered.status_reason

    # A later campaign does not select the unreachable numbers.
    later = CampaignFactory(channel=sms, templates=[template])
    sending.start_campaign(later)
    send_until_done(later)
    later_rows = {row.customer_id: row for row in later.messages.all()}
    assert later_rows[invalid.pk].status == MessageStatus.SUPPRESSED
    assert later_rows[stopped.pk].status == MessageStatus.SUPPRESSED
    assert len(twilio_server.received) == 8


def test_a_kavenegar_sms_campaign_is_delivered_by_the_status_poll(
    person, kavenegar_server, api_client_for
):
    sms = sms_channel(
        "sms-kavenegar",
        "kavenegar",
        {
            "api_key": kavenegar_server.api_key,
            "sender": "10004346",
            "api_base_url": kavenegar_server.url,
        },
    )
    for i in range(3):
        person(phone=f"0912111000{i}", consent=["sms"])
    template = MessageTemplateFactory(channel_kind="sms", text="تخفیف ویژه {{ first_name }}")
    campaign = CampaignFactory(channel=sms, templates=[template])
    sending.start_campaign(campaign)
    send_until_done(campaign)
    assert len(kavenegar_server.received) == 3
    assert {form["sender"] for form in kavenegar_server.received} == {"10004346"}
    ids = list(campaign.messages.values_list("provider_message_id", flat=True))
    kavenegar_server.statuses[int(ids[0])] = 10
    kavenegar_server.statuses[int(ids[1])] = 14  # blocked by the recipient
    assert poll_sms_receipts() == 2
    assert poll_sms_receipts() == 0  # nothing new; the third is still with the operator
    report = results(api_client_for, campaign)
    assert report["channels"][0]["delivered"] == 1
    assert report["channels"][0]["failed"] == 1
    assert report["total"]["delivered"] == 1
