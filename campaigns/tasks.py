"""Campaigns' Celery tasks: small wrappers over the services.

The tasks import the services; the services never import this module (they hand rows to
`send_chunk` by its registered name, campaigns.services.delivery.SEND_CHUNK_TASK), and
campaigns/apps.py imports it at start-up so every process knows the tasks by name."""

from datetime import timedelta

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init
from django.db import DatabaseError, InterfaceError

from campaigns.models import SyncStatus
from campaigns.services import (
    abtest,
    ad_audiences,
    delivery,
    launch,
    links,
    loyalty,
    recommendations,
    store_local,
)
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


# --- store-local marketing (campaigns.services.store_local) -------------------------------


@shared_task(name="campaigns.refresh_home_stores")
def refresh_home_stores():
    """Beat, daily: every customer's home store, worked out again in one statement
    (cancelled orders and merges included)."""
    return store_local.refresh_home_stores()


@shared_task(name="campaigns.refresh_recent_home_stores")
def refresh_recent_home_stores():
    """Beat, every minute: the home stores of customers with new orders or store visits."""
    return store_local.refresh_recent_home_stores()


@shared_task(name=store_local.TELL_TASK)
def tell_size_back_in_store(pairs=None):
    """After a replenishment committed (inventory's stock_replenished, remembered in its
    transaction by campaigns/apps.py), and each minute by beat as the sweep: the waiting
    customers' `size_back_in_store` events. Safe to run twice (each event's message id is
    unique per customer, variant and day). `pairs`: a task queued by an older release."""
    store_local.refresh_recent_home_stores()
    told = store_local.tell_size_back_in_store([tuple(pair) for pair in pairs]) if pairs else 0
    return told + store_local.tell_pending_restocks()


# --- ad audiences (campaigns.services.ad_audiences) ---------------------------------------


def backoff_seconds(retries: int, retry_after=None) -> int:
    """1, 2, 4 ... minutes, capped at an hour; the platform's Retry-After when longer."""
    wait = min(60 * 2**retries, 3600)
    return max(wait, int(retry_after or 0))


@shared_task(name="campaigns.sync_ad_audiences")
def sync_ad_audiences():
    """Beat, every AD_AUDIENCE_SYNC_SECONDS: every enabled audience, in step with its
    segment. A run the platform turned away for now is retried one audience at a time."""
    runs = ad_audiences.sync_all(reason="schedule")
    for run in runs:
        if run.status == SyncStatus.RETRYING:
            sync_ad_audience.apply_async(
                (run.audience_id,), {"reason": "retry"}, countdown=backoff_seconds(0)
            )
    return {run.audience_id: run.status for run in runs}


@shared_task(name=ad_audiences.SYNC_TASK, bind=True, max_retries=8)
def sync_ad_audience(self, audience_id, reason="removal"):
    """One audience's sync (asked for at once when a member withdraws consent or is erased).
    While the platform is down or rate-limits, retried with backoff; the state is kept, so
    nothing is lost, and the scheduled sync catches up after the last retry."""
    run = ad_audiences.sync_audience(audience_id, reason=reason)
    if run is not None and run.status == SyncStatus.RETRYING:
        if self.request.called_directly or self.request.is_eager:
            return run.status
        if self.request.retries < self.max_retries:
            raise self.retry(countdown=backoff_seconds(self.request.retries))
    return run.status if run is not None else "busy"


@shared_task(name="campaigns.upload_ad_conversions")
def upload_ad_conversions():
    """Beat, hourly: store purchases after an ad click, uploaded once per order and platform."""
    return ad_audiences.upload_conversions()
