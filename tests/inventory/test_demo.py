"""The inventory demo stage: stores in several cities drawing on two warehouses, stock for
every catalog variant, a ledger the levels agree with."""

import pytest

from catalog.models import ProductVariant
from core.demo import DemoContext, run_stages
from inventory.models import Location, StockLevel, StockMovement
from inventory.services.movements import ledger_drift

pytestmark = pytest.mark.django_db


def test_demo_stage_builds_stores_warehouses_and_a_consistent_ledger():
    ctx = DemoContext(size="small", seed=3, quiet=True)
    run_stages(ctx, only=["core.channels", "catalog.", "inventory."])
    stores = Location.objects.filter(kind="store")
    assert stores.count() == 12
    assert {"Tehran", "Tabriz", "Shiraz", "Isfahan", "Mashhad", "Baku", "Dubai"} <= set(
        stores.values_list("city", flat=True)
    )
    assert Location.objects.filter(kind="warehouse").count() == 2
    assert not stores.filter(supplied_by__isnull=True).exists()  # every store draws on one
    stocked = set(StockLevel.objects.values_list("variant_id", flat=True))
    assert stocked == set(ProductVariant.objects.values_list("id", flat=True))
    assert StockMovement.objects.filter(reason="sale").exists()
    assert StockMovement.objects.filter(reason="count").exists()
    assert ledger_drift() == []
