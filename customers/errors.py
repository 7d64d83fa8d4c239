"""Customers' domain errors; core's API handler renders them as {"error": {...}}."""

from core.api.errors import DomainError


class InvalidIdentity(DomainError):
    code = "invalid"
    status_code = 400


class InvalidEvent(DomainError):
    code = "invalid"
    status_code = 400


class InvalidConsent(DomainError):
    code = "invalid"
    status_code = 400


class CustomerNotFound(DomainError):
    code = "not_found"
    status_code = 404


class MergeRefused(DomainError):
    """Two profiles may not be merged (same profile, already merged, erased, or a conflict of
    verified identities that only a person may overrule)."""

    code = "merge_refused"
    status_code = 409


class CustomerErased(DomainError):
    code = "customer_erased"
    status_code = 409
