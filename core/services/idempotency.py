"""Idempotency keys: the same POST sent twice with the same key is applied once.

Same key and same body: the stored response is replayed. Same key, other body: 409. A second
request while the first is still running: 409, so it is never run twice concurrently.
"""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import BinaryField, BooleanField, F, Func, Q, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from core.api.errors import json_error
from core.models import IdempotencyRecord
from core.services.traces import PersonTraces

KEEP_FOR = timedelta(hours=24)
# Answers worth replaying: success and the client's own mistakes. Auth, throttling and
# server failures are not stored, so a retry after fixing them runs for real.
NOT_STORED = {401, 403, 429}


@dataclass
class Claim:
    record: IdempotencyRecord
    is_new: bool


class IdempotencyKeyReused(Exception):
    pass


class IdempotencyInProgress(Exception):
    pass


def request_digest(method, path, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def claim(client, key, *, method, path, digest) -> Claim:
    """Take the key for this request, or return the finished record to replay.

    Raises IdempotencyKeyReused (other body) or IdempotencyInProgress (still running).
    """
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                client=client, key=key, method=method, path=path, request_digest=digest
            )
        return Claim(record, True)
    except IntegrityError:
        pass
    record = IdempotencyRecord.objects.get(client=client, key=key)
    if record.request_digest != digest:
        raise IdempotencyKeyReused
    if record.status_code is None:
        if record.created_at < timezone.now() - timedelta(minutes=10):
            # The process that claimed it died; let this request take over.
            record.created_at = timezone.now()
            record.save(update_fields=["created_at"])
            return Claim(record, True)
        raise IdempotencyInProgress
    return Claim(record, False)


def complete(record, *, status_code, body: bytes, content_type: str):
    if status_code >= 500 or status_code in NOT_STORED:
        release(record)
        return
    record.status_code = status_code
    record.response_body = body
    record.content_type = content_type
    record.save(update_fields=["status_code", "response_body", "content_type"])


def release(record):
    IdempotencyRecord.objects.filter(pk=record.pk, status_code__isnull=True).delete()


class _HoldsBytes(Func):
    """`haystack` (a binary column) contains the bytes `needle`: INSTR on SQLite and MySQL,
    position(needle in haystack) on PostgreSQL."""

    output_field = BooleanField()
    template = "INSTR(%(expressions)s) > 0"

    def as_postgresql(self, compiler, connection, **extra_context):
        haystack, needle = self.get_source_expressions()
        swapped = self.copy()
        swapped.set_source_expressions([needle, haystack])
        return super(_HoldsBytes, swapped).as_sql(
            compiler,
            connection,
            template="position(%(expressions)s) > 0",
            arg_joiner=" in ",
            **extra_context,
        )


def forget_answers_about(traces: PersonTraces) -> int:
    """Erasure: every stored answer that names the person (one of her profile ids or
    identifiers; see PersonTraces) is replaced by a 410 saying it held personal data since
    erased. The record itself stays, so a replay still does not run the request a second
    time (that would place the order twice). Returns how many answers were replaced."""
    terms = traces.search_terms()
    if not terms:
        return 0
    held = Q()
    for term in terms:
        held |= Q(_HoldsBytes(F("response_body"), Value(term.encode(), BinaryField())))
    candidates = IdempotencyRecord.objects.filter(held, status_code__isnull=False).only(
        "pk", "status_code", "response_body"
    )
    replaced = []
    for record in candidates.select_for_update():
        if not traces.is_about(bytes(record.response_body or b"").decode("utf-8", "replace")):
            continue
        gone = json_error(
            "erased",
            _(
                "The request was applied (status %(status)s), but its answer held personal "
                "data that has since been erased at the customer's request."
            )
            % {"status": record.status_code},
            410,
        )
        record.status_code = gone.status_code
        record.response_body = gone.content
        record.content_type = gone["Content-Type"]
        replaced.append(record)
    IdempotencyRecord.objects.bulk_update(
        replaced, ["status_code", "response_body", "content_type"], batch_size=500
    )
    return len(replaced)


def purge_expired(now=None) -> int:
    now = now or timezone.now()
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=now - KEEP_FOR).delete()
    return deleted
