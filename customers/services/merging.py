"""Merging two profiles into one, and the staff review of merge candidates."""

from django.db import transaction
from django.utils import timezone

from customers.errors import MergeRefused
from customers.links import customer_links
from customers.models import (
    CONFLICTING_KINDS,
    Consent,
    Customer,
    CustomerMerge,
    Event,
    Identity,
    MergeCandidate,
    MergeCandidateStatus,
)
from customers.services.figures import recompute_lifetime_figures

PROFILE_FIELDS = ("first_name", "last_name", "locale", "preferred_channel")


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
    fields where the survivor has none; recomputes the lifetime figures. The loser stays as a
    tombstone (`merged_into`) so its public id keeps working; its personal fields are blanked.

    Raises MergeRefused for the same profile, an already merged or erased one, or (unless
    `force`, which staff approval uses) two profiles holding different verified emails/phones.
    """
    with transaction.atomic():
        locked = _lock(survivor, loser)
        if survivor.id == loser.id:
            raise MergeRefused("A profile cannot be merged into itself.")
        survivor, loser = locked[survivor.id], locked[loser.id]
        for customer in (survivor, loser):
            if customer.merged_into_id:
                raise MergeRefused(f"Customer {customer.public_id} was already merged.")
            if customer.erased_at:
                raise MergeRefused(f"Customer {customer.public_id} was erased.")
        conflict = conflicting_kinds(survivor, loser)
        if conflict and not force:
            raise MergeRefused(
                "Both profiles hold verified " + " and ".join(conflict) + "; a person must decide.",
                conflicting=conflict,
            )

        moved = {
            "identities": Identity.objects.filter(customer=loser).update(customer=survivor),
            "events": Event.objects.filter(customer=loser).update(customer=survivor),
            "consents": Consent.objects.filter(customer=loser).update(customer=survivor),
        }
        _repoint_candidates(loser, survivor)
        for link in customer_links():
            moved[f"{link.model_label}.{link.field_name}"] = link.model._default_manager.filter(
                **{link.field_name: loser}
            ).update(**{link.field_name: survivor})
        Customer.objects.filter(merged_into=loser).update(merged_into=survivor)

        for name in PROFILE_FIELDS:
            if not getattr(survivor, name) and getattr(loser, name):
                setattr(survivor, name, getattr(loser, name))
        survivor.traits = {**(loser.traits or {}), **(survivor.traits or {})}
        survivor.is_anonymous = survivor.is_anonymous and loser.is_anonymous
        survivor.first_seen_at = _earliest(survivor.first_seen_at, loser.first_seen_at)
        survivor.last_seen_at = _latest(survivor.last_seen_at, loser.last_seen_at)
        recompute_lifetime_figures(survivor, save=False)
        survivor.save()

        now = timezone.now()
        for name in PROFILE_FIELDS:
            setattr(loser, name, "")
        loser.traits = {}
        loser.merged_into = survivor
        loser.merged_at = now
        loser.orders_count = loser.events_count = 0
        loser.lifetime_spend, loser.channels_used = {}, []
        loser.save()

        return CustomerMerge.objects.create(
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
