"""Inventory's Celery tasks: small wrappers over services."""

from celery import shared_task

from inventory.services import reservations, sync, transfers

MAX_PUSH_RETRIES = 10


def backoff_seconds(retries: int) -> int:
    """5 s, 10 s, 20 s ... capped at 10 minutes."""
    return min(5 * 2**retries, 600)


@shared_task(name="inventory.expire_reservations")
def expire_reservations():
    """Sent by beat every minute: release the reservations past their expiry."""
    return {"expired": reservations.expire_due()}


@shared_task(name="inventory.push_stock", bind=True, max_retries=MAX_PUSH_RETRIES)
def push_stock(self, channel_id):
    """Push a channel's pending stock figures; retried with backoff when the endpoint
    fails. Run eagerly (no broker), a failure is left pending for the beat sweep instead
    of failing the request that changed the stock."""
    try:
        result = sync.push_pending(channel_id)
    except sync.SyncFailed as error:
        if self.request.is_eager:
            return {"status": "failed", "error": str(error)}
        raise self.retry(exc=error, countdown=backoff_seconds(self.request.retries)) from error
    if result["status"] == "busy" and not self.request.is_eager:
        raise self.retry(countdown=sync.DEBOUNCE_SECONDS)
    if result.get("more"):
        sync.schedule_push(channel_id, countdown=0, if_cache_down=True)
    return result


@shared_task(name="inventory.push_stock_changes")
def push_stock_changes():
    """Sent by beat: a safety net for pending figures whose push was lost or gave up."""
    channels = sync.channels_with_pending(older_than_seconds=sync.DEBOUNCE_SECONDS * 2)
    for channel_id in channels:
        sync.schedule_push(channel_id, countdown=0, if_cache_down=True)
    return {"channels": len(channels)}


@shared_task(name="inventory.notice_late_transfers")
def notice_late_transfers():
    """Sent by beat every 15 minutes: transfers past their expected date are noticed once
    (a pickup hold re-planned when it can be, the staff told)."""
    return {"late": transfers.notice_late_transfers()}
