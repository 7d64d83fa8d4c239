"""Inventory fixtures: the sales channels, a variant listed on them, a few locations."""

import pytest

from catalog.availability import reset_availability_provider


@pytest.fixture(autouse=True)
def _inventory_availability():
    # Inventory's ready() registers its provider; a catalog test may have reset it.
    from catalog.availability import register_availability_provider
    from inventory.selectors import units_for_channel

    register_availability_provider(units_for_channel)
    yield
    reset_availability_provider()
    register_availability_provider(units_for_channel)


@pytest.fixture
def channels(db):
    from core.factories import ChannelFactory
    from core.models import ChannelKind

    return {
        "web": ChannelFactory(code="web", name="Web shop", kind=ChannelKind.WEB),
        "store": ChannelFactory(code="store", name="Stores", kind=ChannelKind.STORE),
        "marketplace": ChannelFactory(
            code="marketplace", name="Marketplace", kind=ChannelKind.MARKETPLACE, currency="IRR"
        ),
    }


@pytest.fixture
def variant(channels):
    from catalog.factories import VariantListingFactory

    listing = VariantListingFactory(channel=channels["web"])
    return listing.variant


@pytest.fixture
def warehouse(channels):
    from inventory.factories import WarehouseFactory

    return WarehouseFactory(
        code="wh-tehran",
        name="Tehran warehouse",
        channels=[channels["web"], channels["marketplace"]],
    )


@pytest.fixture
def store(channels, warehouse):
    from inventory.factories import LocationFactory

    return LocationFactory(
        code="teh-tajrish",
        name="Tajrish",
        latitude=35.8045,
        longitude=51.4336,
        supplied_by=warehouse,
        channels=[channels["store"], channels["web"]],
    )
