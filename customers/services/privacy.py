"""Privacy requests: export everything held about a customer, or erase their personal data.

Both cover every app: apps register handlers with customers.links.register_privacy_handler.
Erase keeps anonymised aggregates (event names, channels, dates, order totals and product
ids) so reports still add up, and records that it happened in PrivacyRequest. It also finds
the copies kept where no row points at her (stored API answers, webhook payloads, address
lists) by her traces: profile ids, identifiers and names, read before anything is erased.
"""

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.models import AuditAction
from core.services import audit
from core.services.idempotency import forget_answers_about
from core.services.outbox import forget_person
from core.services.traces import ERASED, PersonTraces
from customers.event_names import NON_PERSONAL_PROPERTIES
from customers.links import privacy_handlers
from customers.models import (
    Consent,
    Customer,
    CustomerMerge,
    Event,
    Identity,
    MergeCandidate,
    PrivacyRequest,
    PrivacyRequestKind,
)
from customers.services.ingest import forget_cached_identities

EXPORT_FORMAT = "omni.customer-export.v1"


def _live(customer: Customer, *, lock: bool) -> Customer:
    manager = Customer.objects.select_for_update() if lock else Customer.objects
    customer = manager.get(pk=customer.pk)
    while customer.merged_into_id:
        customer = manager.get(pk=customer.merged_into_id)
    return customer


def _iso(moment):
    return moment.isoformat() if moment else None


def export_customer(customer: Customer, *, requested_by=None, source: str = "") -> dict:
    """Everything held about the customer, across all apps, as one JSON-able document.
    Records a PrivacyRequest of kind export."""
    with transaction.atomic():
        customer = _live(customer, lock=False)
        document = {
            "format": EXPORT_FORMAT,
            "exported_at": _iso(timezone.now()),
            "customer": {
                "id": str(customer.public_id),
                "first_name": customer.first_name,
                "last_name": customer.last_name,
                "locale": customer.locale,
                "preferred_channel": customer.preferred_channel,
                "traits": customer.traits,
                "latitude": customer.latitude,
                "longitude": customer.longitude,
                "is_anonymous": customer.is_anonymous,
                "created_at": _iso(customer.created_at),
                "first_seen_at": _iso(customer.first_seen_at),
                "last_seen_at": _iso(customer.last_seen_at),
                "orders_count": customer.orders_count,
                "lifetime_spend": customer.lifetime_spend,
                "channels_used": customer.channels_used,
                "erased_at": _iso(customer.erased_at),
                "merged_profile_ids": [
                    str(public_id)
                    for public_id in customer.merged_profiles.values_list("public_id", flat=True)
                ],
            },
            "identities": [
                {
                    "kind": identity.kind,
                    "value": identity.value,
                    "partner": identity.partner,
                    "verified": identity.is_verified,
                    "created_at": _iso(identity.created_at),
                }
                for identity in customer.identities.order_by("kind", "value")
            ],
            "events": [
                {
                    "name": event.name,
                    "channel": event.channel.code if event.channel else None,
                    "occurred_at": _iso(event.occurred_at),
                    "properties": event.properties,
                    "source": event.source,
                    "message_id": event.message_id,
                }
                for event in customer.events.select_related("channel").order_by("occurred_at", "id")
            ],
            "consents": [
                {
                    "channel": consent.channel_kind,
                    "purpose": consent.purpose,
                    "status": consent.status,
                    "source": consent.source,
                    "recorded_at": _iso(consent.recorded_at),
                }
                for consent in customer.consents.order_by("recorded_at", "id")
            ],
            "merges": [
                {
                    "merged_profile_id": str(merge.loser_public_id),
                    "reason": merge.reason,
                    "at": _iso(merge.created_at),
                }
                for merge in customer.merges.order_by("created_at")
            ],
            "apps": {},
        }
        # Who touched her data (core's audit trail), this export included.
        audit.record(AuditAction.EXPORT, customer.public_id, user=requested_by)
        document["access_log"] = audit.entries_for(
            [customer.public_id, *customer.merged_profiles.values_list("public_id", flat=True)]
        )
        for handler in privacy_handlers():
            if handler.export is not None:
                document["apps"][handler.key] = handler.export(customer)
        PrivacyRequest.objects.create(
            customer=customer,
            kind=PrivacyRequestKind.EXPORT,
            requested_by=requested_by,
            source=(source or "")[:100],
            summary={
                "identities": len(document["identities"]),
                "events": len(document["events"]),
                "consents": len(document["consents"]),
                "apps": sorted(document["apps"]),
            },
        )
        return document


def traces_of(customer: Customer, profiles: list[int]) -> PersonTraces:
    """How stored text names the customer: her profiles' public ids, every identity value
    (and each app's addresses and phone numbers as typed, from its `traces` handler), her
    names."""
    public_ids = Customer.objects.filter(pk__in=profiles).values_list("public_id", flat=True)
    identifiers = set(
        Identity.objects.filter(customer_id__in=profiles).values_list("value", flat=True)
    )
    for handler in privacy_handlers():
        if handler.traces is not None:
            identifiers.update(value for value in handler.traces(customer) if value)
    names = set()
    for first, last in Customer.objects.filter(pk__in=profiles).values_list(
        "first_name", "last_name"
    ):
        names.update({first, last, f"{first} {last}".strip()})
    return PersonTraces.of(ids=public_ids, identifiers=identifiers, names=names)


def _forget_in_merge_audits(profiles: list[int], traces: PersonTraces) -> None:
    for model, sides in (
        (CustomerMerge, ("survivor_id", "loser_id")),
        (MergeCandidate, ("customer_id", "other_id")),
    ):
        mentions = Q()
        for side in sides:
            mentions |= Q(**{f"{side}__in": profiles})
        rows = list(model.objects.filter(mentions).only("pk", "reason", "source", "identities"))
        for row in rows:
            row.identities = []
            row.reason = ERASED if traces.is_personal(row.reason) else row.reason
            row.source = "" if traces.is_personal(row.source) else row.source
        model.objects.bulk_update(rows, ["identities", "reason", "source"])


def erase_customer(customer: Customer, *, requested_by=None, source: str = "") -> PrivacyRequest:
    """Remove the customer's personal data from every app and record it.

    Deletes identities; blanks names, locale and traits; strips event properties down to
    non-personal ones (products, orders, amounts) and replaces partner message ids; blanks
    free-text sources and identity snapshots in merge audits; calls every app's erase
    handler. Then forgets the copies that no row ties to her, found by her traces: stored
    idempotent answers naming her become a 410, webhook payloads lose her identifiers and
    names, apps' `forget` handlers clean their lists, staff admin history loses her name.
    Running it again on an erased customer changes nothing and returns the record of the
    first erasure."""
    with transaction.atomic():
        customer = _live(customer, lock=True)
        if customer.erased_at:
            previous = customer.privacy_requests.filter(kind=PrivacyRequestKind.ERASE).first()
            if previous:
                return previous
        profiles = [customer.pk, *customer.merged_profiles.values_list("pk", flat=True)]
        traces = traces_of(customer, profiles)
        audit.record(AuditAction.ERASE, customer.public_id, user=requested_by)
        handled = []
        for handler in privacy_handlers():
            if handler.erase is not None:
                handler.erase(customer)
                handled.append(handler.key)

        identities = Identity.objects.filter(customer_id__in=profiles).delete()[0]
        events = list(Event.objects.filter(customer=customer).only("id", "properties"))
        for event in events:
            kept = {
                key: value
                for key, value in (event.properties or {}).items()
                if key in NON_PERSONAL_PROPERTIES
            }
            event.properties = traces.redact(kept)[0]
            event.message_id = f"erased-{event.pk}"
        Event.objects.bulk_update(events, ["properties", "message_id"], batch_size=1000)
        Consent.objects.filter(customer=customer).update(source="")
        _forget_in_merge_audits(profiles, traces)
        Customer.objects.filter(pk__in=profiles).update(
            first_name="",
            last_name="",
            locale="",
            preferred_channel="",
            traits={},
            latitude=None,
            longitude=None,
            is_anonymous=True,
        )
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Customer),
            object_id__in=[str(pk) for pk in profiles],
        ).update(object_repr=ERASED)
        for handler in privacy_handlers():
            if handler.forget is not None:
                handler.forget(traces)
        answers = forget_answers_about(traces)
        webhook_events = forget_person(traces)
        transaction.on_commit(forget_cached_identities)
        now = timezone.now()
        Customer.objects.filter(pk=customer.pk).update(erased_at=now)
        return PrivacyRequest.objects.create(
            customer=customer,
            kind=PrivacyRequestKind.ERASE,
            requested_by=requested_by,
            source=(source or "")[:100],
            summary={
                "identities": identities,
                "events": len(events),
                "apps": handled,
                "stored_answers": answers,
                "webhook_events": webhook_events,
            },
            created_at=now,
        )
