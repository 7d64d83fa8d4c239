"""Durations as people say them: `18517` seconds reads "5 h 8 min", not "18517 s"."""

from django import template
from django.utils.translation import gettext as _

from core.l10n import format_number

register = template.Library()

UNITS = (
    (86400, lambda n: _("%(count)s d") % {"count": format_number(n)}),
    (3600, lambda n: _("%(count)s h") % {"count": format_number(n)}),
    (60, lambda n: _("%(count)s min") % {"count": format_number(n)}),
    (1, lambda n: _("%(count)s s") % {"count": format_number(n)}),
)


@register.filter
def duration(seconds, empty="—"):
    """Seconds (int, float, Decimal or timedelta) in the two largest units that are not zero:
    "45 s", "12 min 5 s", "5 h 8 min", "3 d 4 h", in the language's digits. None or not a number: `empty`."""
    if hasattr(seconds, "total_seconds"):
        seconds = seconds.total_seconds()
    try:
        remaining = round(float(seconds))
    except (TypeError, ValueError):
        return empty
    if remaining < 0:
        return empty
    parts = []
    for size, say in UNITS:
        count, remaining = divmod(remaining, size)
        if count or (size == 1 and not parts):
            parts.append(say(count))
        if len(parts) == 2:
            break
    return " ".join(parts)
