"""Identity resolution: any set of identities -> the one customer they name.

Rules (DESIGN, "Identity"): no match creates a customer; new identities attach to the match;
identities of several customers merge them: an anonymous profile (cookies and devices only)
always merges into a known one, the oldest known profile survives, and two known profiles
holding different verified emails or verified phones are not merged but flagged as a
MergeCandidate for staff.

Concurrency: identity rows are locked first (in id order), then their customers (in id order),
so two resolutions touching the same people queue instead of deadlocking. Identities that do
not exist yet cannot be locked; two requests may both try to create the same one, and the
unique constraint makes the second fail. That attempt is rolled back to its savepoint and run
again, and then finds the row the first one committed. The outcome is one customer, no error.
"""

import logging
import random
import time
from dataclasses import dataclass, field

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from customers.models import ANONYMOUS_KINDS, Customer, Identity
from customers.normalise import IdentityKey
from customers.services.identities import (
    apply_traits,
    clean_traits,
    identities_matching,
    identity_keys,
    key_of,
)
from customers.services.merging import (
    SURVIVOR_FIELDS,
    conflicting_kinds,
    flag_merge_candidate,
    in_survival_order,
    merge_locked,
)

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


class RetryResolution(Exception):
    """A concurrent merge changed a profile between the lock of its identity and its own."""


@dataclass
class Resolution:
    customer: Customer
    created: bool = False
    merged: list = field(default_factory=list)  # CustomerMerge rows made by this resolution
    candidates: list = field(default_factory=list)  # MergeCandidate rows flagged
    new_identities: list = field(default_factory=list)


def is_retryable(error: Exception) -> bool:
    """A lost race worth running again: a unique violation or a deadlock victim."""
    if isinstance(error, (IntegrityError, RetryResolution)):
        return True
    if isinstance(error, OperationalError):
        error = error.__cause__  # Django wraps the driver's error
    # The bulk paths' server-side cursors (customers.services.bulk) raise psycopg's own.
    return type(error).__name__ in {"DeadlockDetected", "SerializationFailure", "UniqueViolation"}


def resolve_customer(identities, *, traits=None, channel=None, source=None) -> Customer:
    """The one customer these identities name, created, extended or merged as the rules say.

    `identities`: dicts {kind, value, partner?, verified?}, IdentityKey or (kind, value)
    pairs. `traits`: first_name, last_name, locale, preferred_channel and any custom ones
    (latest wins). Raises InvalidIdentity naming the bad field."""
    return resolve_customer_detailed(
        identities, traits=traits, channel=channel, source=source
    ).customer


def resolve_customer_detailed(identities, *, traits=None, channel=None, source=None) -> Resolution:
    """resolve_customer, also telling whether it created, merged or flagged profiles."""
    keys = identity_keys(identities)
    cleaned = clean_traits(traits)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return resolve_once(keys, traits=cleaned, channel=channel, source=source or "")
        except Exception as error:
            if not is_retryable(error) or attempt == MAX_ATTEMPTS:
                raise
            logger.info("identity resolution lost a race (%s); attempt %s", error, attempt + 1)
            back_off(attempt)
    raise AssertionError("unreachable")


def back_off(attempt: int) -> None:
    """A short random pause, so two requests that just collided do not collide again."""
    time.sleep(random.uniform(0, 0.005 * attempt))  # noqa: S311 (jitter, not security)


def resolve_once(
    keys: dict[IdentityKey, bool], *, traits: dict, channel=None, source=""
) -> Resolution:
    """One attempt in a savepoint, without retrying: for callers that retry a larger unit
    (a whole batch), because a retry inside it would keep the locks its earlier items took."""
    with transaction.atomic():
        return _resolve_once(keys, traits, channel, source)


def lock_customers(customer_ids) -> dict[int, Customer]:
    """The customers, locked in id order. Raises RetryResolution if one was merged away
    meanwhile."""
    customers = (
        Customer.objects.select_for_update().filter(id__in=sorted(customer_ids)).order_by("id")
    )
    found = {customer.id: customer for customer in customers}
    if len(found) != len(set(customer_ids)) or any(c.merged_into_id for c in found.values()):
        raise RetryResolution("a profile was merged meanwhile")
    return found


def _resolve_once(keys: dict[IdentityKey, bool], traits: dict, channel, source) -> Resolution:
    existing = list(identities_matching(keys).select_for_update().order_by("id"))
    customer_ids = {identity.customer_id for identity in existing}
    if len(customer_ids) > 1:
        # A merge moves every identity of the merged profiles: lock them now, before the
        # profiles, keeping the order identities -> customers that every resolution follows.
        list(
            Identity.objects.select_for_update().filter(customer_id__in=customer_ids).order_by("id")
        )
    customers = lock_customers(customer_ids)
    now = timezone.now()
    all_anonymous = all(key.kind in ANONYMOUS_KINDS for key in keys)

    if not customers:
        customer = Customer.objects.create(
            is_anonymous=all_anonymous, created_at=now, first_seen_at=now, last_seen_at=now
        )
        resolution = Resolution(customer, created=True)
    elif len(customers) == 1:
        resolution = Resolution(next(iter(customers.values())))
    else:
        resolution = _merge_all(list(customers.values()), keys, source)
    customer = resolution.customer

    known = {key_of(identity): identity for identity in existing}
    new = [
        Identity(
            customer=customer,
            kind=k.kind,
            value=k.value,
            partner=k.partner,
            is_verified=v,
            created_at=now,
        )
        for k, v in keys.items()
        if k not in known
    ]
    # Sorted inserts: two requests creating overlapping identities meet on the first shared
    # one (the second waits, then fails and retries) instead of deadlocking.
    Identity.objects.bulk_create(new)
    resolution.new_identities = new
    to_verify = [
        identity.pk for key, identity in known.items() if keys[key] and not identity.is_verified
    ]
    if to_verify:
        Identity.objects.filter(pk__in=to_verify).update(is_verified=True)

    changed = apply_traits(customer, traits)
    if resolution.merged:
        changed.update(SURVIVOR_FIELDS)
    if customer.is_anonymous and not all_anonymous:
        customer.is_anonymous = False
        changed.add("is_anonymous")
    if channel is not None and channel.kind not in (customer.channels_used or []):
        customer.channels_used = sorted({*customer.channels_used, channel.kind})
        changed.add("channels_used")
    if changed and not resolution.created:
        customer.save(update_fields=sorted(changed))
    elif changed:
        customer.save()
    return resolution


def _merge_all(customers: list[Customer], keys, source) -> Resolution:
    """Several profiles named at once: merge what the rules allow into the survivor."""
    ordered = in_survival_order(customers)
    survivor = ordered[0]
    resolution = Resolution(survivor)
    for other in ordered:
        if other.id == survivor.id:
            continue
        if not other.is_anonymous and not survivor.is_anonymous:
            conflict = conflicting_kinds(survivor, other)
            if conflict:
                resolution.candidates.append(
                    flag_merge_candidate(
                        survivor,
                        other,
                        reason="both hold verified " + " and ".join(conflict),
                        identities=list(keys),
                        source=source,
                    )
                )
                continue
        reason = "anonymous profile identified" if other.is_anonymous else "same identity"
        resolution.merged.append(
            merge_locked(
                survivor,
                other,
                reason=reason,
                source=source,
                identities=list(keys),
                save_survivor=False,  # saved once with the traits, by _resolve_once
            )
        )
    return resolution
