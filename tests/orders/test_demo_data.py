"""The orders demo stage: every order ships to its own customer's phone, never Sara's."""

import json

import pytest
from django.urls import reverse

from campaigns.services.segments import READY_MADE
from core.demo import STAGES, DemoContext
from customers.models import Identity
from orders.models import Order

pytestmark = pytest.mark.django_db


def seed_orders_demo():
    ctx = DemoContext(size="small", seed=5, quiet=True)
    for key in ("core.channels", "catalog.products", "customers.profiles", "inventory.stock"):
        STAGES[key].run(ctx)
    STAGES["orders.journeys"].run(ctx)


def test_every_demo_order_ships_to_its_own_customers_phone():
    seed_orders_demo()

    orders = list(Order.objects.exclude(shipping_phone="").values("customer_id", "shipping_phone"))
    assert len({order["customer_id"] for order in orders}) > 5
    phones = {
        (customer_id, value)
        for customer_id, value in Identity.objects.filter(kind="phone").values_list(
            "customer_id", "value"
        )
    }
    strangers = [o for o in orders if (o["customer_id"], o["shipping_phone"]) not in phones]
    assert strangers == []


def test_demo_store_buyers_researched_online_first(client, staff_in_role):
    """The ready-made "Researched online, bought in store" segment has members in the demo."""
    seed_orders_demo()
    rules = READY_MADE["Researched online, bought in store"][1]
    client.force_login(staff_in_role("Marketer"))
    answer = client.post(reverse("campaigns:segment-count"), {"rules": json.dumps(rules)})
    count = int(answer.content.decode().split('data-count="')[1].split('"')[0])
    assert count >= 2
