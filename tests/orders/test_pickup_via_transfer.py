"""A pickup whose units come by transfer, through the API only: placed, refused while the
units travel, shipped, received, the customer told "ready for pickup" in her language,
picked up and completed; a short or late transfer re-plans or releases the hold and tells
staff (an alert on the order, an outbox event)."""

import datetime as dt

import pytest
from django.utils import timezone

from campaigns.models import CampaignMessage
from campaigns.services.defaults import install_defaults
from campaigns.services.journeys import run_journeys
from core.models import OutboxEvent
from customers.models import Customer, Event
from inventory.factories import ChannelStockRuleFactory
from inventory.models import StockMovement
from inventory.services import notice_late_transfers, reserve
from orders.models import OrderAlert
from tests.orders.conftest import level

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner(api_client_for, shop):
    ChannelStockRuleFactory(channel=shop.channels["web"], pickup_may_transfer=True)
    return api_client_for("orders:write", "customers:write", "inventory:write")


def pickup_order(partner, shop, quantity=3, colour="black"):
    body = {
        "channel": "web",
        "customer": {"identities": [{"kind": "email", "value": "leila@example.com"}]},
        "lines": [
            {
                "sku": shop.sku(colour),
                "quantity": quantity,
                "fulfilment_method": "pickup_in_store",
                "store": shop.store2.code,
            }
        ],
    }
    response = partner.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_pickup_needing_a_transfer_is_shipped_received_picked_up_and_completed(
    partner, shop, caplog
):
    install_defaults()
    variant = shop.variant("black")
    order = pickup_order(partner, shop)  # the Vanak store holds 2: the warehouse sends 3
    number = order["number"]
    Customer.objects.filter(identities__value="leila@example.com").update(locale="fa")
    (line,) = order["lines"]
    transfer = line["transfer"]
    assert (transfer["status"], transfer["from"], transfer["to"]) == (
        "requested",
        shop.warehouse.code,
        shop.store2.code,
    )
    assert level(variant, shop.warehouse) == (10, 3)

    refused = partner.post(f"/api/v1/orders/{number}/fulfilments", {}, format="json")
    assert refused.status_code == 409
    assert "on their way" in refused.json()["error"]["message"]

    assert partner.post(f"/api/v1/transfers/{transfer['id']}/ship").status_code == 200
    assert level(variant, shop.warehouse) == (7, 0)
    received = partner.post(f"/api/v1/transfers/{transfer['id']}/receive", {}, format="json")
    assert received.json()["status"] == "received"
    assert level(variant, shop.store2) == (5, 3)  # its own 2 and the 3 held for her

    after = partner.get(f"/api/v1/orders/{number}").json()
    assert after["lines"][0]["location"] == shop.store2.code
    assert after["lines"][0]["reservation_status"] == "active"
    assert Event.objects.filter(name="order_ready_for_pickup").count() == 1
    assert OutboxEvent.objects.filter(topic="order_ready_for_pickup").count() == 1
    # The transactional journey tells her, in Persian, on the channel she uses.
    run_journeys()
    (message,) = CampaignMessage.objects.filter(journey_step__journey__key="ready-for-pickup")
    assert (message.to, message.purpose, message.status) == (
        "leila@example.com",
        "transactional",
        "sent",
    )
    assert f"سفارش {number} در {shop.store2.name} آمادهٔ تحویل است" in caplog.text

    fulfilled = partner.post(f"/api/v1/orders/{number}/fulfilments", {}, format="json")
    assert fulfilled.status_code == 201, fulfilled.content
    assert fulfilled.json()[0]["location"] == shop.store2.code
    completed = partner.post(
        f"/api/v1/orders/{number}/status", {"status": "completed"}, format="json"
    )
    assert completed.json()["status"] == "completed"
    assert level(variant, shop.store2) == (2, 0)
    assert list(
        StockMovement.objects.filter(variant=variant, source__in=["transfers", "reservations"])
        .order_by("id")
        .values_list("reason", "location__code", "quantity")
    ) == [
        ("transfer_out", shop.warehouse.code, -3),
        ("transfer_in", shop.store2.code, 3),
        ("sale", shop.store2.code, -3),
    ]


def test_a_short_transfer_is_made_up_by_the_store_or_releases_the_hold(partner, shop, client):
    variant = shop.variant("white")
    # The store's own 2 units make up for 2 damaged on the way.
    order = pickup_order(partner, shop, colour="white")
    transfer = order["lines"][0]["transfer"]["id"]
    partner.post(f"/api/v1/transfers/{transfer}/ship")
    partner.post(
        f"/api/v1/transfers/{transfer}/receive",
        {"lines": [{"sku": variant.sku, "received": 1, "damaged": 2}]},
        format="json",
    )
    replanned = partner.get(f"/api/v1/orders/{order['number']}").json()
    assert [a["kind"] for a in replanned["alerts"]] == ["pickup_replanned"]
    assert replanned["lines"][0]["reservation_status"] == "active"
    assert level(variant, shop.store2) == (3, 3)
    assert (
        partner.post(f"/api/v1/orders/{order['number']}/fulfilments", {}, format="json").status_code
        == 201
    )

    # With nothing free at the store, a short transfer releases the hold and tells staff.
    red = shop.variant("red")
    reserve(variant=red, location=shop.store2, quantity=2)
    order = pickup_order(partner, shop, colour="red")
    transfer = order["lines"][0]["transfer"]["id"]
    partner.post(f"/api/v1/transfers/{transfer}/ship")
    partner.post(
        f"/api/v1/transfers/{transfer}/receive",
        {"lines": [{"sku": red.sku, "received": 2}]},
        format="json",
    )
    partner.post(
        f"/api/v1/transfers/{transfer}/receive",
        {"lines": [{"sku": red.sku, "damaged": 1}]},
        format="json",
    )
    released = partner.get(f"/api/v1/orders/{order['number']}").json()
    assert [a["kind"] for a in released["alerts"]] == ["pickup_released"]
    assert released["lines"][0]["reservation_status"] == "released"
    assert level(red, shop.store2) == (4, 2)  # the 2 that arrived are free stock now
    assert OutboxEvent.objects.filter(topic="order_pickup_released").count() == 1
    assert not Event.objects.filter(
        name="order_ready_for_pickup", properties__order_id=order["number"]
    ).exists()


def test_a_late_transfer_alerts_staff_on_the_order_page(partner, shop, staff_in_role, client):
    order = pickup_order(partner, shop, colour="black", quantity=3)
    transfer = order["lines"][0]["transfer"]["id"]
    partner.post(f"/api/v1/transfers/{transfer}/ship")
    # The store's own 2 units cannot serve 3: the hold keeps waiting, staff are told once.
    later = timezone.now() + dt.timedelta(days=5)
    assert notice_late_transfers(at=later) == 1
    assert notice_late_transfers(at=later) == 0
    alert = OrderAlert.objects.get()
    assert alert.kind == "transfer_late"
    assert OutboxEvent.objects.filter(topic="order_pickup_late").count() == 1
    manager = staff_in_role("Support lead")  # may change orders
    client.force_login(manager)
    page = client.get(f"/orders/{order['number']}/").content.decode()
    assert 'data-alert="transfer_late"' in page and "is late" in page
    client.post(f"/orders/{order['number']}/resolve/", {"alert": alert.pk})
    alert.refresh_from_db()
    assert alert.resolved_at is not None
    assert 'data-alert="' not in client.get(f"/orders/{order['number']}/").content.decode()
