"""Campaigns' Celery tasks: small wrappers over the services.

The tasks import the services; the services never import this module (they hand rows to
`send_chunk` by its registered name, campaigns.services.delivery.SEND_CHUNK_TASK), and
campaigns/apps.py imports it at start-up so every process knows the tasks by name."""

from datetime import timedelta

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init
from django.db import DatabaseError, InterfaceError

from campaigns.services import abtest, delivery, launch, links, loyalty, recommendations
from campaigns.services.journeys import run_journeys
from campaigns.services.tracking import poll_conversions


@worker_process_init.connect
def prepare_sending(**_kwargs):
    """Each worker process keeps its sending threads and their connections between chunks,
    and loads the tracking links' routes when it starts, not while its first chunk waits (a
    few hundred milliseconds)."""
    delivery.keep_senders()
    for route in ("campaigns:click", "campaigns:unsubscribe", "campaigns:open-pixel"):
        links.path_for(route, "warm")


@shared_task(
    name=delivery.SEND_CHUNK_TASK,
    acks_late=True,
    autoretry_for=(DatabaseError, InterfaceError, SoftTimeLimitExceeded),
    retry_backoff=2,  # 2, 4, 8 ... seconds, each drawn at random below that (jitter)
    retry_backoff_max=120,
    max_retries=8,
)
def send_chunk(message_ids):
    """Send a chunk of message rows. Safe to run twice: each row is claimed before its send.

    A database error or the soft time limit interrupts the chunk: its unsent rows go back to
    the queue (campaigns.services.delivery.deliver) and the whole chunk is retried with
    backoff; the rows sent already are skipped then. After the last retry the rows are
    handed out again by the dispatch beat once SEND_LEASE has passed."""
    return delivery.send_messages(message_ids)


@shared_task(name="campaigns.dispatch")
def dispatch(lease_seconds=None):
    """Every minute: start due campaigns, choose due A/B winners, re-send rows whose worker
    died, hand due rows to send tasks (again, when their task was lost), close finished
    campaigns. `lease_seconds` (default SEND_LEASE) is how long a claimed or handed-out row
    may stay untouched before it counts as lost; only an operator who knows the old workers
    are dead passes 0."""
    lease = timedelta(seconds=lease_seconds) if lease_seconds is not None else delivery.SEND_LEASE
    started = launch.start_due_campaigns()
    decided = abtest.decide_due_tests()
    recovered = delivery.recover_stuck_sends(stale_after=lease)
    enqueued = delivery.enqueue_due(lease=lease)
    finished = launch.finish_campaigns()
    return {
        "started": started,
        "decided": decided,
        "recovered": recovered,
        "enqueued": enqueued,
        "finished": finished,
    }


@shared_task(name="campaigns.advance_journeys")
def advance_journeys():
    return run_journeys()


@shared_task(name="campaigns.track_conversions")
def track_conversions():
    return poll_conversions()


@shared_task(name="campaigns.apply_loyalty")
def apply_loyalty():
    """Beat, every 30 s: points earned and taken back, referrals credited, from the order
    events every channel records on the timeline."""
    return loyalty.apply_timeline()


@shared_task(name="campaigns.expire_loyalty_points")
def expire_loyalty_points():
    """Beat, daily: points past their date that were not used."""
    return loyalty.expire_points()


@shared_task(name="campaigns.refresh_product_pairs")
def refresh_product_pairs():
    """Beat, hourly: rewrite the product pair scores behind recommendations."""
    return recommendations.refresh_product_pairs()


@shared_task(name="campaigns.refresh_recommendations_after_purchases")
def refresh_recommendations_after_purchases():
    """Beat, every few minutes: rewrite the pair scores when orders were completed since the
    last run (only committed orders reach the timeline's cursor)."""
    return recommendations.refresh_after_purchases()
