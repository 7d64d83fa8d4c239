"""Core's Celery tasks: small wrappers over services."""

import socket

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from core import partitioning
from core.providers.kavenegar import poll_receipts
from core.selectors import BEAT_HEARTBEAT_KEY
from core.services import idempotency
from core.services.audit import purge_expired
from core.services.outbox import deliver_pending


@shared_task(name="core.ping")
def ping(value="pong"):
    """Round trip through the broker: proves a worker picks up tasks."""
    return {"value": value, "worker": socket.gethostname()}


@shared_task(name="core.beat_heartbeat")
def beat_heartbeat():
    """Sent by beat on a schedule; /healthz reports how long ago it last ran."""
    now = timezone.now().isoformat()
    cache.set(BEAT_HEARTBEAT_KEY, now, timeout=None)
    return now


@shared_task(name="core.purge_idempotency_records")
def purge_idempotency_records():
    return idempotency.purge_expired()


@shared_task(name="core.ensure_partitions")
def ensure_partitions():
    """Daily: this month's partitions and the next ones exist (PostgreSQL; a no-op on SQLite)."""
    return partitioning.ensure_partitions()


@shared_task(name="core.deliver_outbox")
def deliver_outbox():
    """Runs after each commit that published events, and on a schedule for retries."""
    return deliver_pending()


@shared_task(name="core.purge_audit_trail")
def purge_audit_trail():
    """Beat, daily: audit entries past AUDIT_RETENTION_DAYS are removed."""
    return {"removed": purge_expired()}


@shared_task(name="core.poll_sms_receipts")
def poll_sms_receipts():
    """Every few minutes: ask the gateways without a delivery callback (Kavenegar) where the
    recent messages are, and report the delivered and failed ones."""
    return poll_receipts()
