"""The coupon contract between orders and whoever owns coupons (the campaigns app).

Orders never knows what a coupon is. Campaigns registers ONE handler at start-up:

    from orders.coupons import register_coupon_handler
    register_coupon_handler(MyHandler())

A handler has three methods:

- ``quote(code, *, customer, channel, subtotal, lines) -> CouponQuote``
  ``customer`` is a customers.Customer (or None for an anonymous cart), ``channel`` a
  core.Channel, ``subtotal`` a Money, ``lines`` a list of :class:`CouponLine`. A handler
  whose ``quote`` and ``redeem`` also accept ``store`` receives the order's store (an
  inventory Location, or None for an order that names no store). Return the
  discount (Money, same currency as ``subtotal``, never more than it); raise
  ``orders.errors.CouponRefused("why")`` when the code cannot be used.
- ``redeem(code, *, customer, channel, order_number, discount)`` is called INSIDE the order
  placement transaction (so a failed order rolls the redemption back). It may raise
  CouponRefused (e.g. the last use was taken meanwhile); the order is then refused.
- ``release(code, *, order_number)`` is called inside the cancellation transaction; it must be
  harmless when called twice.

With no handler registered every code is refused with a clear message.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from django.utils.translation import gettext as _
from moneyed import Money

from orders.errors import CouponRefused


@dataclass(frozen=True)
class CouponLine:
    sku: str
    quantity: int
    unit_price: Money
    product_id: int | None = None
    category_id: int | None = None


@dataclass(frozen=True)
class CouponQuote:
    code: str
    discount: Money
    description: str = ""


_handler = None
_handler_takes_store = False


def register_coupon_handler(handler) -> None:
    """Install the coupon handler (the last registration wins; tests may swap it)."""
    global _handler, _handler_takes_store
    for name in ("quote", "redeem", "release"):
        if not callable(getattr(handler, name, None)):
            raise TypeError(f"A coupon handler needs a callable {name}()")
    _handler = handler
    # Older handlers know no `store`: they keep being called exactly as before.
    _handler_takes_store = all(
        _accepts(getattr(handler, name), "store") for name in ("quote", "redeem")
    )


def _accepts(method, name: str) -> bool:
    parameters = inspect.signature(method).parameters.values()
    return any(p.name == name or p.kind is p.VAR_KEYWORD for p in parameters)


def _store_argument(store) -> dict:
    return {"store": store} if _handler_takes_store else {}


def unregister_coupon_handler() -> None:
    global _handler
    _handler = None


def coupon_handler():
    return _handler


def normalise_code(code: str | None) -> str:
    return (code or "").strip().upper()


def quote_coupon(code, *, customer, channel, subtotal: Money, lines, store=None) -> CouponQuote:
    """Ask the handler for a discount; refuse when no handler or a nonsensical answer.
    `store` is the order's store (a Location), if it names one."""
    code = normalise_code(code)
    if not code:
        raise CouponRefused(_("The coupon code is empty."))
    if _handler is None:
        raise CouponRefused(
            _("Coupon %(code)s cannot be used: no coupons are set up.") % {"code": code}
        )
    quote = _handler.quote(
        code,
        customer=customer,
        channel=channel,
        subtotal=subtotal,
        lines=lines,
        **_store_argument(store),
    )
    discount = quote.discount
    if discount.currency != subtotal.currency:
        raise CouponRefused(_("Coupon %(code)s is not valid in this currency.") % {"code": code})
    if discount.amount < 0:
        raise CouponRefused(_("Coupon %(code)s gave a negative discount.") % {"code": code})
    if discount.amount > subtotal.amount:
        discount = Money(subtotal.amount, subtotal.currency)
    return CouponQuote(code=quote.code or code, discount=discount, description=quote.description)


def redeem_coupon(code, *, customer, channel, order_number, discount, store=None) -> None:
    if _handler is None:
        raise CouponRefused(
            _("Coupon %(code)s cannot be used: no coupons are set up.") % {"code": code}
        )
    _handler.redeem(
        code,
        customer=customer,
        channel=channel,
        order_number=order_number,
        discount=discount,
        **_store_argument(store),
    )


def release_coupon(code, *, order_number) -> None:
    if _handler is not None and code:
        _handler.release(code, order_number=order_number)
