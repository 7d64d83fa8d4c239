"""Loyalty points through the doors people use: orders placed through the orders API in any
channel (the POS is a store-channel order), the beat task that reads the timeline, the
coupon code that spends points, returns at another channel, the partner loyalty API, the
360 page, the inbox panel and the message templates.

The headline story: points earned in the store are spent on the web and a return at a
third channel takes back what the returned unit earned."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns.factories import MessageTemplateFactory
from campaigns.models import EntryKind, LoyaltyEntry, LoyaltyRule, LoyaltyTier
from campaigns.services import loyalty
from campaigns.services.rendering import preview
from campaigns.tasks import apply_loyalty, expire_loyalty_points
from catalog.factories import CategoryFactory
from customers.models import Customer
from customers.services import resolve_customer
from tests.orders.conftest import shop  # noqa: F401  (the orders app's shop fixture)

ADDRESS = {"name": "Sara", "address": "1 Street", "city": "Tehran", "country": "IR"}
SARA = {"identities": [{"kind": "email", "value": "sara@example.com"}]}


@pytest.fixture
def client(api_client_for):
    return api_client_for("orders:write", "customers:write", "loyalty:write")


@pytest.fixture
def rules(shop):  # noqa: F811
    """1 point per USD anywhere, 2 per USD in the stores."""
    LoyaltyRule.objects.create(name="Base", currency="USD", points_per_unit=1)
    LoyaltyRule.objects.create(
        name="Store double", currency="USD", points_per_unit=2, channel=shop.channels["store"]
    )


def sara():
    return Customer.objects.get(identities__value="sara@example.com")


def place(client, shop, channel, *, quantity=1, coupon="", colour="black", **extra):  # noqa: F811
    body = {
        "channel": channel,
        "customer": SARA,
        "lines": [{"sku": shop.sku(colour), "quantity": quantity}],
        "shipping": ADDRESS,
        "payment_status": "paid",
        **extra,
    }
    if coupon:
        body["coupon_code"] = coupon
    return client.post("/api/v1/orders/", body, format="json")


def store_sale(client, shop, *, quantity=2):  # noqa: F811
    """A POS sale: taken in the store at once."""
    answer = place(
        client,
        shop,
        "store",
        quantity=quantity,
        fulfilment_method="in_store",
        store="store-tajrish",
        shipping={},
    )
    assert answer.status_code == 201, answer.json()
    return answer.json()["number"]


def beat():
    """The beat task, as a worker runs it."""
    return apply_loyalty.apply().get()


def balance(client):
    answer = client.get(f"/api/v1/customers/{sara().public_id}/loyalty")
    assert answer.status_code == 200, answer.content
    return answer.json()["balance"]


def test_points_earned_in_store_spent_on_the_web_and_reversed_by_a_return_by_phone(
    shop,  # noqa: F811
    rules,
    client,
):
    number = store_sale(client, shop, quantity=2)  # 2 x 120 USD at 2 points per USD
    assert beat()["earned"] == 480
    assert balance(client) == 480
    assert beat()["earned"] == 0  # read once

    web = place(client, shop, "web", coupon="POINTS-200", colour="white")
    assert web.status_code == 201, web.json()
    order = web.json()
    assert order["coupon_code"] == "POINTS-200"
    assert order["discount"] == "2.00"  # 200 points at 0.01 USD
    assert balance(client) == 280
    beat()  # the web order earns too: 118 USD at 1 point per USD
    assert balance(client) == 280 + 118

    returned = client.post(
        "/api/v1/returns/",
        {
            "order": number,
            "channel": "phone",
            "location": "wh-main",
            "receive": True,
            "lines": [{"sku": shop.sku("black"), "quantity": 1, "reason": "size"}],
        },
        format="json",
    )
    assert returned.status_code == 201, returned.json()
    assert beat()["reversed"] == 240  # what one unit earned, not what the whole order did
    assert balance(client) == 280 + 118 - 240
    reversal = LoyaltyEntry.objects.get(kind=EntryKind.REVERSE)
    assert reversal.channel.code == "phone" and reversal.order_number == number
    kinds = {entry.kind: entry.channel.code for entry in LoyaltyEntry.objects.all()}
    assert kinds[EntryKind.EARN] in {"store", "web"} and kinds[EntryKind.SPEND] == "web"


def test_spending_more_than_her_balance_refuses_the_order_naming_the_coupon(
    shop,  # noqa: F811
    rules,
    client,
):
    store_sale(client, shop, quantity=1)
    beat()
    answer = place(client, shop, "web", coupon="POINTS-241")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "coupon_refused" and "coupon_code" in error["fields"]
    assert balance(client) == 240
    anonymous = client.post(
        "/api/v1/orders/",
        {
            "channel": "web",
            "lines": [{"sku": shop.sku("black"), "quantity": 1}],
            "shipping": ADDRESS,
            "coupon_code": "POINTS-10",
        },
        format="json",
    )
    assert anonymous.status_code in (400, 422)


def test_a_cancelled_order_gives_back_spent_points_and_takes_back_earned_ones(
    shop,  # noqa: F811
    rules,
    client,
):
    store_sale(client, shop, quantity=1)
    beat()
    number = place(client, shop, "web", coupon="POINTS-100").json()["number"]
    beat()
    assert balance(client) == 240 - 100 + 119
    answer = client.post(f"/api/v1/orders/{number}/status", {"status": "cancelled"}, format="json")
    assert answer.status_code == 200, answer.json()
    beat()
    assert balance(client) == 240
    assert LoyaltyEntry.objects.filter(kind=EntryKind.RELEASE, points=100).count() == 1
    beat()
    assert balance(client) == 240  # nothing twice


@pytest.mark.django_db(transaction=True)
def test_two_orders_spending_the_same_points_at_once_only_one_wins(
    shop,  # noqa: F811
    rules,
    client,
):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    store_sale(client, shop, quantity=1)
    beat()  # 240 points
    answers = []
    start = threading.Barrier(2)

    def order(colour):
        try:
            start.wait()
            answers.append(place(client, shop, "web", coupon="POINTS-200", colour=colour))
        finally:
            connection.close()

    threads = [threading.Thread(target=order, args=(c,)) for c in ("white", "red")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answer.status_code for answer in answers) == [201, 400]
    assert balance(client) == 40
    assert LoyaltyEntry.objects.filter(kind=EntryKind.SPEND).count() == 1


def test_the_most_specific_rule_wins_and_her_tier_multiplies(
    shop,  # noqa: F811
    client,
):
    shoes = CategoryFactory(name="Shoes", slug="shoes")
    for variant in shop.shoes.values():
        variant.product.category = shoes
        variant.product.save(update_fields=["category"])
    LoyaltyRule.objects.create(name="Base", currency="USD", points_per_unit=1)
    LoyaltyRule.objects.create(
        name="Store", currency="USD", points_per_unit=2, channel=shop.channels["store"]
    )
    LoyaltyRule.objects.create(name="Shoes", currency="USD", points_per_unit=3, category=shoes)
    LoyaltyRule.objects.create(name="Euros", currency="EUR", points_per_unit=50)
    store_sale(client, shop, quantity=1)
    beat()
    assert balance(client) == 360  # the category rule beats the channel rule
    LoyaltyTier.objects.create(name="Gold", currency="USD", minimum_spend=100, earn_multiplier=2)
    store_sale(client, shop, quantity=1)
    beat()
    assert balance(client) == 360 + 720
    body = client.get(f"/api/v1/customers/{sara().public_id}/loyalty").json()
    assert body["tier"] == "Gold" and body["currency"] == "USD" and body["value"] == "10.80"
    assert body["spend_code"] == "POINTS-1080"
    assert [entry["kind"] for entry in body["entries"]] == ["earn", "earn"]


def test_points_expire_oldest_first_and_only_what_was_not_used(db):
    customer = resolve_customer([{"kind": "email", "value": "old@example.com"}])
    now = timezone.now()
    LoyaltyEntry.objects.create(
        customer=customer,
        kind=EntryKind.EARN,
        points=100,
        source="order:A",
        order_number="A",
        expires_at=now - timedelta(days=1),
    )
    LoyaltyEntry.objects.create(
        customer=customer,
        kind=EntryKind.EARN,
        points=50,
        source="order:B",
        order_number="B",
        expires_at=now + timedelta(days=200),
    )
    loyalty.spend(customer, 30, source="partner:r1")
    assert expire_loyalty_points.apply().get() == 70
    assert loyalty.balance_of(customer.pk) == 50
    assert expire_loyalty_points.apply().get() == 0
    assert loyalty.expire_points(now=now + timedelta(days=201)) == 50
    assert loyalty.balance_of(customer.pk) == 0


def test_partner_api_earn_and_spend_are_idempotent_and_errors_name_the_field(db, api_client_for):
    customer = resolve_customer([{"kind": "email", "value": "api@example.com"}])
    client = api_client_for("loyalty:write")
    url = f"/api/v1/customers/{customer.public_id}/loyalty"
    first = client.post(f"{url}/earn", {"points": 500, "key": "promo-1"}, format="json")
    again = client.post(f"{url}/earn", {"points": 500, "key": "promo-1"}, format="json")
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["entry"]["id"] == again.json()["entry"]["id"]
    assert again.json()["balance"] == 500 and again.json()["created"] is False
    spent = client.post(f"{url}/spend", {"points": 120, "key": "gift-9"}, format="json")
    assert spent.status_code == 201 and spent.json()["balance"] == 380
    assert (
        client.post(f"{url}/spend", {"points": 120, "key": "gift-9"}, format="json").json()[
            "balance"
        ]
        == 380
    )
    too_much = client.post(f"{url}/spend", {"points": 1000, "key": "gift-10"}, format="json")
    assert too_much.status_code == 400 and "points" in too_much.json()["error"]["fields"]
    for body, field in [
        ({"points": 0, "key": "z"}, "points"),
        ({"points": "many", "key": "z"}, "points"),
        ({"points": 5}, "key"),
        ({"points": 5, "key": "z", "colour": "red"}, "colour"),
    ]:
        answer = client.post(f"{url}/earn", body, format="json")
        assert answer.status_code == 400, body
        assert field in answer.json()["error"]["fields"], answer.json()
    assert client.get(url).json()["balance"] == 380
    reader = api_client_for("loyalty:read")
    assert reader.get(url).status_code == 200
    assert reader.post(f"{url}/earn", {"points": 1, "key": "x"}, format="json").status_code == 403
    assert api_client_for("orders:read").get(url).status_code == 403
    missing = client.get("/api/v1/customers/00000000-0000-0000-0000-000000000000/loyalty")
    assert missing.status_code == 404


def test_points_are_the_best_offer_when_she_has_no_coupon(shop, rules, client):  # noqa: F811
    store_sale(client, shop, quantity=1)
    beat()
    recommendations = api_client_for_recommendations(client)
    answer = recommendations.get(
        f"/api/v1/customers/{sara().public_id}/recommendations", {"channel": "web"}
    )
    assert answer.status_code == 200, answer.content
    offer = answer.json()["offer"]
    assert offer["kind"] == "points" and offer["code"].startswith("POINTS-")
    assert Decimal(offer["saving"]) == Decimal("2.40")  # all she has: 240 points


def api_client_for_recommendations(client):
    client.api_key.scopes = [*client.api_key.scopes, "customers:read"]
    client.api_key.save(update_fields=["scopes"])
    return client


def test_her_balance_on_the_360_page_in_the_inbox_and_in_templates(
    shop,  # noqa: F811
    rules,
    client,
    staff_in_role,
):
    store_sale(client, shop, quantity=1)
    beat()
    customer = sara()
    marketer = staff_in_role("Marketer")
    browser = Client()
    browser.force_login(marketer)
    page = browser.get(reverse("customers:detail", args=[customer.public_id]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "POINTS-240" in text and "loyalty-balance" in text
    program = browser.get(reverse("campaigns:loyalty"))
    assert program.status_code == 200 and "Store double" in program.content.decode()

    template = MessageTemplateFactory(
        text="{{ loyalty.balance }} {{ loyalty.spend_code }} {{ loyalty.value }}"
    )
    assert preview(template, customer)["text"] == "240 POINTS-240 2.40"


def test_the_coupon_check_answers_for_points_too(shop, rules, client, api_client_for):  # noqa: F811
    store_sale(client, shop, quantity=1)
    beat()
    checker = api_client_for("campaigns:read")
    body = {"code": "points-100", "subtotal": "50.00", "customer": str(sara().public_id)}
    answer = checker.post(
        "/api/v1/campaigns/coupons/validate", {**body, "channel": "web"}, format="json"
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["valid"] is True and answer.json()["discount"] == "1.00"
    too_many = checker.post(
        "/api/v1/campaigns/coupons/validate", {**body, "code": "POINTS-999"}, format="json"
    )
    assert too_many.json()["valid"] is False and "240" in too_many.json()["reason"]
