"""Catalog test fixtures: feed files go to a temporary MEDIA_ROOT; catalog tests run with the
default availability provider and restore the registered one after."""

import pytest

from catalog import availability
from catalog.availability import reset_availability_provider
from core.factories import ChannelFactory
from core.models import ChannelKind


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    yield settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def _default_availability():
    """Catalog tests see the catalog's own default provider; whatever provider another app
    registered (inventory's) is put back afterwards, so later tests still have it."""
    registered = availability._provider
    reset_availability_provider()
    yield
    availability.register_availability_provider(registered)


@pytest.fixture
def channels(db):
    """The sales channels the catalog tests price on: web (USD), store (USD), marketplace
    (IRR), web-az (AZN), instagram (USD), catalogue (USD); plus email, which does not sell."""
    made = {
        "web": ChannelFactory(code="web", name="Web shop", kind=ChannelKind.WEB),
        "store": ChannelFactory(code="store", name="Stores", kind=ChannelKind.STORE),
        "marketplace": ChannelFactory(
            code="marketplace", name="Marketplace", kind=ChannelKind.MARKETPLACE, currency="IRR"
        ),
        "web-az": ChannelFactory(
            code="web-az", name="Web AZ", kind=ChannelKind.WEB, currency="AZN"
        ),
        "instagram": ChannelFactory(code="instagram", name="Instagram", kind=ChannelKind.INSTAGRAM),
        "catalogue": ChannelFactory(
            code="catalogue", name="Printed catalogue", kind=ChannelKind.PRINT_CATALOG
        ),
        "email": ChannelFactory(code="email", name="Email", kind=ChannelKind.EMAIL),
    }
    return made
