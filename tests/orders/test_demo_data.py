"""The orders demo stage: every order ships to its own customer's phone, never Sara's."""

import datetime as dt
import json

import pytest
from django.urls import reverse

from campaigns.services.segments import READY_MADE
from core.demo import STAGES, DemoContext
from customers.models import Identity
from customers.normalise import IdentityKey
from customers.selectors import customer_for_identity
from inventory.models import Transfer
from orders.models import Order, OrderLinePart
from support.models import Message

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


def test_saras_story_reads_in_its_true_order_over_days():
    """Story 1 in the demo: research, order, phone change, store exchange, Instagram defect
    report, replacement, each at its own date and in that order, on its true channel."""
    ctx = DemoContext(size="small", quiet=True)  # the seed `make demo` uses
    for key in ("core.channels", "core.staff", "catalog.products", "customers.profiles",
                "inventory.stock", "orders.journeys", "support.inbox"):  # fmt: skip
        STAGES[key].run(ctx)
    sara = customer_for_identity(IdentityKey("email", "sara@example.com"))
    first = {}
    for name, at in sara.events.order_by("occurred_at").values_list("name", "occurred_at"):
        first.setdefault(name, at)
    story = ["product_viewed", "order_completed", "order_edited", "order_fulfilled",
             "order_exchanged", "defect_reported", "replacement_created"]  # fmt: skip
    assert sorted(story, key=first.__getitem__) == story
    assert first["replacement_created"] - first["order_completed"] > dt.timedelta(days=5)
    original = Order.objects.get(external_id="demo-sara-web-1")
    report = Message.objects.get(external_id="demo-sara-instagram-defect")
    assert original.placed_at < report.created_at < first["replacement_created"]
    replacement = Order.objects.get(customer=sara, kind="replacement")
    assert replacement.channel.code == "instagram"


def test_the_demo_has_a_split_order_and_a_transfer_in_transit(client, staff_in_role):
    """Issue #27 in the demo: a line split across two locations, one part shipped, and a
    replenishment of several SKUs on its way; their pages show them."""
    seed_orders_demo()
    split = Order.objects.get(external_id="demo-split-1")
    parts = OrderLinePart.objects.filter(line__order=split)
    assert parts.count() == 2
    assert sorted(parts.values_list("status", flat=True)) == ["fulfilled", "open"]
    client.force_login(staff_in_role("Support lead"))
    page = client.get(reverse("orders:order-detail", args=[split.number])).content.decode()
    assert page.count("data-part=") == 2
    moving = Transfer.objects.get(reference="replenish-in-transit")
    assert moving.status == "in_transit" and moving.lines.count() >= 2
    client.force_login(staff_in_role("Inventory manager"))
    pick = client.get(reverse("inventory:transfer-pick-list", args=[moving.pk]))
    assert pick.status_code == 200
