"""Sending: one message per recipient through the real SMTP server, consent, frequency caps
across channels, quiet hours, suppressions, one-click unsubscribe, A/B split sizes, the best
channel per customer, delivery reports, opens and clicks."""

import email
import json
import threading
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from django.conf import settings
from django.core import mail
from django.db import OperationalError, connection
from django.urls import reverse
from django.utils import timezone

from campaigns.factories import (
    CampaignFactory,
    CampaignMessageFactory,
    CouponPoolFactory,
    MessageTemplateFactory,
)
from campaigns.models import (
    CampaignMessage,
    CampaignStatus,
    CodeKind,
    CouponCode,
    MessageStatus,
    MessageTemplateTranslation,
    Suppression,
)
from campaigns.services import abtest, audience, delivery, launch
from campaigns.services.links import read_click, signed_click_url
from campaigns.tasks import dispatch, send_chunk
from core.services.outbox import sign
from customers.factories import IdentityFactory
from customers.models import Event
from customers.selectors import has_consent
from tests.campaigns.workers import database_url

pytestmark = pytest.mark.django_db


def start(campaign, **kwargs):
    launch.start_campaign(campaign, **kwargs)
    return list(campaign.messages.order_by("id"))


def send_all(campaign):
    ids = list(campaign.messages.filter(status="queued").values_list("id", flat=True))
    return send_chunk(ids)


@pytest.mark.smtp
def test_a_campaign_sends_one_email_per_consented_member_with_one_click_unsubscribe(
    channels, person, smtp_server, client
):
    consented = [person(f"p{i}@example.com", consent=["email"]) for i in range(3)]
    person("nope@example.com")  # no marketing consent: suppressed
    person(phone="+989121110000", consent=["sms"])  # no email address: suppressed
    campaign = CampaignFactory(channel=channels["email"])
    rows = start(campaign)
    assert len(rows) == 5
    outcome = send_all(campaign)
    assert outcome == {"sent": 3, "suppressed": 1}
    received = smtp_server.wait_for(3)
    assert sorted(m.rcpt_tos[0] for m in received) == sorted(f"p{i}@example.com" for i in range(3))
    parsed = email.message_from_bytes(received[0].original_content)
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["Message-ID"].startswith(f"<omni-c{campaign.pk}-u")
    link = parsed["List-Unsubscribe"].strip("<>")
    path = link.split("8000", 1)[1]
    response = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    who = CampaignMessage.objects.get(to=received[0].rcpt_tos[0]).customer
    assert not has_consent(who, "email", "marketing")
    assert Event.objects.filter(customer=who, name="message_unsubscribed").exists()
    # a later campaign no longer reaches her, and the report counts the unsubscribe
    later = CampaignFactory(channel=channels["email"])
    start(later)
    assert send_all(later) == {"sent": 2, "suppressed": 2}
    assert CampaignMessage.objects.get(campaign=later, customer=who).status == "suppressed"
    campaign.refresh_from_db()
    launch.finish_campaigns()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert {c.pk for c in consented} >= {who.pk}


@pytest.mark.smtp
def test_a_retried_or_duplicated_task_never_sends_twice(channels, person, smtp_server):
    for i in range(20):
        person(f"r{i}@example.com", consent=["email"])
    campaign = CampaignFactory(channel=channels["email"])
    start(campaign)
    start_again = campaign.messages.count()
    with pytest.raises(Exception):  # noqa: B017 (the second start is refused)
        launch.start_campaign(campaign)
    assert campaign.messages.count() == start_again == 20
    ids = list(campaign.messages.values_list("id", flat=True))
    first = send_chunk(ids)
    second = send_chunk(ids)  # the task retried after it had in fact finished
    third = send_chunk(ids[:5])
    assert first == {"sent": 20}
    assert second == {} and third == {}
    assert len(smtp_server.wait_for(21, timeout=1)) == 20


@pytest.mark.postgres
@pytest.mark.smtp
@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_the_same_chunk_at_once_send_each_message_once(
    channels, person, smtp_server, monkeypatch
):
    for i in range(30):
        person(f"w{i}@example.com", consent=["email"])
    campaign = CampaignFactory(channel=channels["email"])
    # keep the rows queued: the three threads below are the only senders
    monkeypatch.setattr(launch, "enqueue_due", lambda **kwargs: 0)
    start(campaign)
    ids = list(campaign.messages.values_list("id", flat=True))
    results = []

    def work():
        try:
            results.append(send_chunk(ids))
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.get("sent", 0) for r in results) == 30
    assert len(smtp_server.wait_for(31, timeout=1)) == 30


def test_frequency_cap_counts_marketing_messages_on_every_channel(channels, person):
    capped = person("cap@example.com", consent=["email"])
    free = person("free@example.com", consent=["email"])
    for channel in ("sms", "whatsapp", "telegram"):
        CampaignMessageFactory(customer=capped, channel=channels[channel])
    # an older one and a transactional one do not count
    CampaignMessageFactory(
        customer=free, channel=channels["sms"], claimed_at=timezone.now() - timedelta(days=8)
    )
    CampaignMessageFactory(customer=free, channel=channels["sms"], purpose="transactional")
    campaign = CampaignFactory(channel=channels["email"], frequency_cap=3)
    start(campaign)
    assert send_all(campaign) == {"sent": 1, "suppressed": 1}
    row = CampaignMessage.objects.get(campaign=campaign, customer=capped)
    assert row.status == "suppressed" and "frequency cap" in row.status_reason
    # a transactional message is not capped
    receipt = CampaignFactory(channel=channels["email"], purpose="transactional")
    start(receipt)
    assert send_all(receipt) == {"sent": 2}


def test_quiet_hours_wait_for_the_morning_in_the_customers_time_zone(channels, person):
    tehran = person("t@example.com", consent=["email"], traits={"time_zone": "Asia/Tehran"})
    person("u@example.com", consent=["email"], traits={"time_zone": "UTC"})
    campaign = CampaignFactory(
        channel=channels["email"], quiet_hours_start=time(21, 0), quiet_hours_end=time(8, 0)
    )
    # 19:00 UTC is 22:30 in Tehran (quiet) and 19:00 in UTC (not quiet)
    now = datetime(2026, 1, 15, 19, 0, tzinfo=UTC)
    start(campaign, now=now)
    ids = list(campaign.messages.values_list("id", flat=True))
    assert delivery.send_messages(ids, now=now) == {"sent": 1, "deferred": 1}
    row = CampaignMessage.objects.get(campaign=campaign, customer=tehran)
    assert row.status == "queued"
    assert row.not_before.astimezone(ZoneInfo("Asia/Tehran")).time() == time(8, 0)
    morning = row.not_before + timedelta(minutes=1)
    assert delivery.send_messages(ids, now=morning) == {"sent": 1}


def test_a_local_send_time_is_kept_per_time_zone(channels, person):
    tehran = person("lt@example.com", consent=["email"], traits={"time_zone": "Asia/Tehran"})
    baku = person("lb@example.com", consent=["email"], traits={"time_zone": "Asia/Baku"})
    campaign = CampaignFactory(channel=channels["email"])
    launch.schedule_campaign(
        campaign, datetime(2026, 3, 1, 10, 0, tzinfo=UTC), in_customer_time_zone=True
    )
    started = launch.start_due_campaigns(now=datetime(2026, 3, 1, 0, 0, tzinfo=UTC))
    assert started == [campaign.pk]
    rows = {m.customer_id: m for m in campaign.messages.all()}
    assert rows[tehran.pk].not_before == datetime(2026, 3, 1, 6, 30, tzinfo=UTC)
    assert rows[baku.pk].not_before == datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


def test_bounces_and_complaints_suppress_the_address(channels, person, client):
    channels["sms"].provider = "http"
    channels["sms"].provider_settings = {"url": "http://127.0.0.1:9/x", "secret": "s3cret"}
    channels["sms"].save()
    customer = person(phone="+989121112233", consent=["sms"])
    campaign = CampaignFactory(channel=channels["sms"])
    (row,) = start(campaign)
    CampaignMessage.objects.filter(pk=row.pk).update(status="sent", provider_message_id="prov-1")
    body = json.dumps({"id": "prov-1", "status": "bounced"}).encode()
    response = client.post(
        "/api/v1/providers/sms/delivery-reports",
        data=body,
        content_type="application/json",
        HTTP_X_OMNI_SIGNATURE=sign("s3cret", body),
    )
    assert response.status_code == 202
    assert Suppression.objects.filter(channel_kind="sms", address="+989121112233").exists()
    assert Event.objects.filter(customer=customer, name="message_bounced").exists()
    again = CampaignFactory(channel=channels["sms"])
    start(again)
    assert send_all(again) == {"suppressed": 1}


def test_open_pixel_and_signed_click_are_tracked_on_the_timeline(channels, person, client):
    customer = person("o@example.com", consent=["email"])
    campaign = CampaignFactory(channel=channels["email"])
    (row,) = start(campaign)
    send_all(campaign)
    row.refresh_from_db()
    response = client.get(reverse("campaigns:open-pixel", args=[row.token]))
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"

    link = signed_click_url(row, "https://shop.example.com/shoes")
    path = link.split("8000", 1)[1]
    response = client.get(path)
    assert response.status_code == 302 and response["Location"] == "https://shop.example.com/shoes"
    assert read_click(path.rstrip("/").rsplit("/", 1)[1])[1] == "https://shop.example.com/shoes"
    tampered = path.replace("shoes", "scam") if "shoes" in path else path[:-3] + "xx/"
    assert client.get(tampered).status_code == 400
    row.refresh_from_db()
    assert row.status == MessageStatus.CLICKED and row.opened_at and row.clicked_at
    names = set(Event.objects.filter(customer=customer).values_list("name", flat=True))
    assert {"message_opened", "message_clicked"} <= names


def test_ab_split_sizes_are_exact_and_the_rest_waits_for_the_winner(channels, person):
    for i in range(103):
        person(f"ab{i}@example.com", consent=["email"])
    a, b = MessageTemplateFactory(), MessageTemplateFactory()
    campaign = CampaignFactory(channel=channels["email"], templates=[a, b], ab_test_share=20)
    start(campaign)
    counts = {name: campaign.messages.filter(variant__name=name).count() for name in ("A", "B")}
    assert counts == {"A": 11, "B": 10}  # 20% of 103 = 20.6 -> 21 in the test
    assert campaign.messages.filter(status="held").count() == 82
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.TESTING
    send_all(campaign)
    # B's readers click far more: 8 of 10 against 1 of 11
    for message in campaign.messages.filter(variant__name="B")[:8]:
        CampaignMessage.objects.filter(pk=message.pk).update(clicked_at=timezone.now())
    CampaignMessage.objects.filter(
        pk=campaign.messages.filter(variant__name="A").first().pk
    ).update(clicked_at=timezone.now())
    result = abtest.decide_winner(campaign, force=True)
    assert result["winner"] == "B" and result["significant"] is True
    assert result["released"] == 82
    assert campaign.messages.filter(variant__name="B").count() == 92


def test_weighted_splits_add_up_exactly():
    assert launch.split_sizes(10, [1, 1, 1]) == [4, 3, 3]
    assert launch.split_sizes(7, [3, 1]) == [5, 2]
    assert sum(launch.split_sizes(100_003, [2, 3, 5])) == 100_003


def test_two_proportion_z_test_matches_the_textbook():
    test = abtest.two_proportion_z_test(60, 500, 30, 500)
    assert test.z == pytest.approx(3.3149, abs=1e-3)
    assert test.p_value == pytest.approx(0.000917, abs=2e-5)
    assert abtest.two_proportion_z_test(5, 100, 5, 100).p_value == pytest.approx(1.0)


def test_best_channel_is_consented_and_most_engaged(channels, person):
    engaged_on_sms = person("e@example.com", phone="+989120000001", consent=["email", "sms"])
    for _ in range(2):
        CampaignMessageFactory(
            customer=engaged_on_sms,
            channel=channels["sms"],
            opened_at=timezone.now(),
            claimed_at=timezone.now() - timedelta(days=30),
            sent_at=timezone.now() - timedelta(days=30),
        )
    prefers_whatsapp = person(
        "w@example.com",
        phone="+989120000002",
        consent=["email", "whatsapp"],
        preferred_channel="whatsapp",
    )
    only_email = person("m@example.com", phone="+989120000003", consent=["email"])
    IdentityFactory(customer=only_email, kind="telegram", value="@m")
    routes = audience.best_channels([engaged_on_sms, prefers_whatsapp, only_email], "marketing")
    assert routes[engaged_on_sms.pk][0].kind == "sms"
    assert routes[prefers_whatsapp.pk] == (channels["whatsapp"], "+989120000002")
    assert routes[only_email.pk] == (channels["email"], "m@example.com")


def test_stuck_rows_are_sent_again_with_the_same_idempotency_key(channels, person, smtp_server):
    person("s@example.com", consent=["email"])
    campaign = CampaignFactory(channel=channels["email"])
    (row,) = start(campaign)
    # a worker claimed the row and died before marking it sent
    CampaignMessage.objects.filter(pk=row.pk).update(
        status="sending", claimed_at=timezone.now() - timedelta(minutes=11)
    )
    assert delivery.recover_stuck_sends() == 1
    row.refresh_from_db()
    assert row.status == "sent"
    (received,) = smtp_server.wait_for(1)
    parsed = email.message_from_bytes(received.original_content)
    assert parsed["Message-ID"].startswith(f"<{row.idempotency_key}@")
    assert delivery.recover_stuck_sends() == 0


def test_a_translated_template_is_loaded_once_per_chunk_not_once_per_message(
    channels, person, django_assert_max_num_queries
):
    template = MessageTemplateFactory(language="en")
    MessageTemplateTranslation.objects.create(
        template=template,
        language="fa",
        subject="سلام {{ first_name }}",
        text="سلام {{ first_name }}، کفش‌های تازه رسیدند.",
    )
    for index in range(30):
        person(f"fa{index}@example.com", consent=["email"], locale="fa", first_name=f"F{index}")
    campaign = CampaignFactory(channel=channels["email"], templates=[template])
    start(campaign)
    ids = list(campaign.messages.values_list("id", flat=True))
    # one UPDATE per message records its outcome; everything else is per chunk
    with django_assert_max_num_queries(30 + 20):
        assert send_chunk(ids) == {"sent": 30}
    assert {m.subject for m in mail.outbox} == {f"سلام F{index}" for index in range(30)}


@pytest.mark.postgres
@pytest.mark.smtp
@pytest.mark.django_db(transaction=True)
def test_claims_wait_for_the_disk_and_recorded_outcomes_do_not(
    channels, person, smtp_server, monkeypatch
):
    """A claim counts toward the frequency cap, so it must survive a database crash; the
    record of an accepted message may be lost in one (recovery resends it with the same
    Message-ID), so it does not wait for the disk. The connection is left as it was."""
    for index in range(40):
        person(f"d{index}@example.com", consent=["email"])
    campaign = CampaignFactory(channel=channels["email"])
    monkeypatch.setattr(launch, "enqueue_due", lambda **kwargs: 0)
    start(campaign)
    seen = {"claim": set(), "mark": set()}

    def durability():
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return cursor.fetchone()[0]

    claim_rows, mark_sent = delivery._claim_rows, delivery._mark_sent

    def watched_claim(*args, **kwargs):
        seen["claim"].add(durability())
        return claim_rows(*args, **kwargs)

    def watched_mark(*args, **kwargs):
        seen["mark"].add(durability())
        return mark_sent(*args, **kwargs)

    monkeypatch.setattr(delivery, "_claim_rows", watched_claim)
    monkeypatch.setattr(delivery, "_mark_sent", watched_mark)
    before = durability()
    ids = list(campaign.messages.values_list("id", flat=True))
    assert send_chunk(ids) == {"sent": 40}  # by SEND_THREADS threads
    # Behind a transaction-mode pooler no session setting is made: it would not stay with
    # this connection's transactions, and would reach other clients'.
    outcomes = before if settings.DATABASE_POOLER else "off"
    assert seen == {"claim": {before}, "mark": {outcomes}}
    assert durability() == before
    received = {m.rcpt_tos[0] for m in smtp_server.wait_for(40)}
    assert received == {f"d{index}@example.com" for index in range(40)}


def test_a_template_that_fails_for_a_customer_fails_that_row_for_good_with_the_reason(
    channels, person
):
    person("ok@example.com", consent=["email"])
    broken = MessageTemplateFactory(text="Hello {% if %}")  # saved around the form's check
    campaign = CampaignFactory(channel=channels["email"], templates=[broken])
    (row,) = start(campaign)
    assert send_all(campaign) == {"failed": 1}
    row.refresh_from_db()
    assert row.status == "failed"
    assert row.status_reason.startswith("render: text: Template error")
    assert mail.outbox == []
    assert send_all(campaign) == {}  # permanent: nothing is retried


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_database_error_while_sending_leaves_the_rows_queued_for_the_task_retry(
    channels, person, monkeypatch
):
    """A real lock timeout (another session holds the coupon codes table) while issuing the
    coupon: the task raises for its retry, and no row is failed or left "sending"."""

    for index in range(3):
        person(f"lock{index}@example.com", consent=["email"])
    pool = CouponPoolFactory(code_kind=CodeKind.UNIQUE, prefix="LOCK")
    campaign = CampaignFactory(channel=channels["email"], coupon_pool=pool)
    monkeypatch.setattr(launch, "enqueue_due", lambda **kwargs: 0)  # sent below, not on commit
    start(campaign)
    ids = list(campaign.messages.values_list("id", flat=True))
    with psycopg.connect(database_url()) as holder:
        holder.execute(f"LOCK TABLE {CouponCode._meta.db_table} IN SHARE MODE")
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        try:
            with pytest.raises(OperationalError):
                send_chunk(ids)  # called directly, the task raises what its retry catches
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
    rows = list(campaign.messages.order_by("id"))
    assert {r.status for r in rows} == {"queued"}
    assert {r.status_reason for r in rows} == {
        "database error while preparing; retried",
        "interrupted before its turn",
    }
    assert {r.attempts for r in rows} == {0}  # a released claim is no attempt
    assert mail.outbox == []
    assert send_chunk(ids) == {"sent": 3}  # the retry, with the lock gone
    assert len(mail.outbox) == 3
    assert CouponCode.objects.filter(pool=pool).count() == 3


def test_recovery_hands_stuck_rows_back_to_the_send_tasks_in_batches(
    channels, person, smtp_server, monkeypatch
):
    for index in range(5):
        person(f"stuck{index}@example.com", consent=["email"])
    campaign = CampaignFactory(channel=channels["email"])
    rows = start(campaign)
    long_ago = timezone.now() - timedelta(minutes=11)
    # four rows whose worker died; the fifth's worker died on it MAX_ATTEMPTS times
    CampaignMessage.objects.filter(pk__in=[r.pk for r in rows[:4]]).update(
        status="sending", claimed_at=long_ago, attempts=1
    )
    CampaignMessage.objects.filter(pk=rows[4].pk).update(
        status="sending", claimed_at=long_ago, attempts=delivery.MAX_ATTEMPTS
    )
    monkeypatch.setattr(delivery, "RECOVER_BATCH", 3)  # two batches
    outcome = dispatch()  # the beat's entry: recovery, then the due rows
    assert outcome["recovered"] == 4
    statuses = dict(campaign.messages.values_list("to", "status"))
    assert sorted(statuses.values()) == ["failed"] + ["sent"] * 4
    lost = CampaignMessage.objects.get(pk=rows[4].pk)
    assert lost.status_reason == f"worker lost during each of {delivery.MAX_ATTEMPTS} attempts"
    received = smtp_server.wait_for(4)
    assert sorted(m.rcpt_tos[0] for m in received) == sorted(m.to for m in rows[:4])
    assert dispatch()["recovered"] == 0
