"""Consent decisions: appended, never changed; per channel kind and purpose the latest wins."""

from django.db import transaction
from django.utils import timezone

from core.models import ChannelKind
from customers.errors import CustomerErased, InvalidConsent
from customers.models import Consent, ConsentPurpose, ConsentStatus, Customer


def record_consent(
    customer: Customer,
    *,
    channel_kind: str,
    purpose: str,
    granted: bool,
    source: str = "",
    recorded_at=None,
) -> Consent:
    """Append a consent decision to the customer's history and return it.

    `recorded_at` is when the person decided (default now); a decision older than the latest
    one is kept in the history but does not win. Raises InvalidConsent naming the field."""
    if channel_kind not in ChannelKind.values:
        raise InvalidConsent(
            "Unknown channel kind.",
            fields={"channel": [f"One of: {', '.join(ChannelKind.values)}."]},
        )
    if purpose not in ConsentPurpose.values:
        raise InvalidConsent(
            "Unknown purpose.", fields={"purpose": [f"One of: {', '.join(ConsentPurpose.values)}."]}
        )
    now = timezone.now()
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        while customer.merged_into_id:
            customer = Customer.objects.select_for_update().get(pk=customer.merged_into_id)
        if customer.erased_at:
            raise CustomerErased("This customer was erased.")
        return Consent.objects.create(
            customer=customer,
            channel_kind=channel_kind,
            purpose=purpose,
            status=ConsentStatus.GRANTED if granted else ConsentStatus.WITHDRAWN,
            source=(source or "")[:100],
            recorded_at=recorded_at or now,
            created_at=now,
        )
