"""Merging two profiles into one, and the staff review of merge candidates."""

from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from core.models import AuditAction
from core.services import audit
from core.services.outbox import publish
from customers.errors import MergeRefused
from customers.links import customer_links
from customers.models import (
    CONFLICTING_KINDS,
    ArchivedFigures,
    Consent,
    Customer,
    CustomerMerge,
    Event,
    Identity,
    MergeCandidate,
    MergeCandidateStatus,
)
from customers.services.figures import FIGURE_FIELDS

PROFILE_FIELDS = ("first_name", "last_name", "locale", "preferred_channel")
GEO_FIELDS = ("latitude", "longitude")  # where she lives: kept as a pair


def in_survival_order(customers) -> list[Customer]:
    """The profiles in the order a merge keeps them: known before anonymous, then the oldest
    first. The first one survives, so ids partners already hold keep leading to it."""
    return sorted(customers, key=lambda c: (c.is_anonymous, c.created_at, c.id))


def conflicting_kinds(first: Customer, second: Customer) -> list[str]:
    """Kinds (email, phone) of which both profiles hold a verified identity: two known people."""
    held: dict[int, set[str]] = {first.id: set(), second.id: set()}
    rows = Identity.objects.filter(
        customer_id__in=held, kind__in=CONFLICTING_KINDS, is_verified=True
    ).values_list("customer_id", "kind")
    for customer_id, kind in rows:
        held[customer_id].add(kind)
    return sorted(held[first.id] & held[second.id])


def _lock(*customers: Customer) -> dict[int, Customer]:
    ids = sorted({customer.id for customer in customers})
    return {c.id: c for c in Customer.objects.select_for_update().filter(id__in=ids).order_by("id")}


def merge_customers(
    survivor: Customer,
    loser: Customer,
    *,
    reason: str,
    merged_by=None,
    source: str = "",
    identities=(),
    force: bool = False,
) -> CustomerMerge:
    """Fold `loser` into `survivor` in one transaction and record it.

    Re-points identities, events, consents, pending merge candidates and every row of other
    apps registered with customers.links.register_customer_link; keeps the loser's profile
    fields where the survivor has none; adds up the lifetime figures. The loser stays as a
    tombstone (`merged_into`) so its public id keeps working; its personal fields are blanked.

    Raises MergeRefused for the same profile, an already merged or erased one, or (unless
    `force`, which staff approval uses) two profiles holding different verified emails/phones.
    """
    with transaction.atomic():
        if survivor.id == loser.id:
            raise MergeRefused("A profile cannot be merged into itself.")
        locked = _lock(survivor, loser)
        merge = merge_locked(
            locked[survivor.id],
            locked[loser.id],
            reason=reason,
            merged_by=merged_by,
            source=source,
            identities=identities,
            force=force,
        )
        audit.record(
            AuditAction.MERGE,
            survivor.public_id,
            user=merged_by,
            detail={"merged_profile": str(loser.public_id), "source": source},
        )
        return merge


# What a merge changes on the survivor: saved by merge_locked, or by a caller that saves the
# survivor itself afterwards (identity resolution, which also applies the request's traits).
SURVIVOR_FIELDS = (*PROFILE_FIELDS, *GEO_FIELDS, "traits", "is_anonymous", *FIGURE_FIELDS)


def merge_locked(
    survivor,
    loser,
    *,
    reason,
    merged_by=None,
    source="",
    identities=(),
    force=False,
    save_survivor=True,
):
    """merge_customers for a caller that already holds both rows locked in its transaction
    (identity resolution); `survivor` is updated in place and, unless `save_survivor` is
    False (the caller then saves SURVIVOR_FIELDS before commit), saved."""
    if survivor.id == loser.id:
        raise MergeRefused("A profile cannot be merged into itself.")
    for customer in (survivor, loser):
        if customer.merged_into_id:
            raise MergeRefused(f"Customer {customer.public_id} was already merged.")
        if customer.erased_at:
            raise MergeRefused(f"Customer {customer.public_id} was erased.")
    # An anonymous profile holds no email or phone, so it cannot conflict with anyone.
    if not (survivor.is_anonymous or loser.is_anonymous):
        conflict = conflicting_kinds(survivor, loser)
        if conflict and not force:
            raise MergeRefused(
                "Both profiles hold verified " + " and ".join(conflict) + "; a person must decide.",
                conflicting=conflict,
            )
        _repoint_candidates(loser, survivor)

    moved = repoint_rows(loser.id, survivor.id)

    for name in PROFILE_FIELDS:
        if not getattr(survivor, name) and getattr(loser, name):
            setattr(survivor, name, getattr(loser, name))
    survivor.traits = {**(loser.traits or {}), **(survivor.traits or {})}
    if survivor.latitude is None and loser.latitude is not None:
        survivor.latitude, survivor.longitude = loser.latitude, loser.longitude
    survivor.is_anonymous = survivor.is_anonymous and loser.is_anonymous
    add_figures(survivor, loser)
    if save_survivor:
        survivor.save(update_fields=SURVIVOR_FIELDS)

    now = timezone.now()
    for name in PROFILE_FIELDS:
        setattr(loser, name, "")
    loser.traits = {}
    loser.merged_into = survivor
    loser.merged_at = now
    loser.orders_count = loser.events_count = 0
    loser.lifetime_spend, loser.channels_used = {}, []
    loser.save(
        update_fields=[*PROFILE_FIELDS, "traits", "merged_into", "merged_at", *FIGURE_FIELDS]
    )

    merge = CustomerMerge.objects.create(
        survivor=survivor,
        loser=loser,
        loser_public_id=loser.public_id,
        reason=reason[:200],
        identities=[str(key) for key in identities],
        moved=moved,
        merged_by=merged_by,
        source=source[:100],
        created_at=now,
    )
    # Partners that keep our customer ids (the web shop, the app) learn which id now stands
    # for which, in the same transaction as the merge.
    publish(
        "customer_merged",
        {
            "survivor_id": str(survivor.public_id),
            "merged_id": str(loser.public_id),
            "reason": merge.reason,
            "merged_at": now.isoformat(),
        },
    )
    return merge


def _link_targets():
    """(label, model, field) of every row kind that points at a customer and moves in a merge."""
    targets = [
        ("identities", Identity, "customer"),
        ("events", Event, "customer"),
        ("consents", Consent, "customer"),
        ("archived_figures", ArchivedFigures, "customer"),
    ]
    for link in customer_links():
        targets.append((f"{link.model_label}.{link.field_name}", link.model, link.field_name))
    targets.append(("tombstones", Customer, "merged_into"))
    return targets


def repoint_rows(loser_id: int, survivor_id: int) -> dict[str, int]:
    """Move every row pointing at the loser to the survivor; returns counts per kind.

    On PostgreSQL all the UPDATEs travel as one statement (data-modifying CTEs), so a merge
    costs one round trip however many apps registered links."""
    targets = _link_targets()
    if connection.vendor != "postgresql":
        return {
            label: model._default_manager.filter(**{name: loser_id}).update(**{name: survivor_id})
            for label, model, name in targets
        }
    quote = connection.ops.quote_name
    parts, params = [], []
    for number, (_label, model, name) in enumerate(targets):
        column = quote(model._meta.get_field(name).column)
        parts.append(
            f"m{number} AS (UPDATE {quote(model._meta.db_table)} SET {column} = %s "  # noqa: S608
            f"WHERE {column} = %s RETURNING 1)"
        )
        params += [survivor_id, loser_id]
    counts = ", ".join(f"(SELECT count(*) FROM m{n})" for n in range(len(targets)))  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(parts)} SELECT {counts}", params)
        row = cursor.fetchone()
    return {label: int(count) for (label, _model, _name), count in zip(targets, row, strict=True)}


def add_figures(survivor: Customer, loser: Customer) -> None:
    """Both profiles' figures are current, so the merged figures are their sum."""
    survivor.events_count += loser.events_count
    survivor.orders_count += loser.orders_count
    spend = dict(survivor.lifetime_spend or {})
    for currency, total in (loser.lifetime_spend or {}).items():
        spend[currency] = str(Decimal(spend.get(currency, "0")) + Decimal(total))
    survivor.lifetime_spend = spend
    survivor.channels_used = sorted({*(survivor.channels_used or []), *(loser.channels_used or [])})
    survivor.first_seen_at = _earliest(survivor.first_seen_at, loser.first_seen_at)
    survivor.last_seen_at = _latest(survivor.last_seen_at, loser.last_seen_at)


def _earliest(*moments):
    present = [m for m in moments if m]
    return min(present) if present else None


def _latest(*moments):
    present = [m for m in moments if m]
    return max(present) if present else None


def _repoint_candidates(loser: Customer, survivor: Customer) -> None:
    """Pending candidates naming the loser now name the survivor; a pair that would name the
    survivor twice, or repeat an existing pair, is dropped."""
    pending = MergeCandidate.objects.filter(status=MergeCandidateStatus.PENDING)
    for candidate in pending.filter(customer=loser) | pending.filter(other=loser):
        other_id = (
            candidate.other_id if candidate.customer_id == loser.id else candidate.customer_id
        )
        pair = sorted([survivor.id, other_id])
        exists = MergeCandidate.objects.filter(customer_id=pair[0], other_id=pair[1]).exclude(
            pk=candidate.pk
        )
        if other_id == survivor.id or exists.exists():
            candidate.delete()
            continue
        candidate.customer_id, candidate.other_id = pair
        candidate.save(update_fields=["customer", "other"])


def flag_merge_candidate(first: Customer, second: Customer, *, reason, identities=(), source=""):
    """Record that one input named two known profiles that must not merge automatically.
    Idempotent per pair: a pair already pending, approved or rejected is left as it is."""
    older, newer = sorted([first, second], key=lambda c: (c.created_at, c.id))
    existing = MergeCandidate.objects.filter(customer=newer, other=older).first()
    if existing:
        return existing
    candidate, _created = MergeCandidate.objects.get_or_create(
        customer=older,
        other=newer,
        defaults={
            "reason": reason[:200],
            "identities": [str(key) for key in identities],
            "source": source[:100],
        },
    )
    return candidate


def approve_merge_candidate(candidate: MergeCandidate, *, decided_by=None) -> CustomerMerge:
    """Staff decided the two profiles are one person: merge the newer into the older."""
    with transaction.atomic():
        candidate = MergeCandidate.objects.select_for_update().get(pk=candidate.pk)
        if candidate.status != MergeCandidateStatus.PENDING:
            raise MergeRefused("This merge candidate was already decided.")
        candidate.status = MergeCandidateStatus.APPROVED
        candidate.decided_by = decided_by
        candidate.decided_at = timezone.now()
        candidate.save(update_fields=["status", "decided_by", "decided_at"])
        return merge_customers(
            candidate.customer,
            candidate.other,
            reason="approved by staff",
            merged_by=decided_by,
            identities=candidate.identities,
            force=True,
        )


def reject_merge_candidate(candidate: MergeCandidate, *, decided_by=None) -> MergeCandidate:
    """Staff decided these are two people; the pair is not proposed again."""
    with transaction.atomic():
        candidate = MergeCandidate.objects.select_for_update().get(pk=candidate.pk)
        if candidate.status != MergeCandidateStatus.PENDING:
            raise MergeRefused("This merge candidate was already decided.")
        candidate.status = MergeCandidateStatus.REJECTED
        candidate.decided_by = decided_by
        candidate.decided_at = timezone.now()
        candidate.save(update_fields=["status", "decided_by", "decided_at"])
        return candidate
