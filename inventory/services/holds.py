"""Holding units on a stock level and giving them back: the guarded UPDATE every hold goes
through (reservations, pickup transfers), so no path can oversell."""

from __future__ import annotations

from django.db.models import F
from django.utils import timezone

from inventory.models import StockLevel
from inventory.services import sync


def hold_units(variant_id: int, location_id: int, quantity: int) -> bool:
    """Add `quantity` to reserved where enough is available; True if it was. The caller
    marks the stock changed (it reads the channels to push before the row is locked)."""
    updated = StockLevel.objects.filter(
        variant_id=variant_id,
        location_id=location_id,
        on_hand__gte=F("reserved") + F("safety_stock") + quantity,
    ).update(reserved=F("reserved") + quantity, updated_at=timezone.now())
    return updated == 1


def release_units(variant_id: int, location_id: int, quantity: int) -> None:
    """Take `quantity` off reserved (they are free again) and mark the figures to push."""
    StockLevel.objects.filter(variant_id=variant_id, location_id=location_id).update(
        reserved=F("reserved") - quantity, updated_at=timezone.now()
    )
    sync.note_stock_changed([(variant_id, location_id)])
