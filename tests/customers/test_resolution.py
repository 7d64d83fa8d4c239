"""Identity resolution and merge rules, through the service every app uses."""

import psycopg.errors
import pytest
from django.db import OperationalError

from customers.errors import MergeRefused
from customers.factories import EventFactory, customer_with
from customers.links import CUSTOMER_LINKS, register_customer_link
from customers.models import (
    Customer,
    CustomerMerge,
    Event,
    Identity,
    MergeCandidate,
    MergeCandidateStatus,
)
from customers.services import (
    approve_merge_candidate,
    merge_customers,
    record_event,
    reject_merge_candidate,
    resolve_customer,
    resolve_customer_detailed,
)
from customers.services.resolution import is_retryable

pytestmark = pytest.mark.django_db


def identities_of(customer):
    return sorted((i.kind, i.value) for i in Identity.objects.filter(customer=customer))


def test_unknown_identities_create_one_customer_holding_them_normalised():
    customer = resolve_customer(
        [{"kind": "email", "value": "Sara@Example.com"}, {"kind": "phone", "value": "09121234567"}],
        traits={"first_name": "Sara", "last_name": "Rahimi", "shoe_size": 38},
    )
    assert identities_of(customer) == [("email", "sara@example.com"), ("phone", "+989121234567")]
    assert (customer.first_name, customer.last_name, customer.is_anonymous) == (
        "Sara",
        "Rahimi",
        False,
    )
    assert customer.traits == {"shoe_size": 38}


def test_the_same_phone_in_three_spellings_resolves_to_one_customer():
    first = resolve_customer([("phone", "+98 912 123 4567")])
    assert resolve_customer([("phone", "09121234567")]).pk == first.pk
    assert resolve_customer([("phone", "00989121234567")]).pk == first.pk
    assert Customer.objects.count() == 1


def test_cookie_only_profile_is_anonymous_and_new_identities_attach():
    visitor = resolve_customer([("cookie", "c-81f")])
    assert visitor.is_anonymous
    same = resolve_customer([("cookie", "c-81f"), ("device", "d-1")])
    assert same.pk == visitor.pk and same.is_anonymous
    assert identities_of(same) == [("cookie", "c-81f"), ("device", "d-1")]


def test_anonymous_then_known_merges_the_visitor_into_the_known_profile():
    visitor = customer_with(("cookie", "c-81f"))
    EventFactory(customer=visitor, name="product_viewed", properties={"sku": "SHOE-38"})
    sara = customer_with(("email", "sara@example.com", True))

    resolution = resolve_customer_detailed([("cookie", "c-81f"), ("email", "sara@example.com")])

    assert resolution.customer.pk == sara.pk  # the known profile survives, though younger
    assert identities_of(sara) == [("cookie", "c-81f"), ("email", "sara@example.com")]
    assert Event.objects.get().customer_id == sara.pk
    visitor.refresh_from_db()
    assert visitor.merged_into_id == sara.pk
    merge = CustomerMerge.objects.get()
    assert (merge.survivor_id, merge.loser_public_id) == (sara.pk, visitor.public_id)
    assert merge.moved["events"] == 1


def test_an_anonymous_visitor_becomes_known_when_identified():
    visitor = resolve_customer([("cookie", "c-1")])
    known = resolve_customer([("cookie", "c-1"), ("email", "new@example.com")])
    assert known.pk == visitor.pk and not known.is_anonymous


def test_three_way_merge_keeps_the_oldest_known_profile_and_everything():
    email_profile = customer_with(("email", "sara@example.com"), first_name="Sara", last_name="")
    phone_profile = customer_with(("phone", "+989121234567"), first_name="S.", last_name="Rahimi")
    visitor = customer_with(("cookie", "c-81f"))
    for profile in (email_profile, phone_profile, visitor):
        record_event(profile, "page_viewed")

    survivor = resolve_customer(
        [("cookie", "c-81f"), ("phone", "0912 123 4567"), ("email", "SARA@example.com")]
    )

    assert survivor.pk == email_profile.pk
    assert Customer.objects.live().count() == 1
    assert Event.objects.filter(customer=survivor).count() == 3
    assert survivor.events_count == 3
    # Fields the survivor lacked come from the merged profile; its own are kept.
    assert (survivor.first_name, survivor.last_name) == ("Sara", "Rahimi")
    assert CustomerMerge.objects.filter(survivor=survivor).count() == 2


def test_two_known_profiles_with_different_verified_emails_are_flagged_not_merged():
    older = customer_with(("email", "sara@example.com", True))
    newer = customer_with(("email", "sara.work@example.com", True), ("phone", "+989121234567"))

    resolution = resolve_customer_detailed(
        [("email", "sara@example.com"), ("phone", "09121234567")], source="pos"
    )

    assert resolution.customer.pk == older.pk
    assert not resolution.merged
    assert Customer.objects.live().count() == 2
    candidate = MergeCandidate.objects.get()
    assert (candidate.customer_id, candidate.other_id) == (older.pk, newer.pk)
    assert candidate.status == MergeCandidateStatus.PENDING
    # Asking again flags nothing new.
    resolve_customer([("email", "sara@example.com"), ("phone", "09121234567")])
    assert MergeCandidate.objects.count() == 1


def test_two_known_profiles_with_different_verified_phones_are_flagged_not_merged():
    customer_with(("phone", "+989121234567", True), ("email", "a@example.com"))
    customer_with(("phone", "+989351234567", True), ("instagram", "sara"))
    resolve_customer([("email", "a@example.com"), ("instagram", "@Sara")])
    assert Customer.objects.live().count() == 2
    assert MergeCandidate.objects.count() == 1


def test_known_profiles_without_a_verified_conflict_are_merged():
    older = customer_with(("email", "sara@example.com", True))
    customer_with(("email", "sara.work@example.com"))  # unverified: may be the same person
    survivor = resolve_customer([("email", "sara@example.com"), ("email", "sara.work@example.com")])
    assert survivor.pk == older.pk
    assert Customer.objects.live().count() == 1


def test_staff_approval_merges_a_candidate_and_rejection_keeps_them_apart(django_user_model):
    staff = django_user_model.objects.create_user("lead", is_staff=True)
    older = customer_with(("email", "a@example.com", True))
    newer = customer_with(("email", "b@example.com", True))
    resolve_customer([("email", "a@example.com"), ("email", "b@example.com")])
    candidate = MergeCandidate.objects.get()

    merge = approve_merge_candidate(candidate, decided_by=staff)

    assert merge.survivor_id == older.pk and merge.merged_by == staff
    candidate.refresh_from_db()
    assert candidate.status == MergeCandidateStatus.APPROVED
    assert identities_of(older) == [("email", "a@example.com"), ("email", "b@example.com")]
    newer.refresh_from_db()
    assert newer.merged_into_id == older.pk
    with pytest.raises(MergeRefused):
        reject_merge_candidate(candidate, decided_by=staff)


def test_rejected_candidate_is_not_proposed_again():
    customer_with(("email", "a@example.com", True))
    customer_with(("email", "b@example.com", True))
    resolve_customer([("email", "a@example.com"), ("email", "b@example.com")])
    reject_merge_candidate(MergeCandidate.objects.get())
    resolve_customer([("email", "a@example.com"), ("email", "b@example.com")])
    assert list(MergeCandidate.objects.values_list("status", flat=True)) == ["rejected"]


def test_merge_refuses_a_verified_conflict_unless_forced():
    first = customer_with(("email", "a@example.com", True))
    second = customer_with(("email", "b@example.com", True))
    with pytest.raises(MergeRefused):
        merge_customers(first, second, reason="test")
    merge_customers(first, second, reason="test", force=True)
    with pytest.raises(MergeRefused):
        merge_customers(first, second, reason="again")


def test_merge_repoints_rows_of_apps_that_registered_a_link(django_user_model):
    """Other apps register their foreign keys; here a stand-in: the merge audit's own FK."""
    survivor = customer_with(("email", "a@example.com"))
    loser = customer_with(("email", "b@example.com"))
    third = customer_with(("email", "c@example.com"))
    earlier = merge_customers(loser, third, reason="setup")  # audit row whose survivor is `loser`
    key = ("customers.customermerge", "survivor")
    register_customer_link("customers.CustomerMerge", "survivor")
    try:
        merge = merge_customers(survivor, loser, reason="test")
    finally:
        CUSTOMER_LINKS.pop(key)
    earlier.refresh_from_db()
    assert earlier.survivor_id == survivor.pk
    assert merge.moved["customers.customermerge.survivor"] == 1
    third.refresh_from_db()
    assert third.merged_into_id == survivor.pk  # chains of tombstones point at the survivor


def test_verified_flag_only_ever_upgrades():
    resolve_customer([{"kind": "email", "value": "a@example.com", "verified": True}])
    resolve_customer([{"kind": "email", "value": "a@example.com", "verified": False}])
    assert Identity.objects.get().is_verified


def test_lost_races_are_retried_whether_django_wrapped_the_error_or_not():
    """The bulk paths talk to psycopg directly, so a deadlock there arrives unwrapped; a batch
    that lost a race must still be run again rather than answered with a 500."""
    deadlock = psycopg.errors.DeadlockDetected("deadlock detected")
    wrapped = OperationalError("deadlock detected")
    wrapped.__cause__ = deadlock
    assert is_retryable(deadlock) and is_retryable(wrapped)
    assert is_retryable(psycopg.errors.UniqueViolation("duplicate key"))
    assert not is_retryable(psycopg.errors.UndefinedTable("no such table"))
    assert not is_retryable(ValueError("bad input"))
