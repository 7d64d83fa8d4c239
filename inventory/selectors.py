"""Reads of stock that more than one door uses: available to promise per channel (one SKU or
thousands), stock by location, the store locator, allocation order, and "why is this 0?".

Other apps call `available_to_promise(variants, channel)`, `stores_nearby(...)` and
`why_unavailable(variant, channel)`; the catalog's feeds get ATP through
`units_for_channel`, registered as its availability provider.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, F, IntegerField, Prefetch, Q, Sum, Value
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.selectors import listed_pairs, listed_variant_listings, variants_with_skus_sql
from core.l10n import format_date, format_number
from core.sql import one_of
from inventory.models import (
    AllocationStrategy,
    ChannelStockRule,
    Location,
    LocationKind,
    MovementReason,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockMovement,
    Transfer,
    TransferLine,
    TransferStatus,
)

EARTH_RADIUS_KM = 6371.0088
AVAILABLE = Greatest(
    F("on_hand") - F("reserved") - F("safety_stock"), Value(0), output_field=IntegerField()
)


def rule_for(channel) -> ChannelStockRule:
    """The channel's stock rule, or the default (priority order, 100%, no transfers)."""
    rule = ChannelStockRule.objects.filter(channel=channel).first()
    return rule or ChannelStockRule(channel=channel)


# Read on every order line and recommendation: written out, the same rule as
# LocationQuerySet.serving() (tests/inventory/test_serving_locations.py holds them together).
_SERVING_SQL = """
SELECT l.id FROM inventory_location l
JOIN inventory_location_channels lc ON lc.location_id = l.id AND lc.channel_id = %s
WHERE l.is_active AND (%s OR l.serves_online)
ORDER BY l.id
"""


def serving_location_ids(channel) -> list[int]:
    """Ids of the locations whose stock counts for `channel` (LocationQuerySet.serving)."""
    with connection.cursor() as cursor:
        cursor.execute(_SERVING_SQL, [channel.pk, channel.kind == "store"])
        return [row[0] for row in cursor.fetchall()]


def apply_buffer(units: int, percent: int) -> int:
    return units * percent // 100


# The hot read of every product page, feed and partner look-up: one statement, written out
# so no ORM query is built per call. Portable (PostgreSQL and SQLite). A location counts
# for a channel when it is active, linked to it and, unless the channel is the stores' own,
# serves online orders: the same rule as LocationQuerySet.serving().
_ATP_SQL = """
SELECT sl.variant_id,
       SUM(CASE WHEN sl.on_hand - sl.reserved - sl.safety_stock > 0
                THEN sl.on_hand - sl.reserved - sl.safety_stock ELSE 0 END),
       (SELECT r.buffer_percent FROM inventory_channelstockrule r WHERE r.channel_id = %s)
FROM inventory_stocklevel sl
JOIN inventory_location l ON l.id = sl.location_id
JOIN inventory_location_channels lc ON lc.location_id = sl.location_id
WHERE lc.channel_id = %s AND l.is_active AND (%s OR l.serves_online)
  AND {variants}
GROUP BY sl.variant_id
"""


def available_to_promise(variants, channel) -> dict[int, int]:
    """{variant_id: units} a channel may promise: the sum over the locations serving it of
    max(0, on hand - reserved - safety stock), times the channel's share (buffer). Takes one
    variant, ids or variants; one query whatever the number."""
    ids = _ids(variants)
    if not ids:
        return {}
    totals = dict.fromkeys(ids, 0)
    variants, variant_params = one_of("sl.variant_id", ids)
    with connection.cursor() as cursor:
        cursor.execute(
            _ATP_SQL.format(variants=variants),
            [channel.pk, channel.pk, channel.kind == "store", *variant_params],
        )
        for variant_id, units, share in cursor.fetchall():
            totals[variant_id] = apply_buffer(int(units or 0), 100 if share is None else share)
    return totals


_ATP_BY_SKU_SQL = """
SELECT v.sku, v.id,
       COALESCE(SUM(CASE WHEN sl.on_hand - sl.reserved - sl.safety_stock > 0
                         THEN sl.on_hand - sl.reserved - sl.safety_stock ELSE 0 END), 0),
       (SELECT r.buffer_percent FROM inventory_channelstockrule r WHERE r.channel_id = %s)
FROM ({variants}) v
LEFT JOIN (
    inventory_stocklevel sl
    JOIN inventory_location l ON l.id = sl.location_id AND l.is_active
                              AND (%s OR l.serves_online)
    JOIN inventory_location_channels lc ON lc.location_id = sl.location_id
                                        AND lc.channel_id = %s
) ON sl.variant_id = v.id
GROUP BY v.sku, v.id
"""


def available_to_promise_by_sku(skus, channel) -> tuple[dict[str, int], list[str]]:
    """({sku: units}, [unknown SKUs]) for the partner look-ups: the SKUs are resolved in the
    same statement as the stock (the catalog's query for them is its subquery)."""
    wanted = list(dict.fromkeys(skus))
    if not wanted:
        return {}, []
    variants, variant_params = variants_with_skus_sql(wanted)
    sql = _ATP_BY_SKU_SQL.format(variants=variants)
    units = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [channel.pk, *variant_params, channel.kind == "store", channel.pk])
        for sku, _variant_id, total, share in cursor.fetchall():
            units[sku] = apply_buffer(int(total or 0), 100 if share is None else share)
    return units, [sku for sku in wanted if sku not in units]


def units_for_channel(variants, channel) -> dict[int, int]:
    """The catalog's availability provider: feeds and pages show real stock."""
    return available_to_promise(variants, channel)


def _ids(variants) -> list[int]:
    if variants is None:
        return []
    if isinstance(variants, int) or hasattr(variants, "pk"):
        variants = [variants]
    return [v if isinstance(v, int) else v.pk for v in variants]


def levels_for(variant, *, location_ids=None):
    qs = StockLevel.objects.filter(variant=variant).select_related("location")
    if location_ids is not None:
        qs = qs.filter(location_id__in=location_ids)
    return qs


def available_at(variant_id: int, location_id: int) -> int:
    """Units of a variant on hand and not reserved at one location (0 when it keeps none):
    what a store can hand over the counter now."""
    level = (
        StockLevel.objects.filter(variant_id=variant_id, location_id=location_id)
        .values_list("on_hand", "reserved")
        .first()
    )
    return max(level[0] - level[1], 0) if level else 0


def stock_by_location(variants: Iterable) -> dict[int, list[StockLevel]]:
    """{variant_id: [StockLevel with .location]} for the product page (one query)."""
    result: dict[int, list[StockLevel]] = {}
    for level in (
        StockLevel.objects.filter(variant__in=list(variants))
        .select_related("location")
        .order_by("location__priority", "location__code")
    ):
        result.setdefault(level.variant_id, []).append(level)
    return result


def haversine_km(lat1, lng1, lat2, lng2) -> float:
    lat1, lng1, lat2, lng2 = map(math.radians, map(float, (lat1, lng1, lat2, lng2)))
    a = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


@dataclass
class NearbyStore:
    location: Location
    distance_km: float
    units: int


def stores_nearby(variant, lat, lng, *, limit=10, max_km=None, channel=None) -> list[NearbyStore]:
    """Stores that allow pickup and have `variant` available, nearest first, with distance
    and available units. With a channel, only stores serving that channel. There are few
    stores (tens to hundreds), so distances are computed here over one query's rows."""
    levels = (
        StockLevel.objects.filter(
            variant=variant,
            location__is_active=True,
            location__kind=LocationKind.STORE,
            location__allows_pickup=True,
            location__latitude__isnull=False,
            location__longitude__isnull=False,
        )
        .annotate(units=AVAILABLE)
        .filter(units__gt=0)
        .select_related("location")
    )
    if channel is not None:
        levels = levels.filter(location__channels=channel)
    found = []
    for level in levels:
        loc = level.location
        distance = haversine_km(lat, lng, loc.latitude, loc.longitude)
        if max_km is not None and distance > max_km:
            continue
        found.append(NearbyStore(loc, round(distance, 2), level.units))
    found.sort(key=lambda s: (s.distance_km, s.location.code))
    return found[:limit]


def allocation_order(variant, channel, *, lat=None, lng=None, exclude=()) -> list[tuple]:
    """[(Location, available units)] in the order the channel's rule allocates from: by
    location priority, nearest to (lat, lng), or most stock first. Only locations serving
    the channel; stores only when they ship from store (a store's shelf is for its own
    customers and pickups unless it ships). Never random."""
    rule = rule_for(channel)
    locations = [
        loc
        for loc in Location.objects.serving(channel).exclude(pk__in=list(exclude))
        if loc.kind != LocationKind.STORE or loc.ships_from_store or channel.kind == "store"
    ]
    return order_locations(variant, locations, rule.strategy, lat=lat, lng=lng)


def order_locations(variant, locations, strategy, *, lat=None, lng=None) -> list[tuple]:
    units = dict(
        StockLevel.objects.filter(variant=variant, location__in=locations)
        .annotate(units=AVAILABLE)
        .values_list("location_id", "units")
    )
    rows = [(loc, units.get(loc.pk, 0)) for loc in locations]

    def by_priority(row):
        return (row[0].priority, row[0].code)

    if strategy == AllocationStrategy.NEAREST and lat is not None and lng is not None:

        def by_distance(row):
            loc = row[0]
            if not loc.has_coordinates:
                return (float("inf"), *by_priority(row))
            return (haversine_km(lat, lng, loc.latitude, loc.longitude), *by_priority(row))

        rows.sort(key=by_distance)
    elif strategy == AllocationStrategy.MOST_STOCK:
        rows.sort(key=lambda row: (-row[1], *by_priority(row)))
    else:
        rows.sort(key=by_priority)
    return rows


@dataclass
class Reason:
    code: str
    message: str


def why_unavailable(variant, channel) -> dict:
    """Why `variant` shows the figure it shows on `channel`: the units, a list of reasons
    when that is 0, and each location's part, including locations that hold stock but do
    not count for the channel and why."""
    return why_unavailable_many([variant], channel)[variant.pk]


def why_unavailable_many(variants, channel, *, levels=None) -> dict[int, dict]:
    """`why_unavailable` for many variants of one channel in a fixed number of queries.
    `levels` ({variant_id: [StockLevel with .location]}) may be passed when already read."""
    variants = list(variants)
    rule = rule_for(channel)
    serving = set(serving_location_ids(channel))
    linked_ids = set(
        Location.objects.filter(channels=channel, is_active=True).values_list("id", flat=True)
    )
    listed = set(
        listed_variant_listings(channel)
        .filter(variant__in=variants)
        .values_list("variant_id", flat=True)
    )
    units_of = available_to_promise(variants, channel)
    if levels is None:
        levels = stock_by_location(variants)
    transit = in_transit(variants)
    return {
        variant.pk: _explain(
            variant,
            rule,
            serving,
            linked_ids,
            variant.pk in listed,
            units_of.get(variant.pk, 0),
            levels.get(variant.pk, []),
            transit.get(variant.pk, []),
        )
        for variant in variants
    }


def stock_overview(variants, channels) -> dict:
    """For a product page: {channel_id: {variant_id: why_unavailable answer}} for many
    variants and channels in five queries, whatever their numbers. Same rules as
    `available_to_promise` and `why_unavailable`, computed over the levels read once."""
    variants, channels = list(variants), list(channels)
    levels = stock_by_location(variants)
    links = defaultdict(set)
    for location_id, channel_id in (
        Location.channels.through.objects.filter(channel__in=channels)
        .values_list("location_id", "channel_id")
        .order_by()
    ):
        links[channel_id].add(location_id)
    flags = {
        pk: (is_active, serves_online)
        for pk, is_active, serves_online in Location.objects.values_list(
            "pk", "is_active", "serves_online"
        )
    }
    rules = {
        rule.channel_id: rule for rule in ChannelStockRule.objects.filter(channel__in=channels)
    }
    listed = listed_pairs(variants, channels)
    transit = in_transit(variants)
    result = {}
    for channel in channels:
        rule = rules.get(channel.pk) or ChannelStockRule(channel=channel)
        linked_ids = {pk for pk in links[channel.pk] if flags.get(pk, (False,))[0]}
        serving = {pk for pk in linked_ids if channel.kind == "store" or flags[pk][1]}
        answers = {}
        for variant in variants:
            rows = levels.get(variant.pk, [])
            total = sum(level.available for level in rows if level.location_id in serving)
            answers[variant.pk] = _explain(
                variant,
                rule,
                serving,
                linked_ids,
                (variant.pk, channel.pk) in listed,
                apply_buffer(total, rule.buffer_percent),
                rows,
                transit.get(variant.pk, []),
            )
        result[channel.pk] = answers
    return {"levels": levels, "channels": result}


def _explain(variant, rule, serving, linked_ids, is_listed, units, levels, transit=()) -> dict:
    rows = []
    for level in levels:
        loc = level.location
        if loc.pk in serving:
            why_not = ""
        elif not loc.is_active:
            why_not = _("location inactive")
        elif loc.pk not in linked_ids:
            why_not = _("not linked to this channel")
        else:
            why_not = _("does not serve online orders")
        rows.append(
            {
                "location": loc,
                "counts": loc.pk in serving,
                "why_not": why_not,
                "on_hand": level.on_hand,
                "reserved": level.reserved,
                "safety_stock": level.safety_stock,
                "available": level.available,
            }
        )
    reasons: list[Reason] = []
    if not variant.is_active or not variant.product.is_active:
        reasons.append(Reason("inactive", _("The variant or its product is inactive.")))
    if not is_listed:
        reasons.append(Reason("not_listed", _("The variant is not on sale on this channel.")))
    if not linked_ids:
        reasons.append(
            Reason("no_location", _("No location is linked to this channel: link locations to it."))
        )
    elif not serving:
        reasons.append(
            Reason(
                "no_location_serves_online",
                _("Locations are linked to this channel but none serves online orders."),
            )
        )
    counted = [r for r in rows if r["counts"]]
    elsewhere = sum(max(r["on_hand"], 0) for r in rows if not r["counts"])
    on_hand = sum(max(r["on_hand"], 0) for r in counted)
    reserved = sum(r["reserved"] for r in counted)
    safety = sum(r["safety_stock"] for r in counted)
    available = sum(r["available"] for r in counted)
    if serving and on_hand <= 0:
        reasons.append(Reason("no_stock", _("No unit on hand at the locations serving it.")))
    if on_hand > 0 and reserved >= on_hand:
        reasons.append(Reason("all_reserved", _("Every unit on hand is reserved.")))
    elif on_hand > 0 and available == 0 and safety:
        reasons.append(
            Reason("safety_stock", _("What is not reserved is held back as safety stock."))
        )
    if available > 0 and units == 0:
        reasons.append(
            Reason(
                "buffer",
                _("The channel offers only %(percent)s%% of the available units.")
                % {"percent": format_number(rule.buffer_percent)},
            )
        )
    if elsewhere and units == 0:
        reasons.append(
            Reason(
                "stock_elsewhere",
                _("%(units)s units are at locations that do not count for this channel.")
                % {"units": format_number(elsewhere)},
            )
        )
    if units == 0:
        for row in transit:
            reasons.append(
                Reason(
                    "in_transit",
                    _("%(units)s units in transit to %(location)s, arriving %(date)s.")
                    % {
                        "units": format_number(row["units"]),
                        "location": row["location"].display_name,
                        "date": format_date(timezone.localtime(row["expected_at"]).date(), "j F")
                        if row["expected_at"]
                        else _("soon"),
                    },
                )
            )
    return {
        "units": units,
        "buffer_percent": rule.buffer_percent,
        "reasons": reasons,
        "locations": rows,
        "in_transit": [
            {
                "location": row["location"].code,
                "units": row["units"],
                "expected_at": row["expected_at"],
            }
            for row in transit
        ],
    }


def totals_by_location() -> dict[int, tuple[int, int]]:
    """{location_id: (SKUs held, units on hand)} in one grouped query."""
    return {
        location_id: (skus, units or 0)
        for location_id, skus, units in StockLevel.objects.filter(on_hand__gt=0)
        .values("location_id")
        .annotate(skus=Count("id"), units=Sum("on_hand"))
        .values_list("location_id", "skus", "units")
        .order_by()
    }


def low_stock(*, limit=20):
    """Levels at or under their threshold (available units), lowest first."""
    return (
        StockLevel.objects.filter(low_stock_threshold__isnull=False)
        .annotate(units=AVAILABLE)
        .filter(units__lte=F("low_stock_threshold"))
        .select_related("variant", "variant__product", "location")
        .order_by("units", "location__code", "variant__sku")[:limit]
    )


def low_stock_count() -> int:
    return (
        StockLevel.objects.filter(low_stock_threshold__isnull=False)
        .annotate(units=AVAILABLE)
        .filter(units__lte=F("low_stock_threshold"))
        .count()
    )


def _narrowed(queryset, **lookups):
    """`queryset` filtered by each lookup whose value was given (None or "": not asked; a
    queryset value is never evaluated here)."""
    given = {
        lookup: value for lookup, value in lookups.items() if value is not None and value != ""
    }
    return queryset.filter(**given) if given else queryset


def ledger(*, location=None, variant=None, reason=None, sku=None, since=None, until=None):
    return _narrowed(
        StockMovement.objects.select_related("variant", "location", "channel"),
        location=location,
        variant=variant,
        variant__sku=sku,
        reason=reason,
        occurred_at__gte=since,
        occurred_at__lt=until,
    ).order_by("-occurred_at", "-id")


def open_transfers():
    return (
        Transfer.objects.filter(status__in=[TransferStatus.REQUESTED, TransferStatus.IN_TRANSIT])
        .select_related("from_location", "to_location")
        .prefetch_related(_lines_prefetch())
        .order_by("created_at")
    )


def _lines_prefetch():
    return Prefetch(
        "lines",
        queryset=TransferLine.objects.select_related("variant", "variant__product").order_by(
            "variant__sku"
        ),
    )


def transfers(*, status=None, from_location=None, to_location=None, sku=None):
    """Transfers with their lines, newest first, filtered by status, source and destination
    codes and a SKU on one of their lines."""
    return _narrowed(
        Transfer.objects.select_related("from_location", "to_location").prefetch_related(
            _lines_prefetch()
        ),
        status=status,
        from_location__code=from_location,
        to_location__code=to_location,
        pk__in=TransferLine.objects.filter(variant__sku=sku).values("transfer_id") if sku else None,
    ).order_by("-created_at", "-id")


def transfer_detail(pk):
    return transfers().filter(pk=pk).first()


def in_transit(variants) -> dict[int, list[dict]]:
    """{variant_id: [{"location", "units", "expected_at"}]}: units shipped and not yet
    received, per destination (one query). They count nowhere until they arrive."""
    found: dict[int, list[dict]] = defaultdict(list)
    lines = (
        TransferLine.objects.filter(
            variant__in=list(variants),
            transfer__status=TransferStatus.IN_TRANSIT,
            shipped__gt=F("received") + F("damaged"),
        )
        .select_related("transfer__to_location")
        .order_by("transfer__expected_at", "id")
    )
    for line in lines:
        found[line.variant_id].append(
            {
                "location": line.transfer.to_location,
                "units": line.outstanding,
                "expected_at": line.transfer.expected_at,
            }
        )
    return found


def active_reservations_due(at=None):
    return Reservation.objects.filter(
        status=ReservationStatus.ACTIVE, expires_at__lte=at or timezone.now()
    )


def counts_recorded(location=None):
    return _narrowed(
        StockMovement.objects.filter(reason=MovementReason.COUNT, counted_quantity__isnull=False),
        location=location,
    )


def location_by_code(code):
    return Location.objects.filter(code=code).first()


def active_location(location) -> Location | None:
    """`location` itself when it is a Location, else the active location whose code it is;
    None when it names none (or is empty). Every door that takes a location code finds it
    here."""
    if isinstance(location, Location):
        return location
    if not location:
        return None
    return Location.objects.filter(code=str(location), is_active=True).first()


# The channels pushing stock that count a location: linked to it, active, their stock rule
# pushing. Read before a hot row is locked (sync.sync_channels_for, reservation_subjects).
SYNC_LINKS_SQL = """
    inventory_location_channels sync
    JOIN core_channel sync_channel ON sync_channel.id = sync.channel_id
                                   AND sync_channel.is_active
    JOIN inventory_channelstockrule sync_rule ON sync_rule.channel_id = sync.channel_id
                                              AND sync_rule.sync_enabled
"""


class _Columns:
    """One model's columns in a hand-written SELECT, and the instance built back from them
    as the ORM builds it (the backend's and the fields' converters, then `from_db`). The
    columns come from the model, so a new field is read here as everywhere else."""

    def __init__(self, model, alias):
        self.model = model
        self.fields = model._meta.concrete_fields
        self.sql = ", ".join(f'{alias}."{field.column}"' for field in self.fields)
        self.attnames = [field.attname for field in self.fields]
        self.alias = alias
        self._converters = {}

    def __len__(self):
        return len(self.fields)

    def build(self, values):
        if values[0] is None:  # the primary key: the LEFT JOIN found nothing
            return None
        converters = self._converters.get(connection.vendor)
        if converters is None:
            converters = []
            for index, field in enumerate(self.fields):
                column = field.get_col(self.alias)
                found = connection.ops.get_db_converters(column) + column.get_db_converters(
                    connection
                )
                if found:
                    converters.append((index, column, found))
            self._converters[connection.vendor] = converters
        values = list(values)
        for index, column, found in converters:
            for convert in found:
                values[index] = convert(values[index], column, connection)
        return self.model.from_db(connection.alias, self.attnames, values)


@dataclass(frozen=True)
class ReservationSubjects:
    """What a reservation names, found: None for what was not given or names nothing."""

    variant: object
    channel: object
    location: Location | None
    pickup: Location | None
    # The channels pushing stock that count `location` (else `pickup`).
    sync_channel_ids: frozenset


_VARIANT_MODEL = Reservation._meta.get_field("variant").related_model
_CHANNEL_MODEL = Reservation._meta.get_field("channel").related_model
_SUBJECT_COLUMNS = (
    _Columns(_VARIANT_MODEL, "v"),
    _Columns(_CHANNEL_MODEL, "c"),
    _Columns(Location, "l"),
    _Columns(Location, "pl"),
)
# One row (or one a syncing channel) whatever was found: the LEFT JOINs of what was not
# given match nothing. SKU and codes are unique, so each join finds at most one row.
_SUBJECTS_SQL = """SELECT {columns}, sync.channel_id
FROM (SELECT 1 AS one) request
LEFT JOIN {variants} v ON v.sku = %s
LEFT JOIN {channels} c ON c.code = %s
LEFT JOIN inventory_location l ON l.code = %s AND l.is_active
LEFT JOIN inventory_location pl ON pl.code = %s AND pl.is_active
LEFT JOIN ({sync_links}) ON sync.location_id = COALESCE(%s, l.id, %s, pl.id)
""".format(
    columns=", ".join(columns.sql for columns in _SUBJECT_COLUMNS),
    variants=_VARIANT_MODEL._meta.db_table,
    channels=_CHANNEL_MODEL._meta.db_table,
    sync_links=SYNC_LINKS_SQL,
)


def reservation_subjects(
    *, sku=None, variant=None, channel=None, location=None, pickup=None
) -> ReservationSubjects:
    """The variant (by `sku`, unless `variant` is given), the channel, the active location
    and pickup location (each given itself or by its code), and the channels pushing stock
    that count the location (else the pickup location): what every reservation reads before
    it holds units, in one statement instead of four ORM queries (the hot path of a flash
    sale, issue 21). Found as `variant_by_sku`, `channel_for` and `active_location` find
    them; the variant's product is not read (nothing in a reservation needs it)."""
    given_location = location if isinstance(location, Location) else None
    given_pickup = pickup if isinstance(pickup, Location) else None
    given_channel = channel if isinstance(channel, _CHANNEL_MODEL) else None
    # None looks nothing up; "" names nothing, as in channel_for and active_location.
    channel_code = None if given_channel or channel is None or channel == "" else str(channel)
    params = [
        None if variant is not None else (sku or ""),
        channel_code,
        None if given_location or not location else str(location),
        None if given_pickup or not pickup else str(pickup),
        given_location.pk if given_location else None,
        given_pickup.pk if given_pickup else None,
    ]
    if all(param is None for param in params):  # all given as themselves, no location
        return ReservationSubjects(variant, given_channel, None, None, frozenset())
    with connection.cursor() as cursor:
        cursor.execute(_SUBJECTS_SQL, params)
        rows = cursor.fetchall()
    first, found, start = rows[0], [], 0
    for columns in _SUBJECT_COLUMNS:
        found.append(columns.build(first[start : start + len(columns)]))
        start += len(columns)
    found_variant, found_channel, found_location, found_pickup = found
    return ReservationSubjects(
        variant=variant if variant is not None else found_variant,
        channel=given_channel or found_channel,
        location=given_location or found_location,
        pickup=given_pickup or found_pickup,
        sync_channel_ids=frozenset(row[-1] for row in rows if row[-1] is not None),
    )


def active_locations():
    """The active locations by name (for a choice of store or location)."""
    return Location.objects.active().order_by("name")


def pair_q(pairs) -> Q:
    q = Q()
    for variant_id, location_id in pairs:
        q |= Q(variant_id=variant_id, location_id=location_id)
    return q


def transfers_with_places():
    """Transfers with their two locations, newest first: for another app's prefetch (an
    order line's pickup transfer)."""
    return Transfer.objects.select_related("from_location", "to_location").order_by("-id")


def split_plan(variant, channel, quantity, *, lat=None, lng=None) -> list[tuple]:
    """[(Location, units)] that together hold `quantity` units for `channel` when no single
    location does: the fewest locations (fewest shipments), then the channel rule's order
    (priority or nearest first); the parts listed in that order. [] when the locations
    serving the channel do not hold enough together. A read: the holds may still fail."""
    rows = [(loc, units) for loc, units in allocation_order(variant, channel, lat=lat, lng=lng)]
    rank = {loc.pk: index for index, (loc, _units) in enumerate(rows)}
    by_size = sorted((row for row in rows if row[1] > 0), key=lambda r: (-r[1], rank[r[0].pk]))
    chosen, remaining = [], quantity
    for loc, units in by_size:
        if remaining <= 0:
            break
        chosen.append((loc, min(units, remaining)))
        remaining -= units
    if remaining > 0:
        return []
    return sorted(chosen, key=lambda row: rank[row[0].pk])
