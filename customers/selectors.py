"""Reads of the customer record shared by the API, the staff pages and other apps."""

import uuid
from datetime import timedelta

from django.db.models import (
    Avg,
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    Q,
    Value,
    When,
)
from django.utils import timezone

from core.l10n import normalise_digits
from customers.errors import CustomerNotFound, InvalidIdentity
from customers.models import (
    Consent,
    ConsentPurpose,
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
    customer = Customer.objects.filter(public_id=public_id).first()
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
