"""serving_location_ids, written out for the hot reads, keeps to LocationQuerySet.serving()."""

import pytest

from inventory.factories import LocationFactory, WarehouseFactory
from inventory.models import Location
from inventory.selectors import serving_location_ids

pytestmark = pytest.mark.django_db


def test_serving_locations_agree_with_the_queryset_rule(channels):
    web, store_channel = channels["web"], channels["store"]
    serving = WarehouseFactory(channels=[web])
    store = LocationFactory(channels=[store_channel, web], serves_online=False)
    closed = WarehouseFactory(channels=[web], is_active=False)
    WarehouseFactory(channels=[channels["marketplace"]])
    for channel in channels.values():
        assert serving_location_ids(channel) == sorted(
            Location.objects.serving(channel).values_list("id", flat=True)
        )
    assert serving_location_ids(web) == [serving.pk]  # the store serves no online orders
    assert serving_location_ids(store_channel) == [store.pk]  # the stores' own channel
    assert closed.pk not in serving_location_ids(web)
