"""What names one person in stored text, for an erasure to find copies of her data in rows
that do not point at her (stored API answers, webhook payloads, address lists).

`PersonTraces` is built by the customers app (which knows her) and handed to core's and the
other apps' forgetters; core knows no customer.
"""

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

ERASED = "[erased]"
# Shorter strings ("Al", "42") would match inside unrelated words and numbers.
MIN_LENGTH = 3


def _clean(values: Iterable[str]) -> frozenset[str]:
    return frozenset(
        value.strip() for value in values if value and len(value.strip()) >= MIN_LENGTH
    )


def _pattern(values: frozenset[str]) -> re.Pattern | None:
    if not values:
        return None
    # Longest first, so "+98 912 555" is not half-matched by a shorter value inside it;
    # a value only counts as a whole token ("Ana" is not found in "Banana").
    # JSON written with ASCII escapes spells "Zoë" as "Zo\u00eb": both forms count.
    spellings = values | {json.dumps(value)[1:-1] for value in values}
    alternatives = "|".join(re.escape(value) for value in sorted(spellings, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


@dataclass(frozen=True)
class PersonTraces:
    """`ids`: our public ids of her profiles (they show a text is about her but are not
    personal data themselves); `identifiers`: addresses, phone numbers and partner ids, each
    of which names her on its own; `names`: her names, which name her only in a text that is
    about her (another Sara is not her)."""

    ids: frozenset[str] = frozenset()
    identifiers: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()
    _about: re.Pattern | None = field(init=False, repr=False, compare=False, default=None)
    _personal: re.Pattern | None = field(init=False, repr=False, compare=False, default=None)

    @classmethod
    def of(cls, *, ids=(), identifiers=(), names=()) -> "PersonTraces":
        return cls(_clean(map(str, ids)), _clean(identifiers), _clean(names))

    def __post_init__(self):
        object.__setattr__(self, "_about", _pattern(self.ids | self.identifiers))
        object.__setattr__(self, "_personal", _pattern(self.identifiers | self.names))

    def search_terms(self) -> list[str]:
        """Strings a database pre-filter looks for (a superset of what `is_about` accepts):
        each id and identifier as stored, in lower case and as JSON writes it with ASCII
        escapes."""
        terms = set()
        for value in self.ids | self.identifiers:
            terms.update({value, value.lower(), json.dumps(value)[1:-1]})
        return sorted(terms)

    def is_about(self, text: str) -> bool:
        """Whether `text` names her by one of her ids or identifiers."""
        return bool(text) and self._about is not None and bool(self._about.search(text))

    def is_personal(self, text: str) -> bool:
        """Whether `text` holds one of her identifiers or names."""
        return bool(text) and self._personal is not None and bool(self._personal.search(text))

    def redact(self, value):
        """`value` (JSON-like) with every string that holds her identifiers or names replaced
        by ERASED; returns `(value, changed)`."""
        if isinstance(value, str):
            return (ERASED, True) if self.is_personal(value) else (value, False)
        if isinstance(value, dict):
            changed = False
            result = {}
            for key, item in value.items():
                result[key], item_changed = self.redact(item)
                changed = changed or item_changed
            return result, changed
        if isinstance(value, list):
            pairs = [self.redact(item) for item in value]
            return [item for item, _ in pairs], any(changed for _, changed in pairs)
        return value, False
