"""Holding units on a stock level and giving them back: the guarded UPDATE every hold goes
through (reservations, pickup transfers), so no path can oversell."""

from __future__ import annotations

from django.db import connection
from django.db.models import F
from django.utils import timezone

from inventory.models import StockLevel
from inventory.services import sync

# The guarded UPDATE every hold sends, written out: it runs on the hottest row of a flash
# sale, and building it through the ORM cost more Python than the database spends on it.
# The condition is the CheckConstraint's, re-checked by the database after any concurrent
# writer commits.
_HOLD_SQL = (
    'UPDATE "inventory_stocklevel" SET "reserved" = "reserved" + %s, "updated_at" = %s'
    ' WHERE "variant_id" = %s AND "location_id" = %s'
    ' AND "on_hand" >= "reserved" + "safety_stock" + %s'
)


def hold_units(variant_id: int, location_id: int, quantity: int) -> bool:
    """Add `quantity` to reserved where enough is available; True if it was. The caller
    marks the stock changed (it reads the channels to push before the row is locked)."""
    with connection.cursor() as cursor:
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        cursor.execute(_HOLD_SQL, [quantity, now, variant_id, location_id, quantity])
        return cursor.rowcount == 1


def release_units(variant_id: int, location_id: int, quantity: int) -> None:
    """Take `quantity` off reserved (they are free again) and mark the figures to push."""
    StockLevel.objects.filter(variant_id=variant_id, location_id=location_id).update(
        reserved=F("reserved") - quantity, updated_at=timezone.now()
    )
    sync.note_stock_changed([(variant_id, location_id)])
