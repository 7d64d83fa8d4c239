"""Staff fold a duplicate profile into a customer from the 360 page: the text from one number
and the email from an address that are one person. Leads merge; agents flag for a lead;
profiles with different verified emails merge only when staff confirm."""

from itertools import count

from django.urls import reverse

from customers.factories import EventFactory, customer_with
from customers.models import Customer, CustomerMerge, Event, MergeCandidate
from customers.services.merging import flag_merge_candidate
from support.factories import ConversationFactory
from tests.query_counts import assert_queries_do_not_grow


def _merge(client, customer, duplicate, **extra):
    url = reverse("customers:merge-duplicate", args=[customer.public_id])
    return client.post(url, {"duplicate": duplicate, **extra}, follow=True)


def _messages(response):
    return [str(message) for message in response.context["messages"]]


def test_a_lead_merges_the_sms_profile_into_the_email_profile(client, staff_in_role):
    sara = customer_with(("email", "sara@example.com", True), first_name="Sara")
    texter = customer_with(("phone", "+989121234567"))
    EventFactory(customer=texter, name="message_opened")
    conversation = ConversationFactory(customer=texter)
    lead = staff_in_role("Support lead")
    client.force_login(lead)

    response = _merge(client, sara, "0912 123 4567")  # the number in another spelling

    assert response.status_code == 200
    assert any("are now one profile" in text for text in _messages(response))
    texter.refresh_from_db()
    assert texter.merged_into_id == sara.pk
    assert set(sara.identities.values_list("kind", flat=True)) == {"email", "phone"}
    assert Event.objects.filter(customer=sara, name="message_opened").exists()
    conversation.refresh_from_db()
    assert conversation.customer_id == sara.pk
    merge = CustomerMerge.objects.get(survivor=sara)
    assert merge.merged_by == lead
    # The duplicate's own page now leads to the customer it lives on in.
    page = client.get(reverse("customers:detail", args=[texter.public_id]))
    assert page.status_code == 302 and str(sara.public_id) in page["Location"]


def test_different_verified_emails_merge_only_when_staff_confirm(client, staff_in_role):
    work = customer_with(("email", "sara@work.example", True))
    home = customer_with(("email", "sara@home.example", True))
    client.force_login(staff_in_role("Support lead"))

    refused = _merge(client, work, "sara@home.example")
    assert any("different verified email" in text for text in _messages(refused))
    assert Customer.objects.get(pk=home.pk).merged_into_id is None

    _merge(client, work, "email:Sara@Home.example", same_person="on")
    assert Customer.objects.get(pk=home.pk).merged_into_id == work.pk


def test_an_agent_flags_the_pair_for_a_lead_instead_of_merging(client, staff_in_role):
    sara = customer_with(("email", "sara@example.com"))
    handle = customer_with(("instagram", "sara.r"))
    client.force_login(staff_in_role("Support agent"))

    response = _merge(client, sara, "instagram:@sara.r")

    assert any("flagged as a possible duplicate" in text for text in _messages(response))
    assert Customer.objects.get(pk=handle.pk).merged_into_id is None
    candidate = MergeCandidate.objects.get()
    assert {candidate.customer_id, candidate.other_id} == {sara.pk, handle.pk}
    assert candidate.status == "pending"
    page = client.get(reverse("customers:detail", args=[sara.public_id])).content.decode()
    assert 'data-testid="merge-candidate"' in page


def test_an_unknown_or_own_identity_merges_nothing_and_says_why(client, staff_in_role):
    sara = customer_with(("email", "sara@example.com"))
    client.force_login(staff_in_role("Support lead"))

    unknown = _merge(client, sara, "nobody@example.com")
    assert any("No customer is known by" in text for text in _messages(unknown))
    own = _merge(client, sara, "SARA@example.com")
    assert any("already belongs to this customer" in text for text in _messages(own))
    assert not CustomerMerge.objects.exists()


def test_merging_needs_a_post_and_the_customers_view_permission(client, staff_in_role):
    sara = customer_with(("email", "sara@example.com"))
    other = customer_with(("email", "other@example.com"))
    url = reverse("customers:merge-duplicate", args=[sara.public_id])
    client.force_login(staff_in_role("Merchandiser"))  # no customers permission at all
    assert client.post(url, {"duplicate": "other@example.com"}).status_code == 403
    client.force_login(staff_in_role("Support lead"))
    assert client.get(url).status_code == 405
    assert Customer.objects.get(pk=other.pk).merged_into_id is None


def _pair(reason="same phone on an order, different verified emails"):
    work = customer_with(("email", "sara@work.example", True), first_name="Sara")
    home = customer_with(("email", "sara@home.example", True), ("phone", "+989121234567"))
    return work, home, flag_merge_candidate(work, home, reason=reason)


def test_a_lead_reviews_duplicates_side_by_side_and_merges_one_pair(client, staff_in_role):
    work, home, candidate = _pair()
    lead = staff_in_role("Support lead")
    client.force_login(lead)
    made = count()

    def add_pairs(n):  # more pairs on the page must not cost more queries each
        for _ in range(n):
            number = next(made)
            a = customer_with(("email", f"a{number}@example.com", True))
            b = customer_with(("email", f"b{number}@example.com", True))
            MergeCandidate.objects.create(customer=a, other=b, reason="test")

    def duplicates():
        assert client.get(reverse("customers:duplicates")).status_code == 200

    assert_queries_do_not_grow(add_pairs, duplicates, at_most=12)
    page = client.get(reverse("customers:duplicates"))
    body = page.content.decode()
    assert page.status_code == 200
    assert body.count('class="card duplicate-pair"') == 13
    assert "sara@work.example" in body and "+989121234567" in body

    response = client.post(reverse("customers:merge-candidate", args=[candidate.pk]), follow=True)
    assert any("are now one profile" in text for text in _messages(response))
    home.refresh_from_db()
    assert home.merged_into_id == work.pk  # the newer folds into the older
    candidate.refresh_from_db()
    assert candidate.status == "approved" and candidate.decided_by == lead
    assert f'data-candidate="{candidate.pk}"' not in response.content.decode()

    again = client.post(reverse("customers:merge-candidate", args=[candidate.pk]), follow=True)
    assert any("decided on this pair already" in text for text in _messages(again))


def test_two_people_are_kept_apart_and_not_proposed_again(client, staff_in_role):
    work, home, candidate = _pair()
    client.force_login(staff_in_role("Support lead"))

    client.post(reverse("customers:separate-candidate", args=[candidate.pk]))

    candidate.refresh_from_db()
    assert candidate.status == "rejected"
    assert Customer.objects.get(pk=home.pk).merged_into_id is None
    page = client.get(reverse("customers:duplicates")).content.decode()
    assert 'data-testid="no-duplicates"' in page


def test_agents_see_the_duplicates_but_only_leads_decide(client, staff_in_role):
    _work, home, candidate = _pair()
    client.force_login(staff_in_role("Support agent"))

    page = client.get(reverse("customers:duplicates"))
    assert page.status_code == 200
    assert 'data-action="merge"' not in page.content.decode()
    refused = client.post(reverse("customers:merge-candidate", args=[candidate.pk]))
    assert refused.status_code == 403
    assert Customer.objects.get(pk=home.pk).merged_into_id is None
