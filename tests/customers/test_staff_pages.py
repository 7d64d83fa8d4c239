"""Staff pages: the customer search, the 360 page, the dashboard panel, and the admin."""

import json
from datetime import timedelta
from itertools import count

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from customers.factories import ConsentFactory, EventFactory, customer_with
from customers.models import Customer, Identity, MergeCandidate, PrivacyRequest
from customers.services import record_event, resolve_customer
from tests.query_counts import assert_queries_do_not_grow

pytestmark = pytest.mark.django_db


@pytest.fixture
def merged_sara(channels):
    """Sara's story so far: browsing anonymously on the app, then an email profile, then the
    phone call that linked both; merged into one customer."""
    visitor = customer_with(("cookie", "c-81f"))
    sara = customer_with(("email", "sara@example.com", True), first_name="Sara", last_name="Rahimi")
    phone = customer_with(("phone", "+989121234567"), first_name="", last_name="")
    start = timezone.now() - timedelta(days=3)
    # Through the service, as partners and apps record them, so lifetime figures are kept.
    record_event(
        visitor,
        "product_viewed",
        channel=channels["app"],
        occurred_at=start,
        properties={"sku": "ARIA-38"},
    )
    record_event(
        sara,
        "order_completed",
        channel=channels["web"],
        occurred_at=start + timedelta(days=1),
        properties={"order_id": "W-1", "total": "89.00"},
    )
    record_event(
        phone, "call_logged", channel=channels["phone"], occurred_at=start + timedelta(days=2)
    )
    ConsentFactory(customer=sara, channel_kind="sms")
    survivor = resolve_customer(
        [("cookie", "c-81f"), ("email", "sara@example.com"), ("phone", "09121234567")]
    )
    assert survivor.pk == sara.pk
    return survivor, visitor


def staff_client(client, staff_in_role, role="Support agent"):
    client.force_login(staff_in_role(role))
    return client


def test_360_page_shows_a_merged_customers_whole_history(
    client, staff_in_role, merged_sara, channels
):
    sara, _visitor = merged_sara
    staff_client(client, staff_in_role)
    response = client.get(reverse("customers:detail", args=[sara.public_id]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Sara Rahimi" in page
    for value in ("sara@example.com", "+989121234567", "c-81f"):
        assert value in page
    for channel in ("mobile_app", "web", "phone"):
        assert f"channel-icon channel-{channel}" in page
    assert page.count("<tr data-event=") == 3
    assert page.index('data-event="call_logged"') < page.index(
        'data-event="product_viewed"'
    )  # newest first
    assert 'data-testid="orders-count">1<' in page
    assert ">Purchases</dt>" in page  # follow-up orders are not counted as purchases

    def add_events(n):  # more of her timeline must not cost a query per event
        for _ in range(n):
            EventFactory(customer=sara, channel=channels["web"], name="page_viewed")

    def customer_page():
        assert client.get(reverse("customers:detail", args=[sara.public_id])).status_code == 200

    assert_queries_do_not_grow(add_events, customer_page, at_most=20)


def test_360_page_filters_the_timeline_by_channel_and_pages_it(
    client, staff_in_role, merged_sara, channels
):
    sara, _visitor = merged_sara
    for _i in range(30):
        EventFactory(customer=sara, channel=channels["web"], name="page_viewed")
    staff_client(client, staff_in_role)
    url = reverse("customers:detail", args=[sara.public_id])
    phone_only = client.get(url, {"channel": "phone"}).content.decode()
    assert phone_only.count("<tr data-event=") == 1 and 'data-event="call_logged"' in phone_only
    first = client.get(url).content.decode()
    assert first.count("<tr data-event=") == 25 and 'rel="next"' in first
    second = client.get(url, {"page": 2}).content.decode()
    assert second.count("<tr data-event=") == 8
    partial = client.get(
        url, {"channel": "phone"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="timeline"
    )
    assert b"<html" not in partial.content and b'data-event="call_logged"' in partial.content


def test_the_360_page_of_a_merged_id_redirects_to_the_survivor(client, staff_in_role, merged_sara):
    sara, visitor = merged_sara
    staff_client(client, staff_in_role)
    response = client.get(reverse("customers:detail", args=[visitor.public_id]))
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:detail", args=[sara.public_id])


def test_search_finds_by_name_email_phone_in_any_format_and_identity(
    client, staff_in_role, merged_sara
):
    sara, _visitor = merged_sara
    customer_with(("email", "omid@example.com"), first_name="Omid", last_name="Karimi")
    staff_client(client, staff_in_role)
    for query in (
        "Rahimi",
        "SARA@example.com",
        "0912 123 4567",
        "+98 912 123 4567",
        "00989121234567",
        "c-81f",
    ):
        page = client.get(reverse("customers:search"), {"q": query}).content.decode()
        assert page.count("<tr data-customer=") == 1, query
        assert f'data-customer="{sara.public_id}"' in page
    assert (
        "No customer matches."
        in client.get(reverse("customers:search"), {"q": "nobody"}).content.decode()
    )
    made = count()

    def add_karimis(n):
        for _ in range(n):
            number = next(made)
            customer_with(("email", f"karimi{number}@example.com"), last_name="Karimi")

    def search():
        assert client.get(reverse("customers:search"), {"q": "Karimi"}).status_code == 200

    assert_queries_do_not_grow(add_karimis, search, at_most=12)


def test_pages_need_the_customers_view_permission(client, staff_in_role, merged_sara):
    sara, _visitor = merged_sara
    staff_client(client, staff_in_role, "Merchandiser")
    assert client.get(reverse("customers:detail", args=[sara.public_id])).status_code == 403
    assert client.get(reverse("customers:search")).status_code == 403


def test_nav_item_and_dashboard_panel(client, staff_in_role, merged_sara):
    staff_client(client, staff_in_role, "Marketer")
    home = client.get("/").content.decode()
    assert 'data-nav="customers"' in home
    assert 'data-panel="customers.today"' in home


def test_admin_pages_of_every_model_load(admin_client, merged_sara):
    sara, _visitor = merged_sara
    for model in (
        "customer",
        "identity",
        "event",
        "consent",
        "customermerge",
        "mergecandidate",
        "privacyrequest",
    ):
        assert (
            admin_client.get(reverse(f"admin:customers_{model}_changelist")).status_code == 200
        ), model
    assert (
        admin_client.get(reverse("admin:customers_customer_change", args=[sara.pk])).status_code
        == 200
    )


def test_admin_approves_and_rejects_merge_candidates(admin_client):
    for pair in (("a", "b"), ("c", "d")):
        customer_with(("email", f"{pair[0]}@example.com", True))
        customer_with(("email", f"{pair[1]}@example.com", True))
        resolve_customer([("email", f"{pair[0]}@example.com"), ("email", f"{pair[1]}@example.com")])
    first, second = MergeCandidate.objects.order_by("id")
    url = reverse("admin:customers_mergecandidate_changelist")
    admin_client.post(url, {"action": "approve", ACTION_CHECKBOX_NAME: [first.pk]})
    admin_client.post(url, {"action": "reject", ACTION_CHECKBOX_NAME: [second.pk]})
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("approved", "rejected")
    assert Identity.objects.get(value="b@example.com").customer_id == first.customer_id
    assert Customer.objects.live().count() == 3


def test_admin_exports_and_erases_with_confirmation(admin_client, merged_sara):
    sara, _visitor = merged_sara
    url = reverse("admin:customers_customer_changelist")
    export = admin_client.post(url, {"action": "export_selected", ACTION_CHECKBOX_NAME: [sara.pk]})
    assert json.loads(export.content)["customer"]["first_name"] == "Sara"
    ask = admin_client.post(url, {"action": "erase_selected", ACTION_CHECKBOX_NAME: [sara.pk]})
    assert b"Yes, erase" in ask.content
    sara.refresh_from_db()
    assert sara.erased_at is None
    admin_client.post(
        url, {"action": "erase_selected", ACTION_CHECKBOX_NAME: [sara.pk], "confirm": "yes"}
    )
    sara.refresh_from_db()
    assert sara.erased_at is not None and sara.first_name == ""
    assert not Identity.objects.filter(customer=sara).exists()
    assert PrivacyRequest.objects.filter(
        customer=sara, kind="erase", requested_by__username="admin"
    ).exists()


def test_timeline_details_read_as_words_not_python(client, staff_in_role, channels):
    sara = customer_with(("email", "words@example.com"), first_name="Sara")
    EventFactory(
        customer=sara,
        name="order_completed",
        channel=channels["web"],
        properties={
            "order_id": "W-100001",
            "total": "56.00",
            "currency": "USD",
            "products": [{"sku": "ARIA-BLK-38", "quantity": 1, "price": "56.00"}],
        },
    )
    EventFactory(customer=sara, name="wishlist_shared", properties={"with": "family", "n": 2})
    html = (
        staff_client(client, staff_in_role)
        .get(reverse("customers:detail", args=[sara.public_id]))
        .content.decode()
    )
    # Each value is isolated from its label: an English subject keeps its "?" in Persian.
    assert 'Order <bdi dir="auto">W-100001</bdi>' in html and "Total 56.00 USD" in html
    assert "1 product: ARIA-BLK-38 × 1" in html
    assert "with: family" in html
    assert "{&#x27;" not in html and "[{" not in html
