"""Factories for inventory rows, shared by the tests and `seed_demo`.

Stock itself is never made by a factory: `receive_stock` records a receipt through the
ledger service, so levels and ledger always agree.
"""

import itertools

import factory
from django.utils import timezone

from core.factories import ChannelFactory
from inventory.models import (
    AllocationStrategy,
    ChannelStockRule,
    Location,
    LocationKind,
    MovementReason,
    StockLevel,
)
from inventory.services import record_movement

_receipts = itertools.count(1)


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ["code"]
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"loc-{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("-", " ").title())
    kind = LocationKind.STORE
    city = "Tehran"
    country = "IR"
    latitude = 35.6892
    longitude = 51.3890
    time_zone = "Asia/Tehran"
    opening_hours = factory.LazyFunction(
        lambda: {day: [["10:00", "21:00"]] for day in ("sat", "sun", "mon", "tue", "wed", "thu")}
    )
    serves_online = True
    allows_pickup = factory.LazyAttribute(lambda o: o.kind == LocationKind.STORE)
    ships_from_store = False
    priority = 100

    @factory.post_generation
    def channels(self, create, extracted, **kwargs):
        if create and extracted:
            self.channels.add(*extracted)


class WarehouseFactory(LocationFactory):
    code = factory.Sequence(lambda n: f"wh-{n}")
    kind = LocationKind.WAREHOUSE
    allows_pickup = False
    opening_hours = factory.LazyFunction(dict)
    priority = 10


class ChannelStockRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChannelStockRule
        django_get_or_create = ["channel"]

    channel = factory.SubFactory(ChannelFactory, code="web")
    strategy = AllocationStrategy.PRIORITY
    buffer_percent = 100
    pickup_may_transfer = False


def receive_stock(variant, location, quantity, *, occurred_at=None, source="factory"):
    """Put `quantity` units of `variant` at `location` through the ledger (a receipt)."""
    return record_movement(
        variant_id=variant.pk,
        location_id=location.pk,
        quantity=quantity,
        reason=MovementReason.RECEIPT,
        occurred_at=occurred_at or timezone.now(),
        source=source,
        idempotency_key=f"receipt-{next(_receipts)}-{variant.pk}-{location.pk}",
        reference="factory receipt",
    )


def set_safety(variant, location, *, safety_stock=0, low_stock_threshold=None):
    level, _ = StockLevel.objects.get_or_create(variant=variant, location=location)
    level.safety_stock = safety_stock
    level.low_stock_threshold = low_stock_threshold
    level.save(update_fields=["safety_stock", "low_stock_threshold", "updated_at"])
    return level
