"""The catalog's domain errors; core's API handler renders them as {"error": {...}}."""

from core.api.errors import DomainError


class CatalogError(DomainError):
    code = "catalog_error"
    status_code = 400


class InvalidProductData(CatalogError):
    """Input broke a catalog rule; `fields` names every offending field."""

    code = "invalid"
    status_code = 400


class ProductNotFound(CatalogError):
    code = "not_found"
    status_code = 404


class VariantNotFound(CatalogError):
    code = "not_found"
    status_code = 404


class UnknownChannel(CatalogError):
    code = "unknown_channel"
    status_code = 400


class FeedNotConfigured(CatalogError):
    code = "not_found"
    status_code = 404
