"""Celery tasks of the ad audiences (campaigns.services.ad_audiences): the scheduled sync of
every audience, one audience's sync (asked for at once when a member withdraws consent or is
erased, retried with backoff while the platform is down), and the offline conversions.
Imported by campaigns/apps.py, so every process knows them by name."""

from celery import shared_task

from campaigns.models import SyncStatus
from campaigns.services import ad_audiences


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
    """One audience's sync. While the platform is down or rate-limits, retried with backoff;
    the state is kept, so nothing is lost, and the scheduled sync catches up after the
    last retry."""
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
