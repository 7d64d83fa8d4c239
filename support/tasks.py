"""Support's Celery tasks: small wrappers over services."""

from celery import shared_task

from core.services.enqueue import enqueue
from support.inbound_email import poll_all_mailboxes
from support.services import outbound, sla


@shared_task(
    name="support.send_outbound_message", bind=True, max_retries=outbound.MAX_SEND_ATTEMPTS
)
def send_outbound_message(self, message_id):
    """Send one reply; safe to run twice (see support.services.outbound)."""
    try:
        message = outbound.deliver(message_id)
    except outbound.RetryLater as error:
        if self.request.retries >= self.max_retries:
            outbound.mark_failed(message_id, str(error))
            return "failed"
        # Backoff doubling from 5 s, or the provider's own delay when longer, capped at 10 min.
        countdown = max(5 * 2**self.request.retries, error.retry_after or 0)
        raise self.retry(exc=error, countdown=min(600, countdown)) from error
    return message.delivery_status if message else None


@shared_task(name="support.send_unsent_replies")
def send_unsent_replies():
    """Beat: enqueue again the replies whose send task was lost (broker down, worker died)."""
    ids = outbound.unsent_replies()
    for message_id in ids:
        if not enqueue(send_outbound_message, (message_id,)):
            break  # the broker is still down: the next run tries again
    return {"replies": len(ids)}


@shared_task(name="support.detect_sla_breaches")
def detect_sla_breaches():
    """Beat: flag passed SLA targets and escalate."""
    return sla.detect_breaches()


@shared_task(name="support.poll_imap")
def poll_imap():
    """Beat: fetch new mail from every email channel with an IMAP mailbox configured."""
    return poll_all_mailboxes()
