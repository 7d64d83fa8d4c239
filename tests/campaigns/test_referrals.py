"""Referrals through the partner API and the order's coupon code: a new customer's first
order credits both sides once (also when two of her first orders race), fraud rules refuse
it (her own code, a shared contact, the same address), and the report says who brought whom."""

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from campaigns.models import EntryKind, LoyaltyEntry, Referral, ReferralStatus
from campaigns.services import loyalty
from campaigns.tasks import apply_loyalty
from core.factories import StaffUserFactory
from customers.models import Customer
from customers.services import resolve_customer
from tests.orders.conftest import shop  # noqa: F401  (the orders app's shop fixture)

HOME = {"name": "Sara", "address": "1 Rose Street", "city": "Tehran", "country": "IR"}


@pytest.fixture
def client(api_client_for):
    return api_client_for("orders:write", "customers:write", "loyalty:write")


@pytest.fixture
def referrer(db, settings):
    settings.REFERRAL_REFERRER_POINTS = 500
    settings.REFERRAL_REFEREE_POINTS = 250
    return resolve_customer(
        [
            {"kind": "email", "value": "sara@example.com"},
            {"kind": "phone", "value": "+989121111111"},
        ]
    )


def code_of(client, customer):
    first = client.post(f"/api/v1/customers/{customer.public_id}/referral-code")
    again = client.post(f"/api/v1/customers/{customer.public_id}/referral-code")
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["code"] == again.json()["code"]
    return first.json()["code"]


def order_for(client, shop, email, *, coupon="", shipping=None, colour="black"):  # noqa: F811
    body = {
        "channel": "web",
        "customer": {"identities": [{"kind": "email", "value": email}]},
        "lines": [{"sku": shop.sku(colour), "quantity": 1}],
        "shipping": shipping or {**HOME, "address": f"{email} avenue"},
    }
    if coupon:
        body["coupon_code"] = coupon
    return client.post("/api/v1/orders/", body, format="json")


def beat():
    return apply_loyalty.apply().get()


def points(customer):
    return loyalty.balance_of(customer.pk)


def test_a_first_order_with_the_code_credits_both_once(shop, client, referrer):  # noqa: F811
    code = code_of(client, referrer)
    answer = order_for(client, shop, "nima@example.com", coupon=code)
    assert answer.status_code == 201, answer.json()
    assert answer.json()["discount"] == "0.00"
    nima = Customer.objects.get(identities__value="nima@example.com")
    assert beat()["referrals"] == 1
    assert points(referrer) == 500
    assert points(nima) == 250
    assert order_for(client, shop, "nima@example.com", colour="white").status_code == 201
    beat()
    assert LoyaltyEntry.objects.filter(kind=EntryKind.REFERRAL).count() == 2
    referral = Referral.objects.get()
    assert referral.status == ReferralStatus.CREDITED
    assert referral.order_number == answer.json()["number"]

    report = client.get("/api/v1/campaigns/referrals")
    assert report.status_code == 200
    row = report.json()["results"][0]
    assert row["referrer"] == str(referrer.public_id) and row["referee"] == str(nima.public_id)
    assert row["status"] == "credited" and row["referrer_points"] == 500
    assert client.get("/api/v1/campaigns/referrals?status=bogus").status_code == 400


def test_applied_at_sign_up_through_the_api_then_credited_by_the_first_order(
    shop,  # noqa: F811
    client,
    referrer,
):
    code = code_of(client, referrer)
    nima = resolve_customer([{"kind": "email", "value": "nima@example.com"}])
    url = f"/api/v1/customers/{nima.public_id}/referral"
    first = client.post(url, {"code": code.lower()}, format="json")
    again = client.post(url, {"code": code}, format="json")
    assert first.status_code == 201 and again.status_code == 200
    assert beat()["referrals"] == 0  # no order yet
    assert order_for(client, shop, "nima@example.com").status_code == 201
    beat()
    assert (points(referrer), points(nima)) == (500, 250)


@pytest.mark.parametrize(
    ("who", "why"),
    [
        ("self", "own referral code"),
        ("shared phone", "share a contact"),
        ("ordered before", "first order"),
        ("unknown", "Unknown referral code"),
    ],
)
def test_fraud_rules_refuse_the_code_naming_the_field(
    shop,  # noqa: F811
    client,
    referrer,
    who,
    why,
):
    code = code_of(client, referrer)
    if who == "self":
        target = referrer
    elif who == "shared phone":
        # Her WhatsApp number is the referrer's phone: the same person.
        target = resolve_customer(
            [
                {"kind": "email", "value": "other@example.com"},
                {"kind": "whatsapp", "value": "+98 912 111 1111"},
            ]
        )
    else:
        target = resolve_customer([{"kind": "email", "value": "nima@example.com"}])
        if who == "ordered before":
            assert order_for(client, shop, "nima@example.com").status_code == 201
        else:
            code = "REF-NOPE123"
    answer = client.post(
        f"/api/v1/customers/{target.public_id}/referral", {"code": code}, format="json"
    )
    assert answer.status_code == 400, answer.json()
    error = answer.json()["error"]
    assert error["code"] == "referral_refused" and "code" in error["fields"]
    assert why in error["message"]
    assert not Referral.objects.exists()


def test_the_same_shipping_address_refuses_the_referral_at_the_first_order(
    shop,  # noqa: F811
    client,
    referrer,
):
    code = code_of(client, referrer)
    assert order_for(client, shop, "sara@example.com", shipping=HOME).status_code == 201
    beat()
    moved = {**HOME, "address": "1, ROSE street"}
    assert (
        order_for(client, shop, "nima@example.com", coupon=code, shipping=moved).status_code == 201
    )
    beat()
    referral = Referral.objects.get()
    assert referral.status == ReferralStatus.REFUSED and "address" in referral.refusal
    assert not LoyaltyEntry.objects.filter(kind=EntryKind.REFERRAL).exists()
    report = Client()
    report.force_login(StaffUserFactory(username="marketer", roles=["Marketer"]))
    page = report.get(reverse("campaigns:loyalty"), {"status": "refused"})
    assert page.status_code == 200
    assert f'data-referral="{referral.pk}"' in page.content.decode()
    csv = report.get(reverse("campaigns:loyalty"), {"format": "csv"})
    assert csv["Content-Type"] == "text/csv"
    assert code in b"".join(csv.streaming_content).decode()


@pytest.mark.django_db(transaction=True)
def test_a_referral_credits_once_when_two_pollers_race(shop, client, referrer):  # noqa: F811
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    code = code_of(client, referrer)
    assert order_for(client, shop, "nima@example.com", coupon=code).status_code == 201
    nima = Customer.objects.get(identities__value="nima@example.com")
    event = nima.events.get(name="order_completed")
    start = threading.Barrier(4)
    credited = []

    def credit():
        try:
            start.wait()
            credited.append(loyalty.credit_referral(event))
        finally:
            connection.close()

    threads = [threading.Thread(target=credit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(credited) == [0, 0, 0, 1]
    assert (points(referrer), points(nima)) == (500, 250)
    beat()
    assert (points(referrer), points(nima)) == (500, 250)
