"""Domain errors of orders; core renders them as {"error": {"code", "message", "fields"}}."""

from core.api.errors import DomainError


class OrderError(DomainError):
    code = "order_error"
    status_code = 400


class CouponRefused(DomainError):
    """A coupon code cannot be used for this order (unknown, expired, not for this customer...)."""

    code = "coupon_refused"
    status_code = 400

    def __init__(self, message, *, fields=None, **details):
        super().__init__(message, fields=fields or {"coupon_code": [str(message)]}, **details)


class IllegalTransition(DomainError):
    """An order was asked to move to a status its state machine does not allow from where it is."""

    code = "illegal_transition"
    status_code = 409


class OrderNotEditable(DomainError):
    code = "order_not_editable"
    status_code = 409


class CartNotActive(DomainError):
    code = "cart_not_active"
    status_code = 409


class UnknownVariant(DomainError):
    code = "unknown_variant"
    status_code = 400


class UnknownChannel(DomainError):
    code = "unknown_channel"
    status_code = 400


class UnknownLocation(DomainError):
    code = "unknown_location"
    status_code = 400


class ReturnRefused(DomainError):
    code = "return_refused"
    status_code = 409


class FulfilmentRefused(DomainError):
    code = "fulfilment_refused"
    status_code = 409
