"""How many units of a variant a channel may sell, as the catalog's feeds and pages see it.

The catalog does not own stock. Until the inventory app registers its own provider, the
default one knows no stock: it reports one unit (in stock) for every variant that is listed
on the channel and 0 for the rest. Inventory replaces it from its AppConfig.ready():

    from catalog.availability import register_availability_provider
    register_availability_provider(inventory.selectors.units_for_channel)

A provider takes `(variants, channel)` (an iterable of ProductVariant and a core Channel)
and returns {variant_id: units}; a variant left out counts as 0.
"""

from collections.abc import Callable, Iterable

from catalog.selectors import live_variant_listings

UNITS_WHEN_UNCOUNTED = 1

_provider: Callable | None = None


def listed_provider(variants: Iterable, channel) -> dict[int, int]:
    """The default: in stock (1 unit) when on sale on the channel now, else 0. One query."""
    ids = [v.pk for v in variants]
    if not ids:
        return {}
    live = set(
        live_variant_listings()
        .filter(variant_id__in=ids, listing__channel=channel)
        .values_list("variant_id", flat=True)
    )
    return {pk: (UNITS_WHEN_UNCOUNTED if pk in live else 0) for pk in ids}


def register_availability_provider(func: Callable) -> None:
    """Make `func(variants, channel) -> {variant_id: units}` the source of availability."""
    global _provider
    _provider = func


def reset_availability_provider() -> None:
    """Back to the default provider (tests use this)."""
    global _provider
    _provider = None


def current_provider() -> Callable:
    return _provider or listed_provider


def availability_for(variants: Iterable, channel) -> dict[int, int]:
    """{variant_id: units} for `variants` on `channel`; every asked variant is a key."""
    variants = list(variants)
    units = current_provider()(variants, channel) or {}
    return {v.pk: max(int(units.get(v.pk, 0) or 0), 0) for v in variants}
