"""Reads of the customer record shared by the API, the staff pages and other apps."""

import json
import math
import uuid
from collections import defaultdict
from datetime import UTC, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import (
    Avg,
    Case,
    Count,
    DecimalField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Sum,
    TextField,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import ASin, Cast, Cos, Least, Power, Radians, Sin, Sqrt
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.l10n import normalise_digits
from core.sql import one_of
from customers.choices import ConsentPurpose, ConsentStatus
from customers.errors import CustomerNotFound, InvalidIdentity
from customers.models import (
    Consent,
    Customer,
    Event,
    Identity,
    IdentityKind,
    MergeCandidate,
    MergeCandidateStatus,
)
from customers.normalise import (
    KINDS,
    IdentityKey,
    normalise_email,
    normalise_phone,
    parse_identity_filter,
)

# Without a recorded decision: transactional messages may go, marketing needs an opt-in.
DEFAULT_CONSENT = {ConsentPurpose.TRANSACTIONAL: True, ConsentPurpose.MARKETING: False}


def customer_by_public_id(public_id) -> Customer:
    """The live customer for a public id; the id of a merged profile leads to its survivor.
    Raises CustomerNotFound."""
    try:
        public_id = uuid.UUID(str(public_id))
    except ValueError:
        raise CustomerNotFound("No customer with this id.") from None
    # Every partner call naming a customer reads her: a raw statement (the id is unique)
    # costs half of what building the ORM query does.
    stored = Customer._meta.get_field("public_id").get_db_prep_value(public_id, connection)
    customer = next(
        iter(
            Customer.objects.raw("SELECT * FROM customers_customer WHERE public_id = %s", [stored])
        ),
        None,
    )
    if customer is None:
        raise CustomerNotFound("No customer with this id.")
    while customer.merged_into_id:
        customer = Customer.objects.get(pk=customer.merged_into_id)
    return customer


def customer_for_identity(key: IdentityKey) -> Customer | None:
    identity = (
        Identity.objects.select_related("customer")
        .filter(kind=key.kind, value=key.value, partner=key.partner)
        .first()
    )
    return identity.customer if identity else None


def phones_of(customer_ids) -> dict[int, str]:
    """Each customer's phone number (E.164; a verified one first, then the oldest), by id;
    customers without one are left out."""
    phones = {}
    for customer_id, value in (
        Identity.objects.filter(customer_id__in=customer_ids, kind=IdentityKind.PHONE)
        .order_by("customer_id", "-is_verified", "created_at", "id")
        .values_list("customer_id", "value")
    ):
        phones.setdefault(customer_id, value)
    return phones


def customer_named_by(text: str) -> Customer:
    """The live customer a staff member means by `text`: a customer id, `kind:value` of any
    identity (`phone:0912 123 4567`, `instagram:@sara`), or an email or phone number in any
    spelling. Raises CustomerNotFound (InvalidIdentity for a malformed `kind:value`)."""
    text = (text or "").strip()
    try:
        uuid.UUID(text)
    except ValueError:
        pass
    else:
        return customer_by_public_id(text)
    kind, separator, _rest = text.partition(":")
    if separator and kind in KINDS:
        keys = [parse_identity_filter(text)]
    else:
        keys = []
        for kind, normalise in (("email", normalise_email), ("phone", normalise_phone)):
            try:
                keys.append(IdentityKey(kind, normalise(text)))
            except ValueError:
                continue
    for key in keys:
        customer = customer_for_identity(key)
        if customer is not None:
            return customer
    raise CustomerNotFound("No customer is known by this id, identity, email or phone.")


def customers_named(word: str):
    """Ids of customers whose first or last name contains `word` (any case), as a subquery
    for other apps' filters. On PostgreSQL the trigram indexes on the upper-cased names
    (migration 0003) answer it without reading every profile."""
    word = (word or "").strip()
    return Customer.objects.filter(
        Q(first_name__icontains=word) | Q(last_name__icontains=word)
    ).values("pk")


def customers_list():
    return Customer.objects.live().prefetch_related("identities").order_by("-id")


def search_customers(query: str):
    """Customers matching a name, an email, a phone in any format, or any identity value."""
    query = (query or "").strip()
    customers = customers_list()
    if not query:
        return customers
    # An identity typed in Persian or Arabic-Indic digits (a phone, an order number) is
    # stored in Latin ones.
    latin = normalise_digits(query)
    values = {query, query.lower(), query.lstrip("@").lower(), latin, latin.lower()}
    for normalise in (normalise_email, normalise_phone):
        try:
            values.add(normalise(query))
        except ValueError:
            pass
    condition = Q(identities__value__in=values)
    words = query.split()
    if words and "@" not in query:
        name = Q()
        for word in words[:5]:
            name &= Q(pk__in=customers_named(word))
        condition |= name
    matching = Customer.objects.filter(condition).values("pk")
    return customers.filter(pk__in=matching)


def timeline_for(customer: Customer, *, channel: str | None = None, name: str | None = None):
    """The customer's events, newest first; `channel` is a channel kind or code."""
    events = Event.objects.filter(customer=customer).select_related("channel")
    if channel:
        events = events.filter(Q(channel__kind=channel) | Q(channel__code=channel))
    if name:
        events = events.filter(name=name)
    return events.order_by("-occurred_at", "-id")


def timeline_channel_kinds(customer: Customer) -> set[str]:
    """The channel kinds that appear on the customer's timeline."""
    return set(
        Event.objects.filter(customer=customer, channel__isnull=False)
        .values_list("channel__kind", flat=True)
        .order_by()
        .distinct()
    )


def latest_event_of(customer_id: int, name: str) -> dict | None:
    """Her latest `name` event as plain values: {"properties", "occurred_at", "channel"}
    (the channel's name, "" without one); None if she has none."""
    row = (
        Event.objects.filter(customer_id=customer_id, name=name)
        .order_by("-occurred_at", "-id")
        .values("properties", "occurred_at", "channel__name")
        .first()
    )
    if row is None:
        return None
    return {
        "properties": row["properties"] if isinstance(row["properties"], dict) else {},
        "occurred_at": row["occurred_at"],
        "channel": row["channel__name"] or "",
    }


def skus_viewed_not_bought(customer_id: int, *, limit: int = 3) -> list[str]:
    """SKUs of products she looked at recently (her last 30 views, newest first) and did not
    buy in her last 20 orders; at most `limit`."""
    bought = set()
    for properties in Event.objects.filter(
        customer_id=customer_id, name="order_completed"
    ).values_list("properties", flat=True)[:20]:
        for line in (properties or {}).get("products") or []:
            if isinstance(line, dict):
                bought.add(line.get("sku"))
    skus: list[str] = []
    for properties in (
        Event.objects.filter(customer_id=customer_id, name="product_viewed")
        .order_by("-occurred_at", "-id")
        .values_list("properties", flat=True)[:30]
    ):
        sku = (properties or {}).get("sku")
        if isinstance(sku, str) and sku and sku not in bought and sku not in skus:
            skus.append(sku)
        if len(skus) >= limit:
            break
    return skus


def newest_identity_value(customer_id: int, kind: str) -> str:
    """Her newest identity of this kind (an email, a phone number), or ""."""
    return (
        Identity.objects.filter(customer_id=customer_id, kind=kind)
        .order_by("-created_at", "-id")
        .values_list("value", flat=True)
        .first()
    ) or ""


def consent_history(customer: Customer):
    return Consent.objects.filter(customer=customer).order_by("-recorded_at", "-id")


def current_consents(customer: Customer) -> list[Consent]:
    """The decision in force per channel kind and purpose: the latest one."""
    latest: dict[tuple[str, str], Consent] = {}
    for consent in consent_history(customer):
        latest.setdefault((consent.channel_kind, consent.purpose), consent)
    return sorted(latest.values(), key=lambda c: (c.channel_kind, c.purpose))


def has_consent(customer: Customer, channel_kind: str, purpose: str) -> bool:
    """May we message this customer on this kind of channel for this purpose?"""
    latest = consent_history(customer).filter(channel_kind=channel_kind, purpose=purpose).first()
    if latest is None:
        return DEFAULT_CONSENT.get(purpose, False)
    return latest.is_granted


def pending_merge_candidates():
    return MergeCandidate.objects.filter(status=MergeCandidateStatus.PENDING).select_related(
        "customer", "other"
    )


def duplicates_to_review():
    """Pending merge candidates, oldest first, with both profiles and their identities
    loaded (the review page shows them side by side)."""
    return (
        pending_merge_candidates()
        .prefetch_related("customer__identities", "other__identities")
        .order_by("created_at", "id")
    )


def merge_candidates_of(customer: Customer):
    """Pending candidates naming this customer, with both profiles loaded."""
    return pending_merge_candidates().filter(Q(customer=customer) | Q(other=customer))


def dashboard_figures() -> dict:
    since = timezone.now() - timedelta(days=1)
    # One pass over the profiles for the three counts (the home page runs this every visit).
    counts = Customer.objects.live().aggregate(
        customers=Count("id", filter=Q(is_anonymous=False)),
        visitors=Count("id", filter=Q(is_anonymous=True)),
        new_today=Count("id", filter=Q(created_at__gte=since)),
    )
    return {
        **counts,
        "events_today": Event.objects.filter(occurred_at__gte=since).count(),
        "pending_merges": MergeCandidate.objects.filter(
            status=MergeCandidateStatus.PENDING
        ).count(),
    }


def parse_identity_or_error(text: str) -> IdentityKey:
    try:
        return parse_identity_filter(text)
    except InvalidIdentity as error:
        raise InvalidIdentity(error.message, fields={"identity": [error.message]}) from None


class _JsonArrayLength(Func):
    """The number of elements of a JSON array column."""

    function = "json_array_length"  # SQLite
    output_field = IntegerField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, function="jsonb_array_length", **extra)


def stay_by_channels_used(*, active_days: int = 90, now=None) -> list[dict]:
    """Do customers who use more channels stay longer? (story 5). Known, live customers in
    groups by how many kinds of channel they have used (1, 2, 3, 4 or more): how many, the
    average time between their first and last visit, the share seen in the last
    `active_days` days, and their average orders. One grouped query."""
    now = now or timezone.now()
    stay = ExpressionWrapper(F("last_seen_at") - F("first_seen_at"), output_field=DurationField())
    rows = (
        Customer.objects.live()
        .filter(is_anonymous=False, erased_at__isnull=True, first_seen_at__isnull=False)
        .annotate(used=_JsonArrayLength("channels_used"))
        .filter(used__gte=1)
        .annotate(
            group=Case(
                When(used__gte=4, then=Value(4)), default=F("used"), output_field=IntegerField()
            )
        )
        .values("group")
        .annotate(
            customers=Count("id"),
            stay=Avg(stay),
            active=Count("id", filter=Q(last_seen_at__gte=now - timedelta(days=active_days))),
            orders=Avg("orders_count"),
        )
        .order_by("group")
    )
    return [
        {
            **row,
            "stay_days": round(row["stay"].total_seconds() / 86400) if row["stay"] else 0,
        }
        for row in rows
    ]


# --- What other apps compose: campaigns' audiences, sends, journeys and reports ------------
# Plain values, rows to read, or query parts (Q, Exists, sub-queries) another app combines
# into one query over customers (the outer query's `pk` is the customer), so no other app
# names a customers table or field.

ORDER_COMPLETED = "order_completed"
# Profile fields other apps may filter customers on; any other name is a key of `traits`.
PROFILE_FIELDS = frozenset(
    {
        "first_name",
        "last_name",
        "locale",
        "preferred_channel",
        "is_anonymous",
        "orders_count",
        "created_at",
        "last_seen_at",
    }
)
PROFILE_LOOKUPS = {
    "eq": "",
    "ne": "",
    "in": "__in",
    "contains": "__icontains",
    "gte": "__gte",
    "lte": "__lte",
}
PROFILE_OPS = frozenset({*PROFILE_LOOKUPS, "exists"})
MONEY = DecimalField(max_digits=18, decimal_places=4)


def known_customers():
    """Customers an audience may hold: live, known (not only by cookies), not erased."""
    return Customer.objects.live().filter(erased_at__isnull=True, is_anonymous=False)


def newest_known_customers(limit: int = 30):
    """The newest live, known customers (a template preview offers them)."""
    return Customer.objects.live().filter(is_anonymous=False).order_by("-id")[:limit]


def customer_by_id(customer_id) -> Customer | None:
    return Customer.objects.filter(pk=customer_id).first()


def customer_matches(customer_id, condition: Q) -> bool:
    """Does this customer satisfy a condition built from the query parts below?"""
    return Customer.objects.filter(pk=customer_id).filter(condition).exists()


def customers_for_routing(customer_ids) -> list[Customer]:
    """These customers with what choosing her channel and send time reads (her traits, for
    the time zone, and her preferred channel), in one query."""
    return list(
        Customer.objects.filter(pk__in=customer_ids).only("pk", "traits", "preferred_channel")
    )


def lock_customers(customer_ids) -> list[int]:
    """Lock these customers' rows until the caller's transaction ends (SELECT ... FOR
    UPDATE, in id order like every multi-row lock), so work counted per customer (a
    frequency cap) queues behind other transactions doing the same. Returns the ids."""
    return list(
        Customer.objects.select_for_update()
        .filter(pk__in=customer_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def customer_field_label(name: str) -> str | None:
    """The label of a profile field (its verbose name), None for a name that is no field
    (a key of `traits`)."""
    try:
        return str(Customer._meta.get_field(name).verbose_name)
    except Exception:  # noqa: BLE001 (no such field, or a relation without a label)
        return None


def profile_condition(name: str, op: str, value=None) -> Q:
    """Customers whose profile field (PROFILE_FIELDS) or trait `name` compares with `value`
    by `op`, one of PROFILE_OPS: eq ne in contains gte lte, or exists (set and not empty)."""
    field = name if name in PROFILE_FIELDS else f"traits__{name}"
    if op == "exists":
        if name in PROFILE_FIELDS:
            return ~Q(**{field: ""}) & Q(**{f"{field}__isnull": False})
        return Q(traits__has_key=name)
    condition = Q(**{f"{field}{PROFILE_LOOKUPS[op]}": value})
    return ~condition if op == "ne" else condition


def has_identity(kind: str, *, verified: bool = False) -> Exists:
    """The customer holds an identity of this kind (a verified one, with `verified`)."""
    identities = Identity.objects.filter(customer=OuterRef("pk"), kind=kind)
    if verified:
        identities = identities.filter(is_verified=True)
    return Exists(identities)


def reachable_addresses(customer_ids) -> dict[int, dict[str, str]]:
    """{customer_id: {identity kind: value}} for many customers in one query (the newest of
    a kind wins); an address a provider called unreachable is no address
    (customers.services.reachability)."""
    found: dict[int, dict[str, str]] = defaultdict(dict)
    rows = (
        Identity.objects.filter(customer_id__in=list(customer_ids), unreachable_at__isnull=True)
        .order_by("customer_id", "created_at", "id")
        .values_list("customer_id", "kind", "value")
    )
    for customer_id, kind, value in rows:
        found[customer_id][kind] = value
    return found


def identity_values_of(customers, kinds):
    """(customer id, kind, value) of these customers' identities of these kinds, by customer
    and then in the order they were added; `customers` may be a sub-query of ids. Read in
    chunks, for exports of whole segments."""
    return (
        Identity.objects.filter(customer_id__in=customers, kind__in=kinds)
        .order_by("customer_id", "id")
        .values_list("customer_id", "kind", "value")
        .iterator(chunk_size=5000)
    )


def identities_after(last_id: int, kinds, *, limit: int) -> list[Identity]:
    """Identities of these kinds added after id `last_id`, oldest first (a poller's cursor)."""
    return list(
        Identity.objects.filter(id__gt=last_id, kind__in=list(kinds)).order_by("id")[:limit]
    )


def latest_consents(customer_ids, purpose) -> dict[tuple[int, str], bool]:
    """{(customer_id, channel_kind): granted} from the latest decisions, one query."""
    decided: dict[tuple[int, str], bool] = {}
    rows = (
        Consent.objects.filter(customer_id__in=list(customer_ids), purpose=purpose)
        .order_by("customer_id", "channel_kind", "-recorded_at", "-id")
        .values_list("customer_id", "channel_kind", "status")
    )
    for customer_id, kind, status in rows:
        decided.setdefault((customer_id, kind), status == ConsentStatus.GRANTED)
    return decided


def is_consented(decided, customer_id, channel_kind, purpose) -> bool:
    """From `latest_consents`: her decision, or DEFAULT_CONSENT without one."""
    return decided.get((customer_id, channel_kind), DEFAULT_CONSENT.get(purpose, False))


def _latest_decision_is(channel_kind, purpose, status) -> Exists:
    """EXISTS a decision with this status that no later decision (same channel kind and
    purpose) overrides. Anti-joins, which PostgreSQL hashes over the whole consent table,
    instead of a "latest row" sub-query run once per customer."""
    later = Consent.objects.filter(
        customer=OuterRef("customer"), channel_kind=channel_kind, purpose=purpose
    ).filter(
        Q(recorded_at__gt=OuterRef("recorded_at"))
        | Q(recorded_at=OuterRef("recorded_at"), id__gt=OuterRef("id"))
    )
    return Exists(
        Consent.objects.filter(
            customer=OuterRef("pk"), channel_kind=channel_kind, purpose=purpose, status=status
        ).exclude(Exists(later))
    )


def consenting(channel_kind: str, purpose: str) -> Q:
    """Customers who may be messaged on this kind of channel for this purpose: the latest
    decision grants it, or, where DEFAULT_CONSENT allows without one, none withdrew it."""
    if DEFAULT_CONSENT.get(purpose, False):
        return ~Q(_latest_decision_is(channel_kind, purpose, ConsentStatus.WITHDRAWN))
    return Q(_latest_decision_is(channel_kind, purpose, ConsentStatus.GRANTED))


def event_channels(kinds=(), codes=()) -> Q:
    """Events in a channel of one of these kinds or codes (for `events_named`)."""
    condition = Q(channel__kind__in=sorted(kinds)) if kinds else Q(pk__in=[])
    if codes:
        condition |= Q(channel__code__in=sorted(codes))
    return condition


def events_named(name: str, *, since=None, channels: Q | None = None, outside: Q | None = None):
    """Everyone's events called `name` (since a moment; in `channels`; outside the channels
    of `outside`, where an event without a channel is outside every one), as a query part
    for `has_event`, `event_count_at_least` and `event_total_between`."""
    events = Event.objects.filter(name=name)
    if channels is not None:
        events = events.filter(channels)
    if outside is not None:
        events = events.exclude(outside & Q(channel__isnull=False))
    if since is not None:
        events = events.filter(occurred_at__gte=since)
    return events


def has_event(events) -> Exists:
    """The customer has one of these events (from `events_named`)."""
    return Exists(events.filter(customer=OuterRef("pk")))


# Counts and sums are one grouped sub-query over the matching events (`pk IN (SELECT
# customer_id ... GROUP BY customer_id HAVING ...)`): one pass over the events instead of a
# correlated aggregate per customer, which is what keeps a 100,000-customer segment fast.
def event_count_at_least(events, minimum: int) -> Q:
    """The customer has at least `minimum` of these events."""
    counted = events.order_by().values("customer").annotate(n=Count("id")).filter(n__gte=minimum)
    return Q(pk__in=counted.values("customer"))


def event_total_between(events, *, low=None, high=None) -> Q:
    """These events' `total` properties add up, for the customer, to between low and high."""
    summed = (
        events.order_by().values("customer").annotate(v=Sum(Cast(KT("properties__total"), MONEY)))
    )
    if low is not None:
        summed = summed.filter(v__gte=low)
    if high is not None:
        summed = summed.filter(v__lte=high)
    return Q(pk__in=summed.values("customer"))


# --- Store-local marketing: where she lives, which stores she visits, what she looked at ---
EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE = 111.195  # along a meridian
STORE_VISITED = "store_visited"
PRODUCT_VIEWED = "product_viewed"


def haversine_km_expression(lat: float, lng: float):
    """The great-circle distance in km from the customer's own place (her latitude and
    longitude) to (lat, lng), as a SQL expression: PostgreSQL has the functions, and Django
    gives them to SQLite."""
    here_lat, here_lng = Radians(F("latitude")), Radians(F("longitude"))
    there_lat, there_lng = Value(math.radians(lat)), Value(math.radians(lng))
    half_chord = Power(Sin((here_lat - there_lat) / 2), 2) + Cos(here_lat) * Value(
        math.cos(math.radians(lat))
    ) * Power(Sin((here_lng - there_lng) / 2), 2)
    # Rounding may push the chord a hair past 1, out of ASIN's domain.
    return Value(2 * EARTH_RADIUS_KM) * ASin(
        Sqrt(Least(half_chord, Value(1.0), output_field=FloatField()))
    )


def lives_within_km(lat: float, lng: float, km: float) -> Q:
    """Customers whose place (latitude, longitude) is within `km` of (lat, lng): a bounding
    box first (the partial index customer_place_idx serves it), then the exact haversine
    distance over the rows inside the box. A customer without a place is never within."""
    lat_span = km / KM_PER_DEGREE
    box = Q(latitude__gte=lat - lat_span, latitude__lte=lat + lat_span, longitude__isnull=False)
    shrink = math.cos(math.radians(min(abs(lat) + lat_span, 90.0)))
    lng_span = km / (KM_PER_DEGREE * shrink) if shrink > 1e-9 else 360.0
    if lng - lng_span >= -180 and lng + lng_span <= 180:
        # Near the antimeridian or a pole the box would wrap: the exact distance alone decides.
        box &= Q(longitude__gte=lng - lng_span, longitude__lte=lng + lng_span)
    return box & Q(LessThanOrEqual(haversine_km_expression(lat, lng), km))


def _property_text(key: str):
    """An event property as plain text (a number as its digits), compared as text: a bare
    KT would be compared as JSON."""
    return Cast(KT(f"properties__{key}"), TextField())


def store_visits(store_ids_by_key: dict, *, customer_ids=None):
    """Per (customer, store): `store_visited` events naming the store in `properties.store_id`
    (its code or id, the keys of `store_ids_by_key`, whose values are the stores' ids), as
    rows `who` (customer id), `place` (store id), `n` (visits), `last` (the latest). A
    query set another app may use as a sub-query."""
    if not store_ids_by_key:
        return Event.objects.none().values("customer_id")
    place = Case(
        *(When(store_key=str(key), then=Value(pk)) for key, pk in store_ids_by_key.items()),
        default=None,
        output_field=IntegerField(),
    )
    events = Event.objects.filter(name=STORE_VISITED)
    if customer_ids is not None:
        events = events.filter(customer_id__in=list(customer_ids))
    return (
        events.annotate(store_key=_property_text("store_id"))
        .filter(store_key__in=[str(key) for key in store_ids_by_key])
        .annotate(place_id=place)
        .order_by()
        .values(who=F("customer_id"), place=F("place_id"))
        .annotate(n=Count("id"), last=Max("occurred_at"))
    )


def viewed_any(*, skus=(), product_ids=(), since=None) -> Exists:
    """The customer viewed one of these SKUs or products (`product_viewed` with `sku` or
    `product_id`) since `since`: a correlated EXISTS read through her timeline index."""
    keys = Q(properties__sku__in=list(skus)) if skus else Q(pk__in=[])
    if product_ids:
        texts = [str(pk) for pk in product_ids]
        keys |= Q(viewed_product__in=texts)
    events = Event.objects.annotate(viewed_product=_property_text("product_id")).filter(
        keys, name=PRODUCT_VIEWED, customer=OuterRef("pk")
    )
    if since is not None:
        events = events.filter(occurred_at__gte=since)
    return Exists(events)


def had_event_with(name: str, *, since, **properties) -> Exists:
    """The customer has an event `name` since `since` whose properties hold these values
    (compared as text): a correlated EXISTS over her timeline."""
    events = Event.objects.filter(name=name, customer=OuterRef("pk"), occurred_at__gte=since)
    for key, value in properties.items():
        events = events.annotate(**{f"_p_{key}": _property_text(key)}).filter(
            **{f"_p_{key}": str(value)}
        )
    return Exists(events)


def events_after(last_id: int, names, *, limit: int, not_from: str | None = None) -> list[Event]:
    """Events with these names recorded after id `last_id`, oldest first, with their channel
    (a poller's cursor); `not_from` leaves out those one source recorded."""
    events = Event.objects.filter(id__gt=last_id, name__in=list(names))
    if not_from is not None:
        events = events.filter(~Q(source=not_from))
    return list(events.select_related("channel").order_by("id")[:limit])


def latest_event_among(customer_id, names, *, since, excluding=None) -> Event | None:
    """Her latest event with one of these names since `since` (not the event `excluding`),
    with its channel; None if there is none."""
    events = Event.objects.filter(customer_id=customer_id, name__in=names, occurred_at__gte=since)
    if excluding:
        events = events.exclude(pk=excluding)
    return events.select_related("channel").first()


def has_completed_order(customer_id, *, other_than=None) -> bool:
    """Has she completed an order (other than the order numbered `other_than`)?"""
    orders = Event.objects.filter(customer_id=customer_id, name=ORDER_COMPLETED)
    if other_than:
        orders = orders.exclude(properties__order_id=other_than)
    return orders.exists()


def completed_orders_of(customer_ids, *, since=None, until=None) -> list[tuple[int, dict]]:
    """(customer id, properties) of these customers' completed orders, in [since, until) when
    given."""
    events = Event.objects.filter(name=ORDER_COMPLETED, customer_id__in=customer_ids)
    if since is not None:
        events = events.filter(occurred_at__gte=since)
    if until is not None:
        events = events.filter(occurred_at__lt=until)
    return list(events.values_list("customer_id", "properties"))


def completed_orders_between(since, until) -> list[Event]:
    """Everyone's completed orders in [since, until), oldest first, with their channel."""
    return list(
        Event.objects.filter(name=ORDER_COMPLETED, occurred_at__gte=since, occurred_at__lt=until)
        .select_related("channel")
        .order_by("occurred_at", "id")
    )


def touches_of(customer_ids, *, since, until) -> list[tuple[int, str, object]]:
    """(customer id, channel kind, when) of these customers' touches in [since, until),
    oldest first: every timeline event with a channel but an order or a refund."""
    return list(
        Event.objects.filter(
            customer_id__in=customer_ids,
            occurred_at__gte=since,
            occurred_at__lt=until,
            channel__isnull=False,
        )
        .exclude(name__in=(ORDER_COMPLETED, "order_refunded"))
        .order_by("occurred_at", "id")
        .values_list("customer_id", "channel__kind", "occurred_at")
    )


def orders_after_touches(
    *, channel_kind: str, touch_kinds, since, until, lookback_days: int
) -> tuple[int, int]:
    """(orders, touched): orders completed in [since, until) in channels of `channel_kind`,
    and how many of them followed an event of the same customer in a channel of
    `touch_kinds` in the `lookback_days` before. One query."""
    touches = Event.objects.filter(
        customer=OuterRef("customer"),
        channel__kind__in=touch_kinds,
        occurred_at__lt=OuterRef("occurred_at"),
        occurred_at__gte=OuterRef("occurred_at") - timedelta(days=lookback_days),
    )
    figures = Event.objects.filter(
        name=ORDER_COMPLETED,
        channel__kind=channel_kind,
        occurred_at__gte=since,
        occurred_at__lt=until,
    ).aggregate(total=Count("id"), touched=Count("id", filter=Q(Exists(touches))))
    return figures["total"] or 0, figures["touched"] or 0


# Her newest events, read on every recommendation: written out so no ORM query is built
# per call. Bounded by `occurred_at` so PostgreSQL plans only the months asked for.
_NEWEST_EVENTS_SQL = """
SELECT name, occurred_at, properties FROM customers_event
WHERE customer_id = %s AND occurred_at >= %s AND occurred_at < %s AND {names}
ORDER BY occurred_at DESC, id DESC
LIMIT %s
"""


def newest_events_of(customer_id, since, until, *, names, limit) -> list[tuple]:
    """(name, occurred_at, properties as a dict) of her `limit` newest events of `names`
    that occurred from `since` to before `until`, newest first."""
    names = list(names)
    if not names:
        return []
    names, name_params = one_of("name", names)
    with connection.cursor() as cursor:
        cursor.execute(
            _NEWEST_EVENTS_SQL.format(names=names), [customer_id, since, until, *name_params, limit]
        )
        rows = cursor.fetchall()
    # A raw cursor skips the fields' converters: the backends hand JSON back as text, and
    # SQLite its moments as naive UTC. Plain values from here, as the ORM would give them.
    return [
        (
            name,
            _aware(occurred_at),
            json.loads(properties) if isinstance(properties, str) else properties,
        )
        for name, occurred_at, properties in rows
    ]


def _aware(moment):
    if isinstance(moment, str):
        moment = parse_datetime(moment)
    if settings.USE_TZ and timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    return moment


def events_of_customers(
    customer_ids, since, until, *, names=(), channel_kinds=(), excluding=(), on_a_channel=False
):
    """Timeline events of these customers that occurred from `since` to before `until`
    (moments), optionally only of `names`, only on channels of `channel_kinds`, only on any
    channel, and never of `excluding` (reports over the touches before a purchase)."""
    events = Event.objects.filter(
        customer_id__in=customer_ids, occurred_at__gte=since, occurred_at__lt=until
    )
    if names:
        events = events.filter(name__in=names)
    if channel_kinds:
        events = events.filter(channel__kind__in=channel_kinds)
    if on_a_channel:
        events = events.filter(channel__isnull=False)
    if excluding:
        events = events.exclude(name__in=excluding)
    return events


def withdrew_consent(channel_kind: str, purpose: str) -> Q:
    """Customers whose latest decision on this kind of channel and purpose withdrew it (an
    explicit no, as opposed to no decision)."""
    return Q(_latest_decision_is(channel_kind, purpose, ConsentStatus.WITHDRAWN))


AD_CLICK_KEYS = ("gclid", "fbclid")


def ad_clicks_of(customer_ids, *, since, until) -> list[tuple[int, object, dict]]:
    """(customer id, when, properties) of her timeline events in [since, until) that carry an
    ad click id: a `gclid` or `fbclid` property, or one in the landing `url` property's query.
    Oldest first. An erasure strips these properties, so an erased person has none."""
    carries = Q()
    for key in AD_CLICK_KEYS:
        carries |= Q(properties__has_key=key) | Q(landing_url__contains=f"{key}=")
    return list(
        Event.objects.filter(
            customer_id__in=list(customer_ids), occurred_at__gte=since, occurred_at__lt=until
        )
        .annotate(landing_url=KT("properties__url"))
        .filter(carries)
        .order_by("occurred_at", "id")
        .values_list("customer_id", "occurred_at", "properties")
    )


def customers_with_one_order(*, exclude=None, limit: int = 10) -> list[tuple[int, str]]:
    """(customer id, order number) of customers with exactly one completed order, oldest
    customers first (a new customer's first order: what the demo's referrals need)."""
    counted = (
        Event.objects.filter(name=ORDER_COMPLETED)
        .exclude(customer_id=exclude)
        .values("customer_id")
        .annotate(orders=Count("id"))
        .filter(orders=1)
        .order_by("customer_id")
        .values_list("customer_id", flat=True)[:limit]
    )
    numbers = dict(
        Event.objects.filter(name=ORDER_COMPLETED, customer_id__in=list(counted)).values_list(
            "customer_id", "properties__order_id"
        )
    )
    return [(customer_id, str(number or "")) for customer_id, number in numbers.items()]
