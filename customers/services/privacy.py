"""Privacy requests: export everything held about a customer, or erase their personal data.

Both cover every app: apps register handlers with customers.links.register_privacy_handler.
Erase keeps anonymised aggregates (event names, channels, dates, order totals and product
ids) so reports still add up, and records that it happened in PrivacyRequest.
"""

from django.db import transaction
from django.utils import timezone

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


def erase_customer(customer: Customer, *, requested_by=None, source: str = "") -> PrivacyRequest:
    """Remove the customer's personal data from every app and record it.

    Deletes identities; blanks names, locale and traits; strips event properties down to
    non-personal ones (products, orders, amounts) and replaces partner message ids; blanks
    free-text sources and identity snapshots in merge audits; calls every app's erase
    handler. Running it again on an erased customer changes nothing and returns the record
    of the first erasure."""
    with transaction.atomic():
        customer = _live(customer, lock=True)
        if customer.erased_at:
            previous = customer.privacy_requests.filter(kind=PrivacyRequestKind.ERASE).first()
            if previous:
                return previous
        handled = []
        for handler in privacy_handlers():
            if handler.erase is not None:
                handler.erase(customer)
                handled.append(handler.key)

        profiles = [customer.pk, *customer.merged_profiles.values_list("pk", flat=True)]
        identities = Identity.objects.filter(customer_id__in=profiles).delete()[0]
        events = list(Event.objects.filter(customer=customer).only("id", "properties"))
        for event in events:
            event.properties = {
                key: value
                for key, value in (event.properties or {}).items()
                if key in NON_PERSONAL_PROPERTIES
            }
            event.message_id = f"erased-{event.pk}"
        Event.objects.bulk_update(events, ["properties", "message_id"], batch_size=1000)
        Consent.objects.filter(customer=customer).update(source="")
        CustomerMerge.objects.filter(survivor=customer).update(identities=[])
        MergeCandidate.objects.filter(customer=customer).update(identities=[])
        MergeCandidate.objects.filter(other=customer).update(identities=[])
        Customer.objects.filter(pk__in=profiles).update(
            first_name="",
            last_name="",
            locale="",
            preferred_channel="",
            traits={},
            is_anonymous=True,
        )
        now = timezone.now()
        Customer.objects.filter(pk=customer.pk).update(erased_at=now)
        return PrivacyRequest.objects.create(
            customer=customer,
            kind=PrivacyRequestKind.ERASE,
            requested_by=requested_by,
            source=(source or "")[:100],
            summary={"identities": identities, "events": len(events), "apps": handled},
            created_at=now,
        )
