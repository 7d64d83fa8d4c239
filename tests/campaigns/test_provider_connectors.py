"""Campaigns through the providers' own APIs, against local servers speaking them: each
provider error is read by its scope (retry after the provider's delay, fail the message, or
fail it and mark the customer's address unreachable so later campaigns skip it); receipts
from the provider (Twilio's signed StatusCallback, Kavenegar's status call) reach the
campaign's report of delivered and read per channel."""

import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns.factories import CampaignFactory, MessageTemplateFactory
from campaigns.models import CampaignMessage, MessageStatus
from campaigns.services import delivery, launch
from campaigns.tasks import send_chunk
from core.factories import ChannelFactory
from core.models import ProviderTemplate
from core.services.outbox import sign
from core.tasks import poll_sms_receipts
from customers.factories import CustomerFactory
from customers.models import Consent, Customer, Identity
from tests.providers.conftest import meta_server, whatsapp_server  # noqa: F401 (fixtures)
from tests.providers.meta_server import PHONE_NUMBER_ID
from tests.providers.sms_servers import KavenegarServer, TwilioServer
from tests.support.conftest import SECRET, make_channel

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
        outcomes.append(delivery.send_messages(ids, now=clock))
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
    launch.start_campaign(campaign)
    before = timezone.now()
    first_round = delivery.send_messages(
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
    launch.start_campaign(later)
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
    launch.start_campaign(campaign)
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


def whatsapp_receipts(channel_code, statuses):
    """Meta's webhook carrying message statuses, through the real door (signed)."""
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA-1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"phone_number_id": PHONE_NUMBER_ID},
                            "statuses": [
                                {
                                    "id": wamid,
                                    "status": status,
                                    "timestamp": "1764850000",
                                    "recipient_id": to.lstrip("+"),
                                }
                                for wamid, status, to in statuses
                            ],
                        },
                    }
                ],
            }
        ],
    }
    body = json.dumps(payload).encode()
    response = APIClient().post(
        f"/api/v1/inbound/whatsapp?channel={channel_code}",
        data=body,
        content_type="application/json",
        headers={"X-Hub-Signature-256": sign(SECRET, body)},
    )
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.postgres  # a thousand sends and receipts: quick on PostgreSQL
def test_a_whatsapp_campaign_to_1000_customers_sends_templates_survives_429s_and_counts_receipts(
    whatsapp_server, api_client_for
):
    channel = make_channel(
        "wa-shop",
        "whatsapp",
        provider="whatsapp",
        access_token=whatsapp_server.token,
        phone_number_id=whatsapp_server.phone_number_id,
        api_version=whatsapp_server.version,
        api_base_url=whatsapp_server.url,
    )
    for language in ("fa", "en_US"):
        ProviderTemplate.objects.create(
            channel=channel,
            name="spring_sale",
            language=language,
            parameters=["first_name"],
            text="{{1}}, the spring sale has started",
        )
    whatsapp_server.templates = {("spring_sale", "fa"): 1, ("spring_sale", "en_US"): 1}
    customers = Customer.objects.bulk_create(
        CustomerFactory.build(first_name=f"Sara{i}", locale="fa" if i % 4 else "en")
        for i in range(1000)
    )
    Identity.objects.bulk_create(
        Identity(customer=c, kind="whatsapp", value=f"+98912{i:07d}")
        for i, c in enumerate(customers)
    )
    Consent.objects.bulk_create(
        Consent(customer=c, channel_kind="whatsapp", purpose="marketing", status="granted")
        for c in customers
    )
    template = MessageTemplateFactory(
        channel_kind="whatsapp",
        text="{{ first_name }}, the spring sale has started",
        provider_template_name="spring_sale",
    )
    campaign = CampaignFactory(channel=channel, templates=[template])
    assert launch.start_campaign(campaign) == 1000

    # Rate limited at the start and again on the retry: every row waits and goes out once.
    whatsapp_server.fail_next_with_429 = 40
    whatsapp_server.retry_after = 60
    ids = list(campaign.messages.values_list("id", flat=True))
    now = timezone.now()
    assert delivery.send_messages(ids, now=now) == {"sent": 960, "retry": 40}
    waiting = campaign.messages.filter(status=MessageStatus.QUEUED)
    assert waiting.count() == 40
    assert all(row.not_before >= now + timedelta(seconds=60) for row in waiting)  # Retry-After
    assert delivery.send_messages(ids, now=now + timedelta(seconds=30)) == {}  # not yet
    whatsapp_server.fail_next_with_429 = 15
    assert delivery.send_messages(ids, now=now + timedelta(minutes=5)) == {
        "sent": 25,
        "retry": 15,
    }
    assert delivery.send_messages(ids, now=now + timedelta(hours=1)) == {"sent": 15}
    assert send_chunk(ids) == {}  # a duplicated or late task finds nothing to send
    assert launch.finish_campaigns() == 1

    accepted = whatsapp_server.accepted
    assert len(accepted) == 1000
    assert len({item["json"]["to"] for item in accepted}) == 1000  # no duplicate, no loss
    first_names = dict(Identity.objects.values_list("value", "customer__first_name"))
    locales = dict(Identity.objects.values_list("value", "customer__locale"))
    for item in accepted:
        body = item["json"]
        assert body["type"] == "template" and body["template"]["name"] == "spring_sale"
        expected_language = "fa" if locales[body["to"]] == "fa" else "en_US"
        assert body["template"]["language"]["code"] == expected_language
        parameters = body["template"]["components"][0]["parameters"]
        assert parameters == [{"type": "text", "text": first_names[body["to"]]}]

    # Receipts through Meta's signed webhook: delivered and (for half) read, out of order
    # (a read before its delivered, a late "sent") and repeated (Meta retries its webhooks).
    sent = [(item["id"], item["json"]["to"]) for item in accepted]
    read = sent[::2]
    batches = (
        [(wamid, "read", to) for wamid, to in read],
        [(wamid, "delivered", to) for wamid, to in sent],
        [(wamid, "sent", to) for wamid, to in sent[:100]],
        [(wamid, "delivered", to) for wamid, to in sent[:100]],
    )
    for statuses in batches:
        for start in range(0, len(statuses), 250):
            whatsapp_receipts("wa-shop", statuses[start : start + 250])
    report = results(api_client_for, campaign)
    assert report["channels"] == [
        {
            "channel": "wa-shop",
            "kind": "whatsapp",
            "audience": 1000,
            "sent": 1000,
            "failed": 0,
            "delivered": 1000,
            "read": 500,
        }
    ]
    assert report["total"]["delivered"] == 1000 and report["total"]["read"] == 500
    # The read ones stay read: the later "delivered" did not step them back.
    assert (
        CampaignMessage.objects.filter(campaign=campaign, status=MessageStatus.OPENED).count()
        == 500
    )


def test_a_whatsapp_campaign_needs_an_approved_template_and_a_retired_one_fails_its_rows(
    whatsapp_server, person, api_client_for
):
    channel = make_channel(
        "wa-shop",
        "whatsapp",
        provider="whatsapp",
        access_token=whatsapp_server.token,
        phone_number_id=whatsapp_server.phone_number_id,
        api_version=whatsapp_server.version,
        api_base_url=whatsapp_server.url,
    )
    customer = person(consent=["whatsapp"])
    Identity.objects.create(customer=customer, kind="whatsapp", value="+989121234567")
    template = MessageTemplateFactory(channel_kind="whatsapp", text="Hi {{ first_name }}")
    campaign = CampaignFactory(channel=channel, templates=[template])
    writer = api_client_for("campaigns:write")
    refused = writer.post(f"/api/v1/campaigns/campaigns/{campaign.pk}/send")
    assert refused.status_code == 400
    assert "names no approved template" in refused.json()["error"]["fields"]["variants"][0]

    approved = ProviderTemplate.objects.create(
        channel=channel, name="welcome", language="en_US", parameters=["first_name"]
    )
    changed = writer.patch(
        f"/api/v1/campaigns/templates/{template.pk}",
        {"provider_template_name": "welcome"},
        format="json",
    )
    assert changed.status_code == 200, changed.content
    launch.start_campaign(campaign)
    # Retired at the provider between the start and the send: the row fails, saying why.
    ProviderTemplate.objects.filter(pk=approved.pk).update(is_active=False)
    assert send_chunk(list(campaign.messages.values_list("id", flat=True))) == {"failed": 1}
    row = campaign.messages.get()
    assert row.status == MessageStatus.FAILED
    assert "no approved WhatsApp template 'welcome'" in row.status_reason
    assert whatsapp_server.accepted == []
