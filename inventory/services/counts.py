"""Stock counts entered by staff: the counted figures of a location at one moment."""

from __future__ import annotations

import uuid

from django.utils import timezone

from inventory.models import MovementReason
from inventory.services.movements import MovementInput, record_movements


def record_count(*, location, counted: dict[str, int], occurred_at=None, reference="", source=""):
    """Record a count at `location`: {sku: units counted} at `occurred_at` (default now).
    Each figure is the absolute stock at that moment; movements after it still apply on
    top. Returns the per-SKU results of `record_movements`."""
    occurred_at = occurred_at or timezone.now()
    reference = reference or f"count {location.code} {occurred_at:%Y-%m-%d %H:%M}"
    batch = uuid.uuid4().hex[:12]
    items = [
        MovementInput(
            sku=sku,
            location=location.code,
            reason=MovementReason.COUNT,
            counted_quantity=units,
            occurred_at=occurred_at,
            reference=reference,
            idempotency_key=f"count-{batch}-{sku}",
        )
        for sku, units in counted.items()
    ]
    return record_movements(items, default_source=source or f"count:{location.code}")
