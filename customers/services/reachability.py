"""Addresses a provider said can never be reached (a number that does not exist, a recipient
who unsubscribed at the gateway, a bot blocked by its user): marked on the identity, so no
sending path tries them again until a person or a new verification clears the mark."""

from django.utils import timezone

from customers.models import Identity


def mark_unreachable(customer_id, kinds, value, reason) -> int:
    """Mark the customer's identities of these kinds with this value unreachable (first
    reason kept). Returns the number of identities newly marked."""
    return Identity.objects.filter(
        customer_id=customer_id, kind__in=list(kinds), value=value, unreachable_at__isnull=True
    ).update(unreachable_at=timezone.now(), unreachable_reason=str(reason)[:255])


def unreachable_values(values) -> set[str]:
    """Which of these addresses are marked unreachable on some identity."""
    return set(
        Identity.objects.filter(value__in=list(values), unreachable_at__isnull=False).values_list(
            "value", flat=True
        )
    )
