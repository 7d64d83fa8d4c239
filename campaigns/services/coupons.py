"""Coupons: issue codes, quote a discount, redeem it on an order (any channel) and release it.

Limits per code and per customer hold under concurrency: a redemption locks the code row
(SELECT ... FOR UPDATE), checks the limits against committed redemptions, and moves the
counter with a guarded UPDATE (`times_redeemed < max_uses_per_code`). Orders call these
through `CampaignCouponHandler`, registered with orders.coupons (campaigns/apps.py). A
refusal is orders' CouponRefused, so an order shows one error type, the reason on the
field `coupon_code`.
"""

import secrets
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from moneyed import Money

from campaigns.errors import CouponInvalid
from campaigns.models import CodeKind, CouponCode, CouponPool, DiscountKind, Redemption
from campaigns.services import loyalty
from campaigns.services.store_local import check_place
from customers.selectors import has_completed_order
from orders.coupons import CouponQuote
from orders.errors import CouponRefused

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud in stores


@dataclass
class Quote:
    code: str
    discount: Decimal
    description: str


def normalise_code(code: str) -> str:
    return (code or "").strip().upper()


def create_pool(*, allowed_channels=(), allowed_stores=(), **fields) -> CouponPool:
    """A new pool; a shared pool gets its one code at once. `allowed_channels` (Channels)
    and `allowed_stores` (Locations) limit where its codes work. Raises CouponInvalid."""
    fields["prefix"] = normalise_code(fields.get("prefix", ""))
    if not fields["prefix"]:
        raise CouponInvalid("A pool needs a code or prefix.", fields={"prefix": ["Required."]})
    with transaction.atomic():
        pool = CouponPool.objects.create(**fields)
        pool.allowed_channels.set(allowed_channels)
        pool.allowed_stores.set(allowed_stores)
        if pool.code_kind == CodeKind.SHARED:
            if CouponCode.objects.filter(code=pool.prefix).exists():
                raise CouponInvalid(
                    "This code exists already.", fields={"prefix": ["Code already in use."]}
                )
            CouponCode.objects.create(pool=pool, code=pool.prefix)
    return pool


def _new_code(pool) -> str:
    return f"{pool.prefix}-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def issue_code(pool: CouponPool, customer) -> CouponCode:
    """The code this customer uses from this pool: the shared code, or her own unique code
    (made once; asking again returns the same one, so a retried send issues nothing new)."""
    if pool.code_kind == CodeKind.SHARED:
        return CouponCode.objects.get(pool=pool, code=pool.prefix)
    existing = CouponCode.objects.filter(pool=pool, customer=customer).first()
    if existing:
        return existing
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return CouponCode.objects.create(pool=pool, customer=customer, code=_new_code(pool))
        except IntegrityError:
            existing = CouponCode.objects.filter(pool=pool, customer=customer).first()
            if existing:
                return existing
    raise CouponInvalid("Could not make a unique code; try again.")


def generate_codes(pool: CouponPool, count: int) -> int:
    """Unassigned unique codes, printed or handed out in store."""
    codes = {_new_code(pool) for _ in range(count)}
    made = CouponCode.objects.bulk_create(
        [CouponCode(pool=pool, code=code) for code in codes], ignore_conflicts=True
    )
    return len(made)


def discount_for(pool: CouponPool, subtotal: Decimal) -> Decimal:
    subtotal = Decimal(subtotal)
    if pool.discount_kind == DiscountKind.PERCENTAGE:
        value = subtotal * pool.discount_value / 100
    else:
        value = min(pool.discount_value, subtotal)
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def describe_discount(pool: CouponPool) -> str:
    """What a pool's codes give, as shown to her: "10%" or "5 USD"."""
    if pool.discount_kind == DiscountKind.PERCENTAGE:
        return f"{pool.discount_value.normalize():f}%"
    return f"{pool.discount_value.normalize():f} {pool.currency}".strip()


def _live_redemptions(code_or_pool_filter):
    return Redemption.objects.filter(code_or_pool_filter, released_at__isnull=True)


def check_code(code: CouponCode, *, customer, subtotal, now=None, order_number=None) -> None:
    """Raise orders' CouponRefused with the reason this code cannot be used on this order
    now."""
    pool = code.pool
    now = now or timezone.now()
    if not pool.is_active:
        raise CouponRefused("This coupon is no longer active.")
    if pool.valid_from and now < pool.valid_from:
        raise CouponRefused("This coupon is not valid yet.")
    if pool.valid_until and now > pool.valid_until:
        raise CouponRefused("This coupon has expired.")
    if code.customer_id and (customer is None or customer.pk != code.customer_id):
        raise CouponRefused("This coupon belongs to another customer.")
    if Decimal(subtotal) < pool.minimum_spend:
        raise CouponRefused(f"This coupon needs a minimum spend of {pool.minimum_spend}.")
    others = Q(code=code)
    if order_number:
        others &= ~Q(order_number=order_number)
    if pool.max_uses_per_code is not None:
        if _live_redemptions(others).count() >= pool.max_uses_per_code:
            raise CouponRefused("This coupon has been used up.")
    if customer is None:
        # A quote for an anonymous cart: the per-customer rules are checked at redemption,
        # when the order names its customer.
        if order_number and (pool.max_uses_per_customer is not None or pool.first_purchase_only):
            raise CouponRefused("Sign in or give your email or phone to use this coupon.")
        return
    if pool.max_uses_per_customer is not None:
        mine = Q(code__pool=pool, customer=customer)
        if order_number:
            mine &= ~Q(order_number=order_number)
        if _live_redemptions(mine).count() >= pool.max_uses_per_customer:
            raise CouponRefused("You have already used this coupon.")
    if pool.first_purchase_only:
        if has_completed_order(customer.pk, other_than=order_number):
            raise CouponRefused("This coupon is for a first purchase only.")


def _find(code: str, *, lock=False) -> CouponCode:
    codes = CouponCode.objects.select_related("pool")
    if lock:
        codes = codes.select_for_update(of=("self",))
    found = codes.filter(code=normalise_code(code)).first()
    if found is None:
        raise CouponRefused("Unknown coupon code.")
    return found


def quote(code: str, *, customer=None, channel=None, subtotal, lines=None, store=None) -> Quote:
    """The discount this code gives on this order, or a refusal with its reason (a pool
    limited to channels or stores refuses an order placed elsewhere). `POINTS-<n>` and
    referral codes are loyalty's (the coupon check of the API answers for them too)."""
    normal = normalise_code(code)
    if loyalty.is_points_code(normal):
        currency = getattr(channel, "currency", "") or settings.DEFAULT_CURRENCY
        points, discount = loyalty.quote_points(normal, customer=customer, currency=currency)
        points_text = _("%(points)s loyalty points") % {"points": points}
        return Quote(normal, min(discount, Decimal(subtotal)), points_text)
    if loyalty.is_referral_code(normal):
        return Quote(normal, Decimal(0), loyalty.quote_referral(normal, customer=customer))
    found = _find(code)
    check_code(found, customer=customer, subtotal=subtotal)
    check_place(found.pool, found.code, channel=channel, store=store)
    pool = found.pool
    return Quote(found.code, discount_for(pool, subtotal), pool.name)


def redeem(
    code: str, *, customer=None, channel=None, order_number: str, discount, store=None
) -> Redemption:
    """Record that `order_number` used this code in `channel`. Idempotent per (code, order).
    Run it inside the order's transaction; raises the refusal if a limit was reached
    meanwhile (another channel may have used the last use a moment ago)."""
    with transaction.atomic():
        found = _find(code, lock=True)
        existing = Redemption.objects.filter(
            code=found, order_number=order_number, released_at__isnull=True
        ).first()
        if existing:
            return existing
        check_code(
            found, customer=customer, subtotal=Decimal("Infinity"), order_number=order_number
        )
        check_place(found.pool, found.code, channel=channel, store=store)
        pool = found.pool
        guard = Q(pk=found.pk)
        if pool.max_uses_per_code is not None:
            guard &= Q(times_redeemed__lt=pool.max_uses_per_code)
        if not CouponCode.objects.filter(guard).update(times_redeemed=F("times_redeemed") + 1):
            raise CouponRefused("This coupon has been used up.")
        redemption, _created = Redemption.objects.update_or_create(
            code=found,
            order_number=order_number,
            defaults={
                "customer": customer,
                "channel": channel,
                "discount": Decimal(discount or 0),
                "redeemed_at": timezone.now(),
                "released_at": None,
            },
        )
        return redemption


def release(code: str, *, order_number: str) -> bool:
    """Give the use back (order cancelled before it completed). True if one was released."""
    with transaction.atomic():
        found = _find(code, lock=True)
        released = Redemption.objects.filter(
            code=found, order_number=order_number, released_at__isnull=True
        ).update(released_at=timezone.now())
        if released:
            CouponCode.objects.filter(pk=found.pk, times_redeemed__gt=0).update(
                times_redeemed=F("times_redeemed") - 1
            )
        return bool(released)


def _amount(value) -> Decimal:
    """Orders pass Money; the API and tests pass numbers."""
    return Decimal(getattr(value, "amount", value) or 0)


class CampaignCouponHandler:
    """What orders.coupons calls: quote, redeem (inside the order transaction), release.
    Amounts arrive and leave as Money, in the order's currency."""

    def quote(self, code, *, customer=None, channel=None, subtotal, lines=None, **context):
        currency = str(getattr(getattr(subtotal, "currency", None), "code", "") or "")
        if loyalty.is_points_code(normalise_code(code)):
            points, discount = loyalty.quote_points(
                normalise_code(code), customer=customer, currency=currency
            )
            return CouponQuote(
                code=normalise_code(code),
                discount=Money(discount, currency),
                description=_("%(points)s loyalty points") % {"points": points},
            )
        if loyalty.is_referral_code(normalise_code(code)):
            return CouponQuote(
                code=normalise_code(code),
                discount=Money(0, currency or "USD"),
                description=loyalty.quote_referral(normalise_code(code), customer=customer),
            )
        result = quote(
            code,
            customer=customer,
            channel=channel,
            subtotal=_amount(subtotal),
            lines=lines,
            store=context.get("store"),
        )
        pool = CouponCode.objects.select_related("pool").get(code=result.code).pool
        if pool.discount_kind == DiscountKind.AMOUNT and pool.currency and currency:
            if pool.currency != currency:
                raise CouponRefused(f"This coupon is valid in {pool.currency} only.")
        return CouponQuote(
            code=result.code,
            discount=Money(result.discount, currency or pool.currency or "USD"),
            description=result.description,
        )

    def redeem(self, code, *, customer=None, channel=None, order_number, discount, **context):
        if loyalty.is_points_code(normalise_code(code)):
            return loyalty.redeem_points(
                normalise_code(code), customer=customer, channel=channel, order_number=order_number
            )
        if loyalty.is_referral_code(normalise_code(code)):
            return loyalty.redeem_referral(
                normalise_code(code), customer=customer, order_number=order_number
            )
        return redeem(
            code,
            customer=customer,
            channel=channel,
            order_number=order_number,
            discount=_amount(discount),
            store=context.get("store"),
        )

    def release(self, code, *, order_number):
        if loyalty.is_points_code(normalise_code(code)):
            return loyalty.release_spend(order_number)
        if loyalty.is_referral_code(normalise_code(code)):
            return False
        return release(code, order_number=order_number)
