"""Reading identity input and traits into normalised form, shared by every write service."""

from collections.abc import Iterable, Mapping

from django.db.models import Q
from django.utils import timezone

from core.models import Channel, ChannelKind
from core.selectors import channels_by_name
from customers.errors import InvalidEvent, InvalidIdentity
from customers.models import Identity
from customers.normalise import IdentityKey, normalise_identity

PROFILE_TRAITS = {"first_name": 100, "last_name": 100, "locale": 20, "preferred_channel": 20}
# Where she lives, in degrees (name -> largest absolute value): profile fields, not traits.
GEO_TRAITS = {"latitude": 90, "longitude": 180}
MAX_EXTRA_TRAITS = 50


def identity_keys(identities, *, field="identities") -> dict[IdentityKey, bool]:
    """Any identity input -> {IdentityKey: is_verified}, in a stable order.

    Accepts IdentityKey, dicts or structs with kind/value/partner/verified, or (kind, value)
    pairs. Raises InvalidIdentity naming `identities.<i>.<field>`."""
    keys: dict[IdentityKey, bool] = {}
    items = list(identities or [])
    if not items:
        raise InvalidIdentity(
            "Name the customer by at least one identity.", fields={field: ["Required."]}
        )
    for index, item in enumerate(items):
        name = f"{field}.{index}"
        verified = False
        if isinstance(item, IdentityKey):
            key = item
        elif isinstance(item, tuple):
            key = normalise_identity(item[0], item[1], item[2] if len(item) > 2 else "", field=name)
        elif isinstance(item, Mapping):
            key = normalise_identity(
                item.get("kind"), item.get("value"), item.get("partner", ""), field=name
            )
            verified = bool(item.get("verified", False))
        else:
            key = normalise_identity(
                item.kind, item.value, getattr(item, "partner", ""), field=name
            )
            verified = bool(getattr(item, "verified", False))
        keys[key] = keys.get(key, False) or verified
    return dict(sorted(keys.items()))


def identities_matching(keys: Iterable[IdentityKey]):
    """Identity rows for these keys, in one query (one OR branch per kind and partner)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for key in keys:
        groups.setdefault((key.kind, key.partner), []).append(key.value)
    if not groups:
        return Identity.objects.none()
    condition = Q()
    for (kind, partner), values in groups.items():
        condition |= Q(kind=kind, partner=partner, value__in=values)
    return Identity.objects.filter(condition)


def key_of(identity: Identity) -> IdentityKey:
    return IdentityKey(identity.kind, identity.value, identity.partner)


def clean_traits(traits: Mapping | None) -> dict:
    """Validate identify traits; profile fields are checked, others kept as given."""
    if traits is None:
        return {}
    if not isinstance(traits, Mapping):
        raise InvalidIdentity("Traits are an object.", fields={"traits": ["Must be an object."]})
    cleaned = {}
    for name, value in traits.items():
        if name in GEO_TRAITS:
            if value is None:
                continue
            limit = GEO_TRAITS[name]
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not -limit <= value <= limit
            ):
                raise InvalidIdentity(
                    f"Invalid trait {name}.",
                    fields={f"traits.{name}": [f"A number of degrees from -{limit} to {limit}."]},
                )
            cleaned[name] = float(value)
            continue
        if name in PROFILE_TRAITS:
            if value is None:
                continue
            if not isinstance(value, str) or len(value) > PROFILE_TRAITS[name]:
                raise InvalidIdentity(
                    f"Invalid trait {name}.",
                    fields={
                        f"traits.{name}": [
                            f"A string of at most {PROFILE_TRAITS[name]} characters."
                        ]
                    },
                )
            value = value.strip()
            if name == "preferred_channel" and value and value not in ChannelKind.values:
                raise InvalidIdentity(
                    "Unknown channel kind.",
                    fields={
                        "traits.preferred_channel": [f"One of: {', '.join(ChannelKind.values)}."]
                    },
                )
        cleaned[name] = value
    if len(cleaned) > MAX_EXTRA_TRAITS + len(PROFILE_TRAITS) + len(GEO_TRAITS):
        raise InvalidIdentity("Too many traits.", fields={"traits": ["At most 50 custom traits."]})
    return cleaned


def apply_traits(customer, traits: dict) -> set[str]:
    """Set the given traits on the profile (latest identify wins); returns changed fields."""
    changed: set[str] = set()
    if not traits:
        return changed
    extra = dict(customer.traits or {})
    for name, value in traits.items():
        if name in GEO_TRAITS:
            if getattr(customer, name) != value:
                setattr(customer, name, value)
                changed.add(name)
            continue
        if name in PROFILE_TRAITS:
            if value and getattr(customer, name) != value:
                setattr(customer, name, value)
                changed.add(name)
        elif extra.get(name) != value:
            extra[name] = value
            changed.add("traits")
    if "traits" in changed:
        customer.traits = extra
    return changed


class ChannelLookup:
    """Finds a channel named by code, kind or name (core's channel index, read once per
    lookup object)."""

    def __init__(self, default=None):
        self.default = default
        self._channels = None

    def load(self):
        if self._channels is None:
            self._channels = channels_by_name()
        return self._channels

    def __call__(self, name, *, field="channel"):
        if name in (None, ""):
            return self.default
        if isinstance(name, Channel):
            return name
        channel = self.load().get(str(name).strip().lower())
        if channel is None:
            raise InvalidEvent(
                f"No channel {name!r}.",
                fields={field: ["Unknown channel: give a channel code, kind or name."]},
            )
        return channel


def mark_unreachable(customer_id: int, kinds, value: str, reason: str) -> int:
    """A provider said this address of the customer can never be reached (blocked the bot,
    not on WhatsApp): her identities of `kinds` with that value are marked, once, so no
    message goes to them again. Returns how many were marked."""
    return Identity.objects.filter(
        customer_id=customer_id, kind__in=list(kinds), value=value, unreachable_at__isnull=True
    ).update(unreachable_at=timezone.now(), unreachable_reason=reason[:255])
