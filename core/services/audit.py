"""The audit trail of who touched a customer's personal data (core.models.AuditEntry).

`record(action, customer_public_id)` is called by every door that shows, exports, erases,
merges or edits a customer, and by the partner API's reads of one customer. Who and from
where come from the current request (core.observability keeps it): the staff member or the
API key, the path, the address and the request id. Recording never fails the action it
records: a failure is logged (the action already happened; losing the row is the lesser
harm than refusing the customer's service), and counted by the log pipeline.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from core.models import AuditEntry
from core.observability import current_request, current_request_id

logger = logging.getLogger("omni.audit")


def _client_ip(request) -> str | None:
    address = request.META.get("REMOTE_ADDR") or None
    return address


def record(action, customer_public_id, *, user=None, detail=None, request=None):
    request = request or current_request()
    candidate = getattr(request, "user", None) if request is not None else None
    # A partner's request: its `user` is the key's ApiClient (core.api.authentication).
    api_key = getattr(candidate, "api_key", None)
    if user is None and isinstance(candidate, get_user_model()) and candidate.is_authenticated:
        user = candidate
    if user is not None:
        actor = user.get_username()
    elif api_key is not None:
        actor = f"key:{api_key.name}"[:150]
    else:
        actor = "system"
    entry = AuditEntry(
        action=action,
        customer_public_id=customer_public_id,
        user=user,
        actor=actor,
        api_key_prefix=getattr(api_key, "prefix", "")[:16] if api_key is not None else "",
        path=(request.path[:300] if request is not None else ""),
        ip_address=_client_ip(request) if request is not None else None,
        request_id=current_request_id(),
        detail=detail or {},
    )
    try:
        with transaction.atomic():
            entry.save()
    except Exception:  # the action happened; the trail must not undo or refuse it
        logger.exception("audit entry not recorded: %s %s", action, customer_public_id)
        return None
    return entry


def entries_for(customer_public_ids) -> list[dict]:
    """Her trail, for her data export: what was done, when, by which kind of actor (staff
    or partner), never the staff member's name."""
    rows = AuditEntry.objects.filter(customer_public_id__in=list(customer_public_ids)).order_by(
        "at", "id"
    )
    return [
        {
            "at": row.at.isoformat(),
            "action": row.action,
            "by": "partner" if row.api_key_prefix else ("staff" if row.user_id else "system"),
        }
        for row in rows
    ]


def purge_expired(now=None) -> int:
    """The retention sweep: entries older than AUDIT_RETENTION_DAYS go (0 keeps them all)."""
    days = settings.AUDIT_RETENTION_DAYS
    if not days:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    return AuditEntry.objects.filter(at__lt=cutoff)._raw_delete(AuditEntry.objects.db)
