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


class FeedNotReady(CatalogError):
    """The feed has no file yet: a build is queued (`queued`, the run, or None when one was
    already pending); the fetcher is told to come back after `retry_after` seconds."""

    code = "feed_not_ready"
    status_code = 503

    def __init__(self, message, *, retry_after, queued=None):
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after
        self.queued = queued


class InvalidImport(CatalogError):
    """An import's upload or rows cannot be taken (wrong type, unreadable, too many rows);
    `fields` names `file` or `rows`."""

    code = "invalid"
    status_code = 400


class ImportTooLarge(CatalogError):
    """The uploaded file is larger than CATALOG_IMPORT_MAX_BYTES."""

    code = "import_too_large"
    status_code = 413


class ImportNotFound(CatalogError):
    code = "not_found"
    status_code = 404
