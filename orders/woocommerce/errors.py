"""The connector's domain errors; core's API handler renders them as {"error": {...}}."""

from core.api.errors import DomainError


class WooCommerceError(DomainError):
    code = "woocommerce_error"
    status_code = 400


class UnknownShop(WooCommerceError):
    """No WooCommerce channel has this code."""

    code = "not_found"
    status_code = 404


class InvalidSignature(WooCommerceError):
    """X-WC-Webhook-Signature is missing or is not the body's HMAC under the webhook secret."""

    code = "invalid_signature"
    status_code = 401


class InvalidPayload(WooCommerceError):
    """The delivery is not a WooCommerce resource we can read; `fields` names what."""

    code = "invalid_payload"
    status_code = 400
