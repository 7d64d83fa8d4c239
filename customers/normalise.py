"""How identity values are written down, so the same email or phone in any spelling is one
identity: emails lower-cased and trimmed, phones in E.164 (numbers without a country code are
read in settings.PHONE_DEFAULT_REGION), handles without their leading @.
"""

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from django.conf import settings

from core.l10n import normalise_digits
from customers.errors import InvalidIdentity
from customers.models import ANONYMOUS_KINDS, IdentityKind

KINDS = frozenset(IdentityKind.values)
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_VALUE_LENGTH = 255


@dataclass(frozen=True, order=True)
class IdentityKey:
    """A normalised identity: what the unique constraint of Identity compares."""

    kind: str
    value: str
    partner: str = ""

    @property
    def is_anonymous(self):
        return self.kind in ANONYMOUS_KINDS

    def __str__(self):
        return (
            f"{self.kind}:{self.partner}:{self.value}"
            if self.partner
            else f"{self.kind}:{self.value}"
        )


def normalise_email(raw: str) -> str:
    value = raw.strip().lower()
    if not EMAIL_RE.match(value):
        raise ValueError("Not an email address.")
    return value


def normalise_phone(raw: str, region: str | None = None) -> str:
    """`+98 912 123 4567`, `09121234567` (region IR) and `00989121234567` -> `+989121234567`;
    in Persian or Arabic-Indic digits too (۰۹۱۲۱۲۳۴۵۶۷)."""
    return _normalise_phone(normalise_digits(raw), region or settings.PHONE_DEFAULT_REGION)


@lru_cache(maxsize=65536)  # parsing costs ~30 µs; batches repeat the same numbers
def _normalise_phone(raw: str, region: str) -> str:
    text = raw.strip()
    if text.startswith("00"):
        # The international call prefix most of our market dials; phonenumbers only knows it
        # when the default region uses 00, so make it explicit.
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as error:
        raise ValueError("Not a phone number.") from error
    if not phonenumbers.is_possible_number(number):
        raise ValueError("Not a possible phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def forget_parsed_phones() -> None:
    """Erasure: drop this process's memo of parsed phone numbers (it keys them as typed)."""
    _normalise_phone.cache_clear()


def _handle(raw: str) -> str:
    value = raw.strip().lstrip("@").lower()
    if not value:
        raise ValueError("Empty handle.")
    return value


def _plain(raw: str) -> str:
    value = raw.strip()
    if not value:
        raise ValueError("Empty value.")
    return value


def _card(raw: str) -> str:
    value = re.sub(r"[\s-]", "", raw).upper()
    if not value:
        raise ValueError("Empty card number.")
    return value


def _whatsapp(raw: str) -> str:
    # WhatsApp ids are phone numbers; store them like phones so both spellings match.
    try:
        return normalise_phone(raw)
    except ValueError:
        return _plain(raw)


NORMALISERS = {
    IdentityKind.EMAIL: normalise_email,
    IdentityKind.PHONE: normalise_phone,
    IdentityKind.COOKIE: _plain,
    IdentityKind.DEVICE: _plain,
    IdentityKind.INSTAGRAM: _handle,
    IdentityKind.TELEGRAM: _handle,
    IdentityKind.WHATSAPP: _whatsapp,
    IdentityKind.MESSENGER: _plain,
    IdentityKind.LOYALTY_CARD: _card,
    IdentityKind.EXTERNAL_ID: _plain,
}


def normalise_identity(
    kind: str, value, partner: str | None = "", *, field="identity"
) -> IdentityKey:
    """Validate and normalise one identity; raises InvalidIdentity naming `field`."""
    if kind not in KINDS:
        raise InvalidIdentity(
            f"Unknown identity kind {kind!r}.",
            fields={f"{field}.kind": [f"Must be one of: {', '.join(sorted(KINDS))}."]},
        )
    if not isinstance(value, str):
        raise InvalidIdentity(
            "Identity values are strings.", fields={f"{field}.value": ["Must be a string."]}
        )
    try:
        normalised = NORMALISERS[kind](value)
    except ValueError as error:
        raise InvalidIdentity(
            f"Invalid {kind}: {error}", fields={f"{field}.value": [str(error)]}
        ) from None
    if len(normalised) > MAX_VALUE_LENGTH:
        raise InvalidIdentity(
            "Identity value too long.",
            fields={f"{field}.value": [f"At most {MAX_VALUE_LENGTH} characters."]},
        )
    partner = (partner or "").strip().lower()
    if kind == IdentityKind.EXTERNAL_ID and not partner:
        raise InvalidIdentity(
            "An external id names its partner.",
            fields={f"{field}.partner": ["Required for external_id."]},
        )
    if kind != IdentityKind.EXTERNAL_ID:
        partner = ""
    return IdentityKey(kind, normalised, partner)


def parse_identity_filter(text: str) -> IdentityKey:
    """`email:Sara@Example.com`, `phone:0912...`, `external_id:shopify:123` -> IdentityKey."""
    kind, sep, rest = text.partition(":")
    if not sep:
        raise InvalidIdentity(
            "Write the identity as kind:value.", fields={"identity": ["Expected kind:value."]}
        )
    partner = ""
    if kind == IdentityKind.EXTERNAL_ID:
        partner, sep, rest = rest.partition(":")
        if not sep:
            raise InvalidIdentity(
                "Write an external id as external_id:partner:value.",
                fields={"identity": ["Expected external_id:partner:value."]},
            )
    return normalise_identity(kind, rest, partner, field="identity")
