"""Staff fold a duplicate profile into a customer from the 360 page: the text from one number
and the email from an address that are one person. Leads merge; agents flag for a lead;
profiles with different verified emails merge only when staff confirm."""

from django.urls import reverse

from customers.factories import EventFactory, customer_with
from customers.models import Customer, CustomerMerge, Event, MergeCandidate
from support.factories import ConversationFactory


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
