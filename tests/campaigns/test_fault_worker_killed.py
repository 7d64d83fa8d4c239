"""THE fault test: a real Celery worker sending a 2,000-recipient campaign through a real SMTP
server (aiosmtpd) is killed with SIGKILL in the middle; a new worker finishes the job. Every
recipient gets exactly one message.

What "exactly one" means here (see campaigns.services.delivery): delivery to the provider is
at least once with a stable idempotency key, which the SMTP provider turns into the
Message-ID. A worker killed between the server's "250 accepted" and the commit of "sent" can
leave one row whose message went out while the row still says "sending"; recovery sends it
again with the SAME Message-ID, which mail systems treat as the same message. So the test
asserts: every recipient received a message, each recipient received exactly one distinct
Message-ID (the one derived from her row), and at most the envelopes in flight when the
worker died (one per sending thread) were transmitted twice.
"""

import email
import os
import signal
import uuid
from collections import Counter, defaultdict

import pytest
from celery import Celery
from django.utils import timezone

from campaigns.factories import CampaignFactory
from campaigns.models import CampaignMessage, CampaignStatus
from campaigns.services import delivery, launch
from customers.models import Consent, Customer, Identity
from tests.campaigns.workers import start_worker, stop, wait_until, worker_env

RECIPIENTS = 2000
CHUNK = 250  # rows per task: the kill lands inside a task, not between two
pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.smtp]


def make_audience(channels):
    now = timezone.now()
    customers = Customer.objects.bulk_create(
        [
            Customer(first_name=f"R{i}", is_anonymous=False, created_at=now)
            for i in range(RECIPIENTS)
        ]
    )
    Identity.objects.bulk_create(
        [
            Identity(customer=c, kind="email", value=f"r{i}@example.com")
            for i, c in enumerate(customers)
        ]
    )
    Consent.objects.bulk_create(
        [
            Consent(customer=c, channel_kind="email", purpose="marketing", status="granted")
            for c in customers
        ]
    )


@pytest.mark.django_db(transaction=True)
def test_killing_a_worker_mid_campaign_loses_and_doubles_nobody(
    channels, smtp_server, redis_url, monkeypatch
):
    make_audience(channels)
    campaign = CampaignFactory(channel=channels["email"], frequency_cap=100)
    monkeypatch.setattr(launch, "enqueue_due", lambda **kwargs: 0)  # the broker does it below
    assert launch.start_campaign(campaign) == RECIPIENTS

    queue = f"fault-{uuid.uuid4().hex[:8]}"
    env = worker_env(queue, redis_url, EMAIL_URL=f"smtp://127.0.0.1:{smtp_server.port}")
    # Not the current app: shared tasks of later tests must stay on the eager test app.
    client = Celery(broker=redis_url, backend=redis_url, set_as_current=False)
    ids = list(campaign.messages.order_by("id").values_list("id", flat=True))
    for start in range(0, len(ids), CHUNK):
        client.send_task("campaigns.send_chunk", args=[ids[start : start + CHUNK]], queue=queue)

    first = start_worker(queue, env)
    try:
        progressed = wait_until(lambda: len(smtp_server.messages) >= 310, timeout=90)
        assert progressed, "the first worker never got going:\n" + stop(first)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        received_at_kill = len(smtp_server.messages)
    finally:
        stop(first)
    assert received_at_kill < RECIPIENTS, "the worker finished before it could be killed"
    statuses = Counter(
        CampaignMessage.objects.filter(campaign=campaign).values_list("status", flat=True)
    )
    stuck = statuses["sending"]
    # The kill landed inside a task: some of its rows were claimed or sent, others not.
    assert stuck or statuses["sent"] % CHUNK, statuses

    second = start_worker(queue, env)
    try:
        # The old worker is dead, so its claimed rows and its lost task may be taken over now.
        client.send_task("campaigns.dispatch", kwargs={"lease_seconds": 0}, queue=queue)

        def done():
            return not CampaignMessage.objects.filter(
                campaign=campaign, status__in=("queued", "sending")
            ).exists()

        finished = wait_until(done, timeout=180, step=0.5)
        output = stop(second) if not finished else ""
        assert finished, "the second worker did not finish:\n" + output
        smtp_server.wait_for(RECIPIENTS, timeout=10)
    finally:
        stop(second)

    rows = {m.to: m for m in CampaignMessage.objects.filter(campaign=campaign)}
    assert len(rows) == RECIPIENTS
    assert {m.status for m in rows.values()} == {"sent"}

    message_ids = defaultdict(set)
    envelopes = 0
    for envelope in smtp_server.messages:
        parsed = email.message_from_bytes(envelope.original_content)
        for recipient in envelope.rcpt_tos:
            message_ids[recipient].add(parsed["Message-ID"])
            envelopes += 1
    assert set(message_ids) == set(rows), "somebody got nothing"
    for recipient, ids_seen in message_ids.items():
        assert len(ids_seen) == 1, f"{recipient} got {len(ids_seen)} different messages"
        (only,) = ids_seen
        assert only.startswith(f"<{rows[recipient].idempotency_key}@")
    # At most the messages in flight at the kill (one per sending thread) went out twice,
    # each time with the same Message-ID.
    assert envelopes - RECIPIENTS <= delivery.SEND_THREADS
    print(
        f"killed after {received_at_kill} messages with {stuck} rows claimed; "
        f"{envelopes} envelopes for {RECIPIENTS} recipients"
    )
    # The dispatch above closes the campaign itself when the lost rows were all claimed (so
    # none was left to hand out again); otherwise the next pass of finish_campaigns does.
    launch.finish_campaigns()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
