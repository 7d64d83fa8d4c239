"""Faults of the providers, with a real Celery worker sending a campaign (tests/campaigns/
workers.py) that the API scheduled and the dispatch beat started:

- the SMTP server (aiosmtpd) goes down mid-campaign and comes back: the rows it did not
  accept wait (queued, none failed, none lost), and after it is back the dispatch beat hands
  them out again; every recipient gets exactly one message;
- an HTTP provider answers slowly: every call gives up after the channel's timeout (the
  sends return while the provider still holds every request), the rows wait, and once the
  provider is fast again the dispatch beat sends them with the same Idempotency-Key, so
  the provider stores each message exactly once.

The workers run with tests/campaigns/fault_settings.py: a retry backoff of 1 s, not 30.
"""

import asyncio
import email
import json
import threading
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from celery import Celery
from django.utils import timezone

from campaigns.factories import CampaignFactory
from campaigns.models import Campaign, CampaignMessage, CampaignStatus
from customers.models import Consent, Customer, Identity
from tests.campaigns.workers import new_queue, start_worker, stop, wait_until, worker_env
from tests.receivers import free_port

pytestmark = [
    pytest.mark.worker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]
FAULT_SETTINGS = "tests.campaigns.fault_settings"


def make_audience(count, kind, address, consent_kind):
    now = timezone.now()
    customers = Customer.objects.bulk_create(
        [Customer(first_name=f"F{i}", is_anonymous=False, created_at=now) for i in range(count)]
    )
    Identity.objects.bulk_create(
        [Identity(customer=c, kind=kind, value=address(i)) for i, c in enumerate(customers)]
    )
    Consent.objects.bulk_create(
        [
            Consent(customer=c, channel_kind=consent_kind, purpose="marketing", status="granted")
            for c in customers
        ]
    )


def schedule_through_the_api(writer, campaign):
    """The staff's door: schedule it for now; the dispatch beat starts it."""
    answer = writer.post(
        f"/api/v1/campaigns/campaigns/{campaign.pk}/schedule",
        {"send_at": (timezone.now() - timedelta(seconds=1)).isoformat()},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "scheduled"


class Beat:
    """Sends campaigns.dispatch to the worker's queue, as celery beat does every minute."""

    def __init__(self, redis_url, queue):
        # Not the current app: shared tasks of later tests must stay on the eager test app.
        self.client = Celery(broker=redis_url, backend=redis_url, set_as_current=False)
        self.queue = queue

    def tick(self):
        self.client.send_task("campaigns.dispatch", queue=self.queue)

    def until(self, condition, timeout):
        """A tick each second until `condition` holds: True, or False after `timeout` s."""
        return wait_until(lambda: condition() or self.tick(), timeout=timeout, step=1.0)


def statuses(campaign):
    return Counter(
        CampaignMessage.objects.filter(campaign=campaign).values_list("status", flat=True)
    )


# --- SMTP down mid-campaign ----------------------------------------------------------------


class StallingSmtpServer:
    """A real SMTP server (aiosmtpd) on a fixed port that accepts `accept` messages and then
    holds every further DATA unanswered, until the test stops it: the campaign is
    mid-flight, deterministically, when the server goes down."""

    def __init__(self, port, accept):
        self.accepted, self.held = [], 0
        self._lock = threading.Lock()
        server = self

        class Handler:
            async def handle_DATA(self, smtp_server, session, envelope):
                with server._lock:
                    if accept is None or len(server.accepted) < accept:
                        server.accepted.append(envelope)
                        return "250 Message accepted for delivery"
                    server.held += 1
                await asyncio.sleep(3600)  # never answered: the server goes down first
                return "451 never reached"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)
        self.controller.start()
        self.running = True

    def stop(self):
        if self.running:
            self.running = False
            self.controller.stop()


@pytest.mark.smtp
def test_smtp_down_mid_campaign_loses_nobody_and_sends_each_message_once_after_it_is_back(
    channels, api_client_for, redis_url
):
    recipients, accepted_before_the_fault = 120, 30
    make_audience(recipients, "email", lambda i: f"down{i}@example.com", "email")
    campaign = CampaignFactory(channel=channels["email"], frequency_cap=100)
    port = free_port()
    first = StallingSmtpServer(port, accept=accepted_before_the_fault)
    second = None
    queue = new_queue()
    env = worker_env(
        queue,
        redis_url,
        EMAIL_URL=f"smtp://127.0.0.1:{port}",
        DJANGO_SETTINGS_MODULE=FAULT_SETTINGS,
    )
    worker = start_worker(queue, env)
    beat = Beat(redis_url, queue)
    try:
        schedule_through_the_api(api_client_for("campaigns:write"), campaign)
        beat.tick()
        # Mid-campaign: the server accepted its share and holds the next messages unanswered.
        mid_flight = wait_until(
            lambda: len(first.accepted) == accepted_before_the_fault and first.held, timeout=90
        )
        assert mid_flight, "the campaign never reached the server:\n" + stop(worker)
        first.stop()

        # Nothing is lost or failed: every row the server did not accept waits in the queue.
        def settled():
            now = statuses(campaign)
            return now["sending"] == 0 and now["sent"] + now["queued"] == recipients

        assert wait_until(settled, timeout=90), statuses(campaign)
        waiting = CampaignMessage.objects.filter(campaign=campaign, status="queued")
        assert statuses(campaign) == {
            "sent": accepted_before_the_fault,
            "queued": recipients - accepted_before_the_fault,
        }
        reasons = set(waiting.values_list("status_reason", flat=True))
        assert all(reason.startswith("SMTP send failed") for reason in reasons), reasons
        assert not waiting.filter(not_before__lte=timezone.now() - timedelta(minutes=1)).exists()
        assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.SENDING

        # The server is back; the dispatch beat hands the waiting rows out again.
        second = StallingSmtpServer(port, accept=None)
        done = beat.until(lambda: statuses(campaign) == {"sent": recipients}, timeout=120)
        assert done, f"{statuses(campaign)}\n" + stop(worker)
        assert beat.until(
            lambda: Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.SENT,
            timeout=30,
        )
    finally:
        output = stop(worker)
        first.stop()
        if second is not None:
            second.stop()

    rows = {m.to: m for m in CampaignMessage.objects.filter(campaign=campaign)}
    envelopes = first.accepted + second.accepted
    received = Counter(recipient for envelope in envelopes for recipient in envelope.rcpt_tos)
    assert set(received) == set(rows), "somebody got nothing"
    assert set(received.values()) == {1}, "somebody got two messages"
    assert len(second.accepted) == recipients - accepted_before_the_fault
    for envelope in envelopes:
        parsed = email.message_from_bytes(envelope.original_content)
        assert parsed["Message-ID"].startswith(f"<{rows[envelope.rcpt_tos[0]].idempotency_key}@")
    assert "Traceback" not in output, output


# --- a provider answering slowly -----------------------------------------------------------


class SlowProvider:
    """A real HTTP provider on loopback that stores each message once per Idempotency-Key
    (as real providers do) and answers `{"id": ...}`. While `slow` is set it stores the
    message but holds the answer until `fast_again()` (at most a minute)."""

    def __init__(self):
        self.stored = {}  # Idempotency-Key -> the JSON body, the first time it came
        self.requests = Counter()  # Idempotency-Key -> requests seen
        self.answered_while_slow = 0
        self.slow, self.released = threading.Event(), threading.Event()
        self._lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                key = self.headers["Idempotency-Key"]
                with provider._lock:
                    provider.requests[key] += 1
                    provider.stored.setdefault(key, json.loads(body))
                if provider.slow.is_set():
                    if not provider.released.wait(timeout=60):
                        return
                    with provider._lock:
                        provider.answered_while_slow += 1
                payload = json.dumps({"id": f"p-{key}"}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up long ago

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/messages"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def fast_again(self):
        self.slow.clear()
        self.released.set()

    def close(self):
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


def test_a_slow_provider_costs_one_timeout_a_call_and_each_message_is_stored_once(
    channels, api_client_for, redis_url
):
    recipients = 24
    provider = SlowProvider()
    sms = channels["sms"]
    sms.provider = "http"
    sms.provider_settings = {"url": provider.url, "secret": "s3cret", "timeout": 0.5}
    sms.save()
    make_audience(recipients, "phone", lambda i: f"+98912{i:07d}", "sms")
    campaign = CampaignFactory(channel=sms, frequency_cap=100)
    queue = new_queue()
    worker = start_worker(
        queue, worker_env(queue, redis_url, DJANGO_SETTINGS_MODULE=FAULT_SETTINGS)
    )
    beat = Beat(redis_url, queue)
    provider.slow.set()
    try:
        schedule_through_the_api(api_client_for("campaigns:write"), campaign)
        beat.tick()

        # Every call gave up on its own timeout: all rows wait again, though the provider
        # has not answered a single request yet (it holds them all).
        def all_timed_out():
            rows = CampaignMessage.objects.filter(campaign=campaign)
            return rows.count() == recipients and all(
                status == "queued" and "timed out" in reason
                for status, reason in rows.values_list("status", "status_reason")
            )

        assert wait_until(all_timed_out, timeout=90), f"{statuses(campaign)}\n" + stop(worker)
        assert provider.answered_while_slow == 0 and not provider.released.is_set()
        assert len(provider.stored) == recipients  # the provider took them, late

        # The provider is fast again; the dispatch beat sends the waiting rows again with
        # the same Idempotency-Key.
        provider.fast_again()
        done = beat.until(lambda: statuses(campaign) == {"sent": recipients}, timeout=120)
        assert done, f"{statuses(campaign)}\n" + stop(worker)
    finally:
        output = stop(worker)
        provider.close()

    rows = {m.idempotency_key: m for m in CampaignMessage.objects.filter(campaign=campaign)}
    assert set(provider.stored) == set(rows), "a message never reached the provider"
    assert all(count >= 2 for count in provider.requests.values())  # timed out, then sent
    for key, row in rows.items():
        assert row.provider_message_id == f"p-{key}"
        assert row.attempts >= 2
        assert provider.stored[key]["to"] == row.to
    assert "Traceback" not in output, output
