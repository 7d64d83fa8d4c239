"""The orders demo stage: every order ships to its own customer's phone, never Sara's."""

import pytest

from core.demo import STAGES, DemoContext
from customers.models import Identity
from orders.models import Order

pytestmark = pytest.mark.django_db


def test_every_demo_order_ships_to_its_own_customers_phone():
    ctx = DemoContext(size="small", seed=5, quiet=True)
    for key in ("core.channels", "catalog.products", "customers.profiles", "inventory.stock"):
        STAGES[key].run(ctx)
    STAGES["orders.journeys"].run(ctx)

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
