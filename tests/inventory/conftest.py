"""Inventory fixtures: the sales channels, a variant listed on them, a few locations."""

import pytest

from catalog.availability import register_availability_provider, reset_availability_provider
from catalog.factories import VariantListingFactory
from core.factories import ChannelFactory
from core.models import ChannelKind
from inventory.factories import LocationFactory, WarehouseFactory
from inventory.selectors import units_for_channel


@pytest.fixture(autouse=True)
def _inventory_availability():
    # Inventory's ready() registers its provider; a catalog test may have reset it.
    register_availability_provider(units_for_channel)
    yield
    reset_availability_provider()
    register_availability_provider(units_for_channel)


@pytest.fixture
def channels(db):
    return {
        "web": ChannelFactory(code="web", name="Web shop", kind=ChannelKind.WEB),
        "store": ChannelFactory(code="store", name="Stores", kind=ChannelKind.STORE),
        "marketplace": ChannelFactory(
            code="marketplace", name="Marketplace", kind=ChannelKind.MARKETPLACE, currency="IRR"
        ),
    }


@pytest.fixture
def variant(channels):
    listing = VariantListingFactory(channel=channels["web"])
    return listing.variant


@pytest.fixture
def warehouse(channels):
    return WarehouseFactory(
        code="wh-tehran",
        name="Tehran warehouse",
        channels=[channels["web"], channels["marketplace"]],
    )


@pytest.fixture
def store(channels, warehouse):
    return LocationFactory(
        code="teh-tajrish",
        name="Tajrish",
        latitude=35.8045,
        longitude=51.4336,
        supplied_by=warehouse,
        channels=[channels["store"], channels["web"]],
    )
