"""Partner retries racing each other on real PostgreSQL: the same external id placed twice
at the same moment gives one order; the last unit is sold to exactly one of two orders."""

import threading

import pytest
from django.db import connection

from inventory.errors import InsufficientStock
from orders.models import Order
from orders.services import place_order
from tests.orders.conftest import level

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(count, make):
    barrier = threading.Barrier(count)
    results = []

    def run(index):
        try:
            barrier.wait()
            results.append(("ok", make(index)))
        except InsufficientStock as refusal:
            results.append(("refused", refusal))
        except Exception as error:  # noqa: BLE001 (no assertion expects it: shown when one fails)
            results.append(("crashed", error))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_same_external_id_at_once_makes_one_order(shop, customer):
    def make(_index):
        return place_order(
            customer=customer,
            channel="web",
            external_id="race-1",
            lines=[{"sku": shop.sku("black"), "quantity": 1}],
            shipping={"address": "1 Street"},
        ).order.number

    results = _race(4, make)
    assert [kind for kind, _ in results] == ["ok"] * 4, results
    assert len({number for _, number in results}) == 1
    assert Order.objects.count() == 1
    assert level(shop.variant("black"), shop.warehouse) == (10, 1)


def test_last_unit_goes_to_exactly_one_order(shop, customer):
    variant = shop.variant("red", "39")

    def make(_index):
        return place_order(
            customer=customer,
            channel="store",
            lines=[{"sku": variant.sku, "quantity": 2, "fulfilment_method": "pickup_in_store"}],
            store="store-vanak",
        ).order.number

    results = _race(3, make)
    assert sorted(kind for kind, _ in results) == ["ok", "refused", "refused"], results
    assert level(variant, shop.store2) == (2, 2)
    assert Order.objects.count() == 1


def test_orders_naming_the_same_products_in_opposite_orders_never_deadlock(shop, customer):
    """Each guarded UPDATE holds its stock row until commit: an order for [A, B] and one for
    [B, A] at once would each wait for the other's row if lines were held in request order."""
    first, second = shop.variant("white"), shop.variant("black", "39")

    def make(index):
        pair = [first, second] if index % 2 else [second, first]
        return place_order(
            customer=customer,
            channel="web",
            lines=[{"sku": variant.sku, "quantity": 1} for variant in pair],
            shipping={"address": "1 Street"},
        ).order.number

    results = _race(14, make)
    assert sorted(kind for kind, _ in results) == ["ok"] * 10 + ["refused"] * 4, results
    assert level(first, shop.warehouse) == (10, 10)
    assert level(second, shop.warehouse) == (10, 10)
    assert Order.objects.count() == 10
