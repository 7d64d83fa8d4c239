"""A database error in a send is retried by the send task, not failed as a render error.

A real Celery worker (tests/campaigns/workers.py) sends a campaign with a coupon per
customer, its connections with PostgreSQL's `lock_timeout` at 300 ms; the test holds a real
lock on the coupon codes table from another connection, so issuing each coupon fails with
a real LockNotAvailable. The rows go back to the queue (none failed, no "render: ..."
reason, nothing sent); once the lock is gone, send_chunk's own retry with backoff (no
dispatch beat runs in this test) sends every message exactly once, each with its coupon.
"""

import email
import email.policy

import psycopg
import pytest
from django.utils import timezone

from campaigns.factories import CampaignFactory, CouponPoolFactory, MessageTemplateFactory
from campaigns.models import CampaignMessage, CodeKind, CouponCode
from tests.campaigns.test_fault_smtp_and_slow_provider import (
    Beat,
    make_audience,
    schedule_through_the_api,
    statuses,
)
from tests.campaigns.workers import (
    database_url,
    new_queue,
    start_worker,
    stop,
    wait_until,
    worker_env,
)

pytestmark = [
    pytest.mark.worker,
    pytest.mark.postgres,
    pytest.mark.smtp,
    pytest.mark.django_db(transaction=True),
]


def test_a_lock_timeout_while_sending_is_retried_by_the_task_and_sends_each_message_once(
    channels, smtp_server, api_client_for, redis_url
):
    recipients = 6
    make_audience(recipients, "email", lambda i: f"locked{i}@example.com", "email")
    pool = CouponPoolFactory(code_kind=CodeKind.UNIQUE, prefix="LOCKED")
    template = MessageTemplateFactory(text="Hello {{ first_name }}, your code: {{ coupon.code }}")
    campaign = CampaignFactory(
        channel=channels["email"], templates=[template], coupon_pool=pool, frequency_cap=100
    )
    queue = new_queue()
    env = worker_env(
        queue,
        redis_url,
        DATABASE_URL=database_url(lock_timeout="300ms"),
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_server.port}",
    )
    holder = psycopg.connect(database_url())  # another session of the same database
    holder.execute(f"LOCK TABLE {CouponCode._meta.db_table} IN SHARE MODE")  # no INSERT
    worker = start_worker(queue, env)
    try:
        schedule_through_the_api(api_client_for("campaigns:write"), campaign)
        Beat(redis_url, queue).tick()  # starts the campaign; the rest is send_chunk's retry

        def released_after_a_database_error():
            return CampaignMessage.objects.filter(
                campaign=campaign, status="queued", status_reason__startswith="database error"
            ).exists()

        assert wait_until(released_after_a_database_error, timeout=90), (
            f"{statuses(campaign)}\n" + stop(worker)
        )
        rows = CampaignMessage.objects.filter(campaign=campaign)
        assert not rows.filter(status="failed").exists()
        assert not rows.filter(status_reason__startswith="render").exists()
        assert smtp_server.messages == []

        holder.commit()  # the lock is gone: the task's next retry goes through
        done = wait_until(lambda: statuses(campaign) == {"sent": recipients}, timeout=180)
        assert done, f"{statuses(campaign)}\n" + stop(worker)
    finally:
        holder.close()
        output = stop(worker)

    received = smtp_server.wait_for(recipients)
    assert sorted(m.rcpt_tos[0] for m in received) == sorted(
        f"locked{i}@example.com" for i in range(recipients)
    )
    codes = dict(CouponCode.objects.filter(pool=pool).values_list("customer_id", "code"))
    assert len(codes) == recipients  # one code each: nothing issued twice
    for envelope in received:
        row = CampaignMessage.objects.get(campaign=campaign, to=envelope.rcpt_tos[0])
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        text = parsed.get_body(("plain",))
        assert codes[row.customer_id] in text.get_content()
        assert row.attempts >= 1 and row.sent_at <= timezone.now()
    assert "could not be rendered" not in output, output
