"""The outbox: domain events written with the change they describe, delivered to partner
webhooks after commit, signed, retried until every subscribed endpoint accepts them.

Delivery is at least once: an endpoint may see an event twice after a partial failure, so
each request carries the event id (`X-Omni-Event-Id`) for the receiver to deduplicate.
"""

import fnmatch
import hashlib
import hmac
import json
import urllib.error
import urllib.request

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from core.models import OutboxEvent, WebhookEndpoint
from core.observability import current_request_id
from core.services.enqueue import enqueue_after_commit
from core.services.traces import PersonTraces

TIMEOUT_SECONDS = 5
MAX_ATTEMPTS = 20


def publish(topic: str, payload: dict) -> OutboxEvent:
    """Record `topic` (an `object_action` event name) with its payload in the caller's
    transaction; it is delivered only if that transaction commits."""
    event = OutboxEvent.objects.create(
        topic=topic, payload=json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    )
    enqueue_after_commit(
        "core.deliver_outbox"
    )  # a lost publish: beat's core.deliver_outbox sends it
    return event


def forget_person(traces: PersonTraces) -> int:
    """Erasure: in every event about the person (sent or not), each payload value and error
    text holding one of her identifiers or names becomes "[erased]"; ids, topics and amounts
    stay, so an event still pending is delivered without her data. Returns the events
    changed."""
    terms = traces.search_terms()
    if not terms:
        return 0
    held = Q()
    for term in terms:
        held |= Q(as_text__icontains=term) | Q(last_error__icontains=term)
    candidates = (
        OutboxEvent.objects.annotate(as_text=Cast("payload", TextField()))
        .filter(held)
        .only("pk", "payload", "last_error")
        .select_for_update()
    )
    changed = []
    for event in candidates:
        if not (traces.is_about(json.dumps(event.payload)) or traces.is_about(event.last_error)):
            continue
        payload, payload_changed = traces.redact(event.payload)
        error_changed = traces.is_personal(event.last_error)
        if payload_changed or error_changed:
            event.payload = payload
            event.last_error = "" if error_changed else event.last_error
            changed.append(event)
    OutboxEvent.objects.bulk_update(changed, ["payload", "last_error"], batch_size=500)
    return len(changed)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def has_valid_signature(secret: str, body: bytes, given: str) -> bool:
    """Whether `given` (an `X-Omni-Signature` or `X-Hub-Signature-256` value) signs `body`
    under `secret`; compared in constant time."""
    return bool(secret and given) and hmac.compare_digest(given.strip(), sign(secret, body))


def _subscribed(endpoint: WebhookEndpoint, topic: str) -> bool:
    return any(fnmatch.fnmatchcase(topic, pattern) for pattern in endpoint.topics or ["*"])


def post_signed(url, secret, body: bytes, *, headers=None, timeout=TIMEOUT_SECONDS):
    """POST a JSON body to an http(s) URL with `X-Omni-Signature` under `secret`; returns
    `(status, response body)`. Raises urllib's URLError/HTTPError, OSError or ValueError.
    Every signed request we send to partners (webhooks, stock pushes, HTTP providers) goes
    through here."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"URL must be http(s): {url}")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Omni-Signature": sign(secret, body),
            # The request (or task) that caused this call: one id from the partner's request
            # to what we sent them (core.observability).
            **({"X-Request-Id": request_id} if (request_id := current_request_id()) else {}),
            **(headers or {}),
        },
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return response.status, response.read()


def deliver_pending(limit=100) -> dict:
    """Send undelivered events, oldest first. Rows are locked with SKIP LOCKED so several
    workers share the work without sending one event twice at the same time."""
    endpoints = [e for e in WebhookEndpoint.objects.filter(is_active=True)]
    if not endpoints:
        # Nobody subscribes: every pending event is delivered to no one, in one statement.
        sent = OutboxEvent.objects.filter(
            published_at__isnull=True, attempts__lt=MAX_ATTEMPTS
        ).update(published_at=timezone.now(), attempts=F("attempts") + 1, last_error="")
        return {"sent": sent, "failed": 0}
    sent = failed = 0
    with transaction.atomic():
        events = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(published_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
            .order_by("id")[:limit]
        )
        for event in events:
            body = json.dumps(
                {
                    "id": event.pk,
                    "topic": event.topic,
                    "created_at": event.created_at.isoformat(),
                    "payload": event.payload,
                }
            ).encode()
            errors = []
            for endpoint in endpoints:
                if not _subscribed(endpoint, event.topic):
                    continue
                try:
                    post_signed(
                        endpoint.url,
                        endpoint.secret,
                        body,
                        headers={"X-Omni-Event": event.topic, "X-Omni-Event-Id": str(event.pk)},
                    )
                except (urllib.error.URLError, OSError, ValueError) as error:
                    errors.append(f"{endpoint.name}: {error}")
            event.attempts += 1
            if errors:
                event.last_error = "; ".join(errors)[:2000]
                failed += 1
            else:
                event.published_at = timezone.now()
                event.last_error = ""
                sent += 1
            event.save(update_fields=["attempts", "last_error", "published_at"])
    return {"sent": sent, "failed": failed}
