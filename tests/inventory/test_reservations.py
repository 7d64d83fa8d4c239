"""Reservations: never oversell under concurrency, release, confirm into a sale, expire,
allocation by the channel's visible rule, pickup with a transfer."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from catalog.factories import ProductVariantFactory
from core.factories import ChannelFactory
from inventory.errors import (
    IllegalTransition,
    InsufficientStock,
    InvalidMovement,
    UnknownChannel,
    UnknownLocation,
    UnknownSku,
)
from inventory.factories import (
    ChannelStockRuleFactory,
    LocationFactory,
    WarehouseFactory,
    receive_stock,
    set_safety,
)
from inventory.models import (
    MovementReason,
    Reservation,
    StockLevel,
    StockMovement,
    StockSyncState,
    Transfer,
)
from inventory.services import confirm, expire_due, receive, release, reserve, ship
from inventory.tasks import expire_reservations


def level(variant, location):
    return StockLevel.objects.get(variant=variant, location=location)


@pytest.mark.django_db
def test_reserve_holds_units_and_refuses_more_than_available(variant, store):
    receive_stock(variant, store, 3)
    set_safety(variant, store, safety_stock=1)
    reservation = reserve(variant=variant, quantity=2, location=store.code, reference="W-1")
    assert reservation.location == store and level(variant, store).reserved == 2
    with pytest.raises(InsufficientStock) as refused:
        reserve(variant=variant, quantity=1, location=store.code)  # the last unit is safety stock
    assert refused.value.code == "insufficient_stock" and refused.value.status_code == 409


@pytest.mark.django_db
def test_release_gives_units_back_and_confirm_records_a_sale(variant, store):
    receive_stock(variant, store, 5)
    first = reserve(variant=variant, quantity=2, location=store.code)
    second = reserve(variant=variant, quantity=1, location=store.code, reference="W-9")
    release(first.pk)
    release(first.pk)  # twice changes nothing
    confirm(second.pk)
    confirm(second.pk)
    stock = level(variant, store)
    assert (stock.on_hand, stock.reserved) == (4, 0)
    sale = StockMovement.objects.get(reason=MovementReason.SALE)
    assert sale.quantity == -1 and sale.reference == "W-9"
    with pytest.raises(IllegalTransition):
        confirm(first.pk)


@pytest.mark.django_db
def test_expired_reservations_are_released_by_the_beat_task(variant, store):
    receive_stock(variant, store, 2)
    stale = reserve(variant=variant, quantity=1, location=store.code, expires_in=60)
    fresh = reserve(variant=variant, quantity=1, location=store.code, expires_in=3600)
    Reservation.objects.filter(pk=stale.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert expire_reservations.delay().get() == {"expired": 1}
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.status == "expired" and fresh.status == "active"
    assert level(variant, store).reserved == 1
    assert expire_due() == 0


@pytest.mark.django_db
def test_priority_strategy_never_takes_a_random_location(variant, channels, warehouse, store):
    other = WarehouseFactory(code="wh-shiraz", priority=50, channels=[channels["web"]])
    receive_stock(variant, warehouse, 1)
    receive_stock(variant, other, 5)
    receive_stock(variant, store, 5)  # the store does not ship: its shelf is not allocated online
    ChannelStockRuleFactory(channel=channels["web"], strategy="priority")
    assert reserve(variant=variant, quantity=1, channel="web").location == warehouse
    assert reserve(variant=variant, quantity=1, channel="web").location == other
    assert level(variant, store).reserved == 0


@pytest.mark.django_db
def test_nearest_and_most_stock_strategies(variant, channels):
    tabriz = WarehouseFactory(
        code="wh-tabriz", latitude=38.08, longitude=46.29, channels=[channels["web"]]
    )
    shiraz = WarehouseFactory(
        code="wh-shiraz", latitude=29.59, longitude=52.58, channels=[channels["web"]]
    )
    receive_stock(variant, tabriz, 2)
    receive_stock(variant, shiraz, 9)
    rule = ChannelStockRuleFactory(channel=channels["web"], strategy="nearest")
    near_isfahan = reserve(variant=variant, quantity=1, channel="web", lat=32.65, lng=51.67)
    assert near_isfahan.location == shiraz
    near_tabriz = reserve(variant=variant, quantity=1, channel="web", lat=38.0, lng=46.3)
    assert near_tabriz.location == tabriz
    rule.strategy = "most_stock"
    rule.save()
    assert reserve(variant=variant, quantity=1, channel="web").location == shiraz


@pytest.mark.django_db
def test_pickup_from_the_store_or_by_transfer_when_the_channel_allows(
    variant, channels, warehouse, store
):
    receive_stock(variant, warehouse, 4)
    with pytest.raises(InsufficientStock):
        reserve(variant=variant, quantity=1, channel="web", pickup_location=store.code)
    ChannelStockRuleFactory(channel=channels["web"], pickup_may_transfer=True)
    held = reserve(variant=variant, quantity=1, channel="web", pickup_location=store.code)
    assert held.location == warehouse and held.pickup_location == store
    transfer = Transfer.objects.get(reservation=held)
    assert (transfer.from_location, transfer.to_location) == (warehouse, store)
    with pytest.raises(IllegalTransition):
        confirm(held.pk)  # not at the store yet
    ship(transfer.pk)
    receive(transfer.pk)
    held.refresh_from_db()
    assert held.location == store
    assert (level(variant, store).on_hand, level(variant, store).reserved) == (1, 1)
    assert (level(variant, warehouse).on_hand, level(variant, warehouse).reserved) == (3, 0)
    confirm(held.pk)
    assert (level(variant, store).on_hand, level(variant, store).reserved) == (0, 0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_last_units_reserved_exactly_once_under_concurrency():
    ChannelFactory(code="web", kind="web")
    variant = ProductVariantFactory()
    store = LocationFactory(code="hot")
    receive_stock(variant, store, 7)
    clients, barrier = 24, threading.Barrier(24)
    outcomes = []

    def client():
        try:
            barrier.wait()
            reserve(variant=variant, quantity=1, location="hot")
            outcomes.append("ok")
        except InsufficientStock:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 7 and outcomes.count("refused") == clients - 7
    stock = level(variant, store)
    assert (stock.on_hand, stock.reserved) == (7, 7)
    assert Reservation.objects.filter(status="active").count() == 7


@pytest.mark.django_db
def test_a_reservation_by_sku_and_codes_takes_five_statements(
    variant, store, warehouse, channels, django_assert_max_num_queries
):
    # The flash-sale path (issue 21): one statement finds the variant, the channel, the
    # location and the channels to push to; then the reservation row and the guarded UPDATE
    # inside the transaction (a savepoint here, BEGIN and COMMIT in production).
    receive_stock(variant, store, 5)
    with django_assert_max_num_queries(5):
        held = reserve(sku=variant.sku, quantity=1, location=store.code, channel="web")
    assert (held.variant, held.location, held.channel) == (variant, store, channels["web"])
    assert level(variant, store).reserved == 1
    # A channel that pushes stock and counts the store: its pending mark is one more.
    ChannelStockRuleFactory(channel=channels["web"], sync_enabled=True)
    with django_assert_max_num_queries(6):
        reserve(sku=variant.sku, quantity=1, location=store.code, channel="store")
    assert StockSyncState.objects.filter(
        channel=channels["web"], variant=variant, pending=True
    ).exists()
    assert not StockSyncState.objects.filter(channel=channels["store"]).exists()


@pytest.mark.django_db
def test_reserve_names_what_it_cannot_find_first_unknown_first(variant, store, warehouse):
    receive_stock(variant, store, 5)
    inactive = LocationFactory(code="closed", is_active=False)
    receive_stock(variant, inactive, 5)
    refusals = [
        ({"sku": "NOPE", "quantity": 0, "channel": "nope"}, UnknownSku, "sku"),
        ({"sku": variant.sku, "quantity": 0, "channel": "nope"}, UnknownChannel, "channel"),
        ({"sku": variant.sku, "quantity": 0, "location": "nowhere"}, InvalidMovement, "quantity"),
        ({"sku": variant.sku, "quantity": 1, "location": "nowhere"}, UnknownLocation, "location"),
        ({"sku": variant.sku, "quantity": 1, "location": "closed"}, UnknownLocation, "location"),
        ({"sku": variant.sku, "quantity": 1, "location": ""}, UnknownLocation, "location"),
        ({"sku": "", "quantity": 1, "location": store.code}, UnknownSku, "sku"),
        ({"sku": variant.sku, "quantity": 1, "channel": ""}, UnknownChannel, "channel"),
        (
            {"sku": variant.sku, "quantity": 1, "pickup_location": "nowhere", "channel": "web"},
            UnknownLocation,
            "pickup_location",
        ),
        (
            {"sku": variant.sku, "quantity": 1, "pickup_location": warehouse.code},
            InvalidMovement,
            "pickup_location",
        ),
    ]
    for options, error, field in refusals:
        with pytest.raises(error) as refused:
            reserve(**options)
        assert field in refused.value.fields, options
    assert not Reservation.objects.exists() and level(variant, store).reserved == 0
    # Given as themselves, an inactive location is taken as it is (as active_location does).
    held = reserve(variant=variant, quantity=1, location=inactive)
    assert held.location == inactive
