"""Campaigns' Celery tasks: small wrappers over the services."""

from datetime import timedelta

from celery import shared_task


@shared_task(name="campaigns.send_chunk", acks_late=True)
def send_chunk(message_ids):
    """Send a chunk of message rows. Safe to run twice: each row is claimed before its send."""
    from campaigns.services.sending import send_messages

    return send_messages(message_ids)


@shared_task(name="campaigns.dispatch")
def dispatch(stale_after_seconds=None):
    """Every minute: start due campaigns, choose due A/B winners, re-send rows whose worker
    died (after the lease), hand due rows to send tasks, close finished campaigns."""
    from campaigns.services import abtest, sending

    started = sending.start_due_campaigns()
    decided = abtest.decide_due_tests()
    stale = (
        timedelta(seconds=stale_after_seconds)
        if stale_after_seconds is not None
        else sending.SEND_LEASE
    )
    recovered = sending.recover_stuck_sends(stale_after=stale)
    enqueued = sending.enqueue_due()
    finished = sending.finish_campaigns()
    return {
        "started": started,
        "decided": decided,
        "recovered": recovered,
        "enqueued": enqueued,
        "finished": finished,
    }


@shared_task(name="campaigns.advance_journeys")
def advance_journeys():
    from campaigns.services.journeys import run_journeys

    return run_journeys()


@shared_task(name="campaigns.track_conversions")
def track_conversions():
    from campaigns.services.tracking import poll_conversions

    return poll_conversions()
