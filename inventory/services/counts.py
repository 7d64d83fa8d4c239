"""Stock counts entered by staff: the counted figures of a location at one moment, recorded
all together or not at all."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from catalog.selectors import variants_by_code
from inventory.errors import InvalidCount, InvalidMovement
from inventory.models import MovementReason
from inventory.services.movements import FUTURE_TOLERANCE, MovementInput, record_movements


@dataclass(frozen=True)
class CountLine:
    """One line of a count sheet: a SKU or barcode and the units counted (None when the
    line could not be read as a whole number), with its line number for the report."""

    code: str
    units: int | None
    number: int


def record_count(
    *, location, lines: list[CountLine], occurred_at=None, reference="", source=""
) -> list[dict]:
    """Record a count at `location` at `occurred_at` (default now). Each figure is the
    absolute stock at that moment; movements after it still apply on top.

    All or nothing: every line is checked first (a known SKU or barcode, whole units zero
    or more, each variant on one line only); if any is bad, InvalidCount lists every bad
    line (line number, code, reason) and nothing is recorded. InvalidMovement for a moment
    in the future. Returns [{"line", "sku", "counted", "result"}] in the sheet's order."""
    occurred_at = occurred_at or timezone.now()
    if occurred_at > timezone.now() + FUTURE_TOLERANCE:
        raise InvalidMovement(
            _("A count cannot be in the future."),
            fields={"occurred_at": [_("A count cannot be in the future.")]},
        )
    if not lines:
        raise InvalidCount(
            _("Enter at least one line."), fields={"lines": [_("Enter at least one line.")]}
        )
    variants = variants_by_code(line.code for line in lines)
    problems, seen = [], {}
    for line in lines:
        variant = variants.get(line.code.strip())
        reason = None
        if line.units is None or line.units < 0:
            reason = _("write the code and a whole number of units, zero or more.")
        elif variant is None:
            reason = _("no variant has this SKU or barcode.")
        elif variant.pk in seen:
            reason = _("%(sku)s is already counted on line %(line)s.") % {
                "sku": variant.sku,
                "line": seen[variant.pk],
            }
        else:
            seen[variant.pk] = line.number
        if reason:
            problems.append({"line": line.number, "code": line.code, "reason": reason})
    if problems:
        _refuse(problems)

    reference = reference or f"count {location.code} {occurred_at:%Y-%m-%d %H:%M}"
    batch = uuid.uuid4().hex[:12]
    skus = [variants[line.code.strip()].sku for line in lines]
    items = [
        MovementInput(
            sku=sku,
            location=location.code,
            reason=MovementReason.COUNT,
            counted_quantity=line.units,
            occurred_at=occurred_at,
            reference=reference,
            idempotency_key=f"count-{batch}-{sku}",
        )
        for sku, line in zip(skus, lines, strict=True)
    ]
    with transaction.atomic():
        results = record_movements(items, default_source=source or f"count:{location.code}")
        refused = [
            {"line": line.number, "code": line.code, "reason": result.message}
            for line, result in zip(lines, results, strict=True)
            if result.status == "refused"
        ]
        if refused:
            # Checked above; a variant deleted meanwhile still must not leave half a count.
            _refuse(refused)
    return [
        {"line": line.number, "sku": sku, "counted": line.units, "result": result}
        for line, sku, result in zip(lines, skus, results, strict=True)
    ]


def _refuse(problems: list[dict]):
    described = [_("Line %(line)s (%(code)s): %(reason)s") % problem for problem in problems]
    raise InvalidCount(
        ngettext(
            "Nothing was recorded: %(count)s line of the count needs fixing.",
            "Nothing was recorded: %(count)s lines of the count need fixing.",
            len(problems),
        )
        % {"count": len(problems)},
        fields={"lines": described},
        lines=problems,
    )
