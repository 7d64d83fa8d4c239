"""A staff member's display preferences: the calendar and digits core.l10n shows them."""

from django.db import transaction

from core.models import StaffPreferences


def set_display_preferences(user, *, calendar: str, digits: str) -> StaffPreferences:
    """Save the user's choice (one row per user, created on first save)."""
    with transaction.atomic():
        preferences, _created = StaffPreferences.objects.update_or_create(
            user=user, defaults={"calendar": calendar, "digits": digits}
        )
    return preferences
