"""Gregorian month names as a page in Persian must not show them (issue #17): English names and
Django's Persian transliterations (دسامبر, ژانویه...)."""

import re

from django.utils import dates, translation

ENGLISH = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]  # fmt: skip


def gregorian_month_names() -> set[str]:
    names = set(ENGLISH)
    with translation.override("fa"):
        for table in (dates.MONTHS, dates.MONTHS_ALT, dates.MONTHS_AP):
            names.update(str(name) for name in table.values())
    return names


def gregorian_months_in(text: str) -> list[str]:
    """The Gregorian month names that stand as whole words in `text`."""
    pattern = re.compile(
        r"(?<!\w)(" + "|".join(map(re.escape, sorted(gregorian_month_names()))) + r")(?!\w)"
    )
    return sorted(set(pattern.findall(text)))
