"""Loyalty points: earned on a completed order in any channel, taken back by a return or a
cancellation wherever it happens, spent as a discount on an order in any channel through the
coupon path, expired by rule. The method, written out:

Earning. A poller (`apply_timeline`, beat every 30 s, and the `loyalty` command) reads the
timeline's `order_completed`, `return_received` and `order_cancelled` events by id, whichever
channel recorded them (an order placed through the API, a POS sale ingested as an event). For
each sold line (`products`: sku, quantity, price) the most specific active `LoyaltyRule` of
the order's currency wins: channel and category, then category (its subtree), then channel,
then neither. Line amounts are scaled to the order's total, so a discount earns nothing.
points = floor(sum(amount x points_per_unit) x her tier's multiplier). An order with no lines
earns on its total by the channel's rule. The entry keeps the points per SKU, and points
expire `LOYALTY_POINTS_EXPIRE_DAYS` after the order.

Reversing. A return takes back, per returned SKU, the points that SKU earned per unit times
the units returned; a cancellation takes back what is left. Never more than was earned.

Spending. The order's coupon code `POINTS-<n>` spends n points: quoted at
`LOYALTY_POINT_VALUE[currency]` each (the orders app caps the discount at the subtotal), the
spend entry written in the order's transaction while her customer row is locked, so two
orders never spend the same points; a cancelled order gives them back (`release`). The web
API, the POS and the phone order page all take a coupon code, so all spend points.

Expiry (daily). Spending and reversals use the oldest points first, so what expires now is
max(0, min(balance, points that reached their expiry - points used so far)), where "used"
is spends, reversals and earlier expiries, less spends given back.

Tiers. Her tier is the highest `LoyaltyTier` of a currency whose minimum her lifetime spend
in that currency (kept on the customer profile) reaches; its multiplier applies when she earns.

Referrals (issue 23, item 3). Her referral code (`REF-...`) is applied to a new customer at
sign-up (partner API) or as the coupon code of her first order. When the new customer's first
completed order is read, the referral is checked (self, shared identity, shared shipping
address refuse it) and credited ONCE: a guarded status change pending -> credited in the
transaction that writes both credits.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.errors import LoyaltyRefused, ReferralRefused
from campaigns.models import (
    EXPIRING_KINDS,
    EntryKind,
    LoyaltyEntry,
    LoyaltyRule,
    LoyaltyTier,
    Referral,
    ReferralCode,
    ReferralStatus,
)
from campaigns.services.cursors import read_after
from catalog.selectors import category_paths_by_sku
from customers.selectors import (
    customer_by_id,
    events_after,
    has_completed_order,
    identity_values_of,
    lock_customers,
)
from orders.errors import CouponRefused
from orders.selectors import shipping_addresses_of

POINTS_CODE = re.compile(r"^POINTS-(\d{1,9})$")
REFERRAL_PREFIX = "REF-"
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
TIMELINE_EVENTS = ("order_completed", "return_received", "order_cancelled")
USED_KINDS = (EntryKind.SPEND, EntryKind.REVERSE, EntryKind.EXPIRE)


# --- reading ----------------------------------------------------------------------------


def balance_of(customer_id) -> int:
    """Her points now: the sum of her ledger (read on every recommendation, so written out)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(points), 0) FROM campaigns_loyaltyentry WHERE customer_id = %s",
            [customer_id],
        )
        return int(cursor.fetchone()[0])


def point_value(currency: str) -> Decimal | None:
    """What one point takes off an order in `currency` (None: points are not spent in it)."""
    value = settings.LOYALTY_POINT_VALUE.get((currency or "").upper())
    return Decimal(str(value)) if value not in (None, "") else None


def home_currency(customer) -> str:
    """The currency she spends most in (her lifetime figures), else the shop's default."""
    spend = getattr(customer, "lifetime_spend", None) or {}
    best = max(spend.items(), key=lambda item: _decimal(item[1]), default=None)
    return best[0] if best and _decimal(best[1]) > 0 else settings.DEFAULT_CURRENCY


def tier_of(customer, currency: str) -> LoyaltyTier | None:
    return _tiers_around(customer, currency)[0]


def _tiers_around(customer, currency: str) -> tuple[LoyaltyTier | None, LoyaltyTier | None]:
    """(her tier, the next one) by her lifetime spend in `currency` (one query)."""
    spent = _decimal((getattr(customer, "lifetime_spend", None) or {}).get(currency))
    reached, following = None, None
    for tier in LoyaltyTier.objects.filter(currency=currency).order_by("minimum_spend"):
        if tier.minimum_spend <= spent:
            reached = tier
        elif following is None:
            following = tier
    return reached, following


def _sums_by_kind(customer_id) -> dict[str, int]:
    return dict(
        LoyaltyEntry.objects.filter(customer_id=customer_id)
        .values_list("kind")
        .annotate(total=Sum("points"))
        .values_list("kind", "total")
    )


def _used(sums: dict) -> int:
    """Points used so far: spends, reversals and expiries, less spends given back."""
    return -sum(sums.get(kind, 0) for kind in USED_KINDS) - sums.get(EntryKind.RELEASE, 0)


def expiring_soon(customer_id, *, now=None, days: int = 30, sums=None) -> tuple[int, object]:
    """(points that will expire within `days` if unused, the first such date)."""
    now = now or timezone.now()
    sums = _sums_by_kind(customer_id) if sums is None else sums
    used, balance = _used(sums), sum(sums.values())
    if balance <= 0:
        return 0, None
    horizon = now + timedelta(days=days)
    lots = list(
        LoyaltyEntry.objects.filter(
            customer_id=customer_id,
            kind__in=EXPIRING_KINDS,
            points__gt=0,
            expires_at__isnull=False,
            expires_at__lte=horizon,
        )
        .order_by("expires_at")
        .values_list("points", "expires_at")
    )
    due = sum(points for points, _at in lots)
    points = max(0, min(balance, due - used))
    first = next((at for _points, at in lots if at > now), None) if points else None
    return points, first


def summary(customer, *, now=None, brief: bool = False) -> dict:
    """Plain values of her loyalty: what the 360 page, the inbox panel, templates and the
    API show. `brief` (the inbox's panel) leaves out what expires and her referral code, so
    it costs two queries."""
    currency = home_currency(customer)
    sums = _sums_by_kind(customer.pk)
    balance = sum(sums.values())
    value = point_value(currency)
    tier, following = _tiers_around(customer, currency)
    expiring, expiring_at, code = 0, None, None
    if not brief:
        expiring, expiring_at = expiring_soon(customer.pk, now=now, sums=sums)
        code = ReferralCode.objects.filter(customer=customer).order_by("id").first()
    return {
        "balance": balance,
        "currency": currency,
        "value": str((value * balance).quantize(Decimal("0.01"))) if value is not None else "",
        "tier": tier.name if tier else "",
        "next_tier": following.name if following else "",
        "next_tier_spend": str(following.minimum_spend) if following else "",
        "expiring_points": expiring,
        "expiring_at": expiring_at,
        "spend_code": f"POINTS-{balance}" if balance > 0 else "",
        "referral_code": code.code if code else "",
    }


def entries_of(customer):
    return LoyaltyEntry.objects.filter(customer=customer).select_related("channel")


# --- writing the ledger -----------------------------------------------------------------


def _add(customer_id, kind, points, source, **fields) -> tuple[LoyaltyEntry, bool]:
    """Append one entry; the same (customer, source, kind) again returns the first."""
    existing = LoyaltyEntry.objects.filter(
        customer_id=customer_id, source=source, kind=kind
    ).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            entry = LoyaltyEntry.objects.create(
                customer_id=customer_id, kind=kind, points=points, source=source, **fields
            )
    except IntegrityError:
        return LoyaltyEntry.objects.get(customer_id=customer_id, source=source, kind=kind), False
    return entry, True


def adjust(customer, points: int, *, key: str, note: str = "", channel=None):
    """Points given (or taken, negative) by staff or a partner; `key` makes a retry harmless.
    Positive points expire like earned ones. Raises LoyaltyRefused naming `points`."""
    if not points:
        raise LoyaltyRefused(
            _("Points must not be zero."), fields={"points": [_("Must not be zero.")]}
        )
    with transaction.atomic():
        lock_customers([customer.pk])
        if points < 0 and balance_of(customer.pk) + points < 0:
            found = LoyaltyEntry.objects.filter(
                customer=customer, source=f"partner:{key}", kind=EntryKind.ADJUST
            ).first()
            if found is None:
                raise LoyaltyRefused(
                    _("She has fewer points than that."),
                    fields={"points": [_("More than her balance.")]},
                )
        return _add(
            customer.pk,
            EntryKind.ADJUST,
            points,
            f"partner:{key}",
            channel=channel,
            note=note[:300],
            expires_at=_expiry(timezone.now()) if points > 0 else None,
        )


def spend(customer, points: int, *, source: str, order_number: str = "", channel=None, note=""):
    """Take `points` off her balance once per `source`; holds her row locked while it checks.
    Raises LoyaltyRefused naming `points` when she has fewer."""
    if points <= 0:
        raise LoyaltyRefused(
            _("Points to spend must be more than zero."),
            fields={"points": [_("Must be more than zero.")]},
        )
    with transaction.atomic():
        lock_customers([customer.pk])
        found = LoyaltyEntry.objects.filter(
            customer=customer, source=source, kind=EntryKind.SPEND
        ).first()
        if found is not None:
            return found, False
        balance = balance_of(customer.pk)
        if balance < points:
            raise LoyaltyRefused(
                _("She has %(balance)s points; %(points)s cannot be spent.")
                % {"balance": balance, "points": points},
                fields={"points": [_("More than her balance.")]},
            )
        return _add(
            customer.pk,
            EntryKind.SPEND,
            -points,
            source,
            order_number=order_number,
            channel=channel,
            note=note[:300],
        )


def release_spend(order_number: str) -> int:
    """Give back the points an order spent (it was cancelled). Harmless twice."""
    given = 0
    for entry in LoyaltyEntry.objects.filter(order_number=order_number, kind=EntryKind.SPEND):
        _entry, created = _add(
            entry.customer_id,
            EntryKind.RELEASE,
            -entry.points,
            entry.source,
            order_number=order_number,
            channel=entry.channel,
        )
        given += -entry.points if created else 0
    return given


# --- spending through the coupon path ----------------------------------------------------


def is_points_code(code: str) -> bool:
    return bool(POINTS_CODE.match(code or ""))


def quote_points(code: str, *, customer, currency: str) -> tuple[int, Decimal]:
    """(points, discount) of a `POINTS-<n>` code for her; raises orders' CouponRefused."""
    points = int(POINTS_CODE.match(code).group(1))
    if customer is None:
        raise CouponRefused(_("Points can only be spent by a known customer."))
    if points <= 0:
        raise CouponRefused(_("Spend at least one point."))
    value = point_value(currency)
    if value is None:
        raise CouponRefused(
            _("Points cannot be spent in %(currency)s.") % {"currency": currency or "?"}
        )
    balance = balance_of(customer.pk)
    if balance < points:
        raise CouponRefused(
            _("She has %(balance)s points; %(points)s cannot be spent.")
            % {"balance": balance, "points": points}
        )
    return points, (value * points).quantize(Decimal("0.01"))


def redeem_points(code: str, *, customer, channel, order_number: str) -> None:
    """Inside the order's transaction: write the spend, or refuse the order."""
    points = int(POINTS_CODE.match(code).group(1))
    if customer is None:
        raise CouponRefused(_("Points can only be spent by a known customer."))
    try:
        spend(
            customer,
            points,
            source=f"order:{order_number}",
            order_number=order_number,
            channel=channel,
        )
    except LoyaltyRefused as refused:
        raise CouponRefused(refused.message) from refused


# --- earning and reversing from the timeline ---------------------------------------------


@dataclass(frozen=True)
class _Line:
    sku: str
    quantity: int
    amount: Decimal


def apply_timeline(limit: int = 2000) -> dict:
    """Read new order events from the timeline (any channel) and earn, reverse, release and
    credit referrals for them. Returns counts per kind."""
    counts = {"earned": 0, "reversed": 0, "referrals": 0}
    with transaction.atomic():
        events = read_after(
            "loyalty.events", lambda after: events_after(after, TIMELINE_EVENTS, limit=limit)
        )
        for event in events:
            if event.customer_id is None:
                continue
            if event.name == "order_completed":
                counts["earned"] += earn_for_event(event)
                counts["referrals"] += credit_referral(event)
            elif event.name == "return_received":
                counts["reversed"] += reverse_for_return(event)
            elif event.name == "order_cancelled":
                counts["reversed"] += reverse_for_cancel(event)
    return counts


def earn_for_event(event) -> int:
    """Points for one order_completed event (0 when no rule applies, or earned before)."""
    props = event.properties or {}
    order_number = str(props.get("order_id") or f"event-{event.pk}")[:64]
    currency = str(props.get("currency") or "").upper()
    rules = _rules(currency)
    if not rules:
        return 0
    lines = _lines(props)
    total = _decimal(props.get("total"))
    channel_id = event.channel_id
    paths = category_paths_by_sku([line.sku for line in lines]) if lines else {}
    if lines:
        gross = sum((line.amount for line in lines), Decimal(0))
        scale = min(Decimal(1), total / gross) if gross > 0 and total > 0 else Decimal(1)
        per_sku = {}
        for line in lines:
            rate = _rate(rules, channel_id, paths.get(line.sku, ""))
            per_sku[line.sku] = per_sku.get(line.sku, Decimal(0)) + line.amount * scale * rate
        quantities = {}
        for line in lines:
            quantities[line.sku] = quantities.get(line.sku, 0) + line.quantity
    else:
        per_sku = {"": total * _rate(rules, channel_id, "")}
        quantities = {"": 1}
    customer = customer_by_id(event.customer_id)
    tier = tier_of(customer, currency) if customer else None
    multiplier = tier.earn_multiplier if tier else Decimal(1)
    raw = sum(per_sku.values(), Decimal(0)) * multiplier
    points = int(raw.to_integral_value(rounding=ROUND_FLOOR))
    if points <= 0:
        return 0
    details = {
        "currency": currency,
        "multiplier": str(multiplier),
        "tier": tier.name if tier else "",
        "lines": {
            sku: {"quantity": quantities[sku], "points": str(value * multiplier)}
            for sku, value in per_sku.items()
        },
    }
    _entry, created = _add(
        event.customer_id,
        EntryKind.EARN,
        points,
        f"order:{order_number}",
        order_number=order_number,
        channel_id=channel_id,
        details=details,
        expires_at=_expiry(event.occurred_at),
    )
    return points if created else 0


def reverse_for_return(event) -> int:
    """Take back what the returned units earned (per SKU and unit)."""
    props = event.properties or {}
    order_number = str(props.get("order_id") or "")
    return_number = str(props.get("return_id") or f"event-{event.pk}")
    earned = _earned(event.customer_id, order_number)
    if earned is None:
        return 0
    lines = earned.details.get("lines") or {}
    wanted = Decimal(0)
    for item in props.get("products") or []:
        if not isinstance(item, dict):
            continue
        line = lines.get(str(item.get("sku") or ""))
        if not line:
            continue
        quantity = _int(item.get("quantity"), default=1)
        per_unit = _decimal(line.get("points")) / max(1, _int(line.get("quantity"), default=1))
        wanted += per_unit * min(quantity, _int(line.get("quantity"), default=1))
    points = min(int(wanted.to_integral_value(rounding=ROUND_FLOOR)), _left(earned))
    if points <= 0:
        return 0
    _entry, created = _add(
        event.customer_id,
        EntryKind.REVERSE,
        -points,
        f"return:{return_number}",
        order_number=order_number,
        channel_id=event.channel_id,
    )
    return points if created else 0


def reverse_for_cancel(event) -> int:
    """Take back what is left of an order's points, and give back points it spent."""
    order_number = str((event.properties or {}).get("order_id") or "")
    release_spend(order_number)
    earned = _earned(event.customer_id, order_number)
    if earned is None:
        return 0
    points = _left(earned)
    if points <= 0:
        return 0
    _entry, created = _add(
        earned.customer_id,
        EntryKind.REVERSE,
        -points,
        f"cancel:{order_number}",
        order_number=order_number,
        channel_id=event.channel_id,
    )
    return points if created else 0


def _earned(customer_id, order_number) -> LoyaltyEntry | None:
    if not order_number:
        return None
    return (
        LoyaltyEntry.objects.filter(order_number=order_number, kind=EntryKind.EARN)
        .filter(Q(customer_id=customer_id) | Q(source=f"order:{order_number}"))
        .first()
    )


def _left(earned: LoyaltyEntry) -> int:
    taken = (
        LoyaltyEntry.objects.filter(
            customer_id=earned.customer_id,
            order_number=earned.order_number,
            kind=EntryKind.REVERSE,
        ).aggregate(total=Sum("points"))["total"]
        or 0
    )
    return earned.points + taken


def _rules(currency: str) -> list[LoyaltyRule]:
    if not currency:
        return []
    return list(
        LoyaltyRule.objects.filter(is_active=True, currency=currency).select_related("category")
    )


def _rate(rules, channel_id, category_path: str) -> Decimal:
    """points_per_unit of the most specific rule matching this channel and category: one with
    both, then a category (the deeper the better), then a channel, then neither."""
    best_key, best_rule = None, None
    for rule in rules:
        if rule.channel_id is not None and rule.channel_id != channel_id:
            continue
        if rule.category_id is not None and not category_path.startswith(rule.category.path):
            continue
        key = (
            (2 if rule.category_id else 0) + (1 if rule.channel_id else 0),
            len(rule.category.path) if rule.category_id else 0,
        )
        if best_key is None or key > best_key:
            best_key, best_rule = key, rule
    return best_rule.points_per_unit if best_rule else Decimal(0)


def _lines(props) -> list[_Line]:
    lines = []
    for item in props.get("products") or []:
        if not isinstance(item, dict) or not item.get("sku"):
            continue
        quantity = _int(item.get("quantity"), default=1)
        price = _decimal(item.get("price"))
        if quantity > 0 and price > 0:
            lines.append(_Line(str(item["sku"]), quantity, price * quantity))
    return lines


def _expiry(when):
    days = settings.LOYALTY_POINTS_EXPIRE_DAYS
    return (when or timezone.now()) + timedelta(days=days) if days else None


# --- expiry -----------------------------------------------------------------------------


def _used_and_balance(customer_id) -> tuple[int, int]:
    sums = _sums_by_kind(customer_id)
    return _used(sums), sum(sums.values())


def expire_points(*, now=None) -> int:
    """Expire what reached its date and was not used (oldest points are used first)."""
    now = now or timezone.now()
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S")
    customers = (
        LoyaltyEntry.objects.filter(kind__in=EXPIRING_KINDS, points__gt=0, expires_at__lte=now)
        .values_list("customer_id", flat=True)
        .distinct()
    )
    expired = 0
    for customer_id in customers.iterator(chunk_size=2000):
        with transaction.atomic():
            lock_customers([customer_id])
            due = (
                LoyaltyEntry.objects.filter(
                    customer_id=customer_id,
                    kind__in=EXPIRING_KINDS,
                    points__gt=0,
                    expires_at__lte=now,
                ).aggregate(total=Sum("points"))["total"]
                or 0
            )
            used, balance = _used_and_balance(customer_id)
            points = max(0, min(balance, due - used))
            if points:
                _entry, created = _add(customer_id, EntryKind.EXPIRE, -points, f"expire:{stamp}")
                expired += points if created else 0
    return expired


# --- referrals ----------------------------------------------------------------------------


def referral_code_for(customer) -> ReferralCode:
    """Her code (made once; asking again returns the same)."""
    existing = ReferralCode.objects.filter(customer=customer).order_by("id").first()
    if existing:
        return existing
    for _attempt in range(5):
        code = REFERRAL_PREFIX + "".join(secrets.choice(CODE_ALPHABET) for _ in range(7))
        try:
            with transaction.atomic():
                lock_customers([customer.pk])
                existing = ReferralCode.objects.filter(customer=customer).order_by("id").first()
                return existing or ReferralCode.objects.create(customer=customer, code=code)
        except IntegrityError:
            continue
    raise ReferralRefused(_("Could not make a unique code; try again."))


def is_referral_code(code: str) -> bool:
    return (code or "").upper().startswith(REFERRAL_PREFIX)


def _referrer_of(code: str):
    found = (
        ReferralCode.objects.select_related("customer")
        .filter(code=(code or "").strip().upper())
        .first()
    )
    if found is None:
        raise ReferralRefused(
            _("Unknown referral code %(code)s.") % {"code": code},
            fields={"code": [_("Unknown code.")]},
        )
    referrer = found.customer
    while referrer.merged_into_id:
        referrer = customer_by_id(referrer.merged_into_id) or referrer
        if referrer.merged_into_id == referrer.pk:
            break
    return found, referrer


def apply_referral(referee, code: str, *, order_number: str = "") -> tuple[Referral, bool]:
    """Record that `code`'s owner brought `referee`. Refuses (ReferralRefused naming `code`)
    her own code, a customer who has ordered before, one referred already by someone else,
    and one sharing an identity with the referrer. The same code again returns the first."""
    found, referrer = _referrer_of(code)
    if referrer.pk == referee.pk:
        raise ReferralRefused(
            _("A customer cannot use her own referral code."),
            fields={"code": [_("Her own code.")]},
        )
    with transaction.atomic():
        lock_customers([referee.pk])
        existing = Referral.objects.filter(referee=referee).order_by("id").first()
        if existing is not None:
            if existing.referrer_id == referrer.pk:
                return existing, False
            raise ReferralRefused(
                _("She was referred by someone else already."),
                fields={"code": [_("Already referred.")]},
            )
        if has_completed_order(referee.pk, other_than=order_number or None):
            raise ReferralRefused(
                _("A referral code is for a new customer's first order."),
                fields={"code": [_("She has ordered before.")]},
            )
        if _shared_identity(referrer.pk, referee.pk):
            raise ReferralRefused(
                _("The referral was refused: the two customers share a contact."),
                fields={"code": [_("Same person.")]},
            )
        return Referral.objects.create(
            referrer=referrer, referee=referee, code=found.code, order_number=order_number
        ), True


def quote_referral(code: str, *, customer) -> str:
    """What a referral code on an order says (it takes nothing off: both earn points on her
    first order). Raises orders' CouponRefused when it cannot apply."""
    if customer is None:
        raise CouponRefused(_("A referral code needs a known customer."))
    try:
        _found, referrer = _referrer_of(code)
    except ReferralRefused as refused:
        raise CouponRefused(refused.message) from refused
    if referrer.pk == customer.pk:
        raise CouponRefused(_("A customer cannot use her own referral code."))
    return _("Referred by a friend: you both earn %(points)s points with this order.") % {
        "points": settings.REFERRAL_REFEREE_POINTS
    }


def redeem_referral(code: str, *, customer, order_number: str) -> None:
    """Inside the order's transaction: record the referral, or refuse the order."""
    if customer is None:
        raise CouponRefused(_("A referral code needs a known customer."))
    try:
        apply_referral(customer, code, order_number=order_number)
    except ReferralRefused as refused:
        raise CouponRefused(refused.message) from refused


def credit_referral(event) -> int:
    """On her first completed order (a timeline event): credit both sides once, or refuse
    the referral (fraud)."""
    order_number = str((event.properties or {}).get("order_id") or "")
    return credit_referral_of(event.customer_id, order_number)


def credit_referral_of(customer_id, order_number: str) -> int:
    """Credit (1) or refuse (0) her pending referral for her completed order `order_number`."""
    referral = (
        Referral.objects.filter(referee_id=customer_id, status=ReferralStatus.PENDING)
        .order_by("id")
        .first()
    )
    if referral is None:
        return 0
    if has_completed_order(customer_id, other_than=order_number or None) and (
        referral.order_number != order_number
    ):
        return _refuse(referral, _("Not her first order."))
    reason = _fraud(referral)
    if reason:
        return _refuse(referral, reason)
    referrer_points = settings.REFERRAL_REFERRER_POINTS
    referee_points = settings.REFERRAL_REFEREE_POINTS
    with transaction.atomic():
        won = Referral.objects.filter(pk=referral.pk, status=ReferralStatus.PENDING).update(
            status=ReferralStatus.CREDITED,
            order_number=order_number,
            referrer_points=referrer_points,
            referee_points=referee_points,
            decided_at=timezone.now(),
        )
        if not won:
            return 0
        expires = _expiry(timezone.now())
        for customer_id, points in (
            (referral.referrer_id, referrer_points),
            (referral.referee_id, referee_points),
        ):
            if points > 0:
                _add(
                    customer_id,
                    EntryKind.REFERRAL,
                    points,
                    f"referral:{referral.pk}",
                    order_number=order_number,
                    expires_at=expires,
                )
    return 1


def _refuse(referral, reason: str) -> int:
    Referral.objects.filter(pk=referral.pk, status=ReferralStatus.PENDING).update(
        status=ReferralStatus.REFUSED, refusal=str(reason)[:200], decided_at=timezone.now()
    )
    return 0


def _fraud(referral) -> str:
    if referral.referrer_id == referral.referee_id:
        return _("Self-referral.")
    if _shared_identity(referral.referrer_id, referral.referee_id):
        return _("The two customers share a contact.")
    theirs = shipping_addresses_of([referral.referrer_id])
    hers = shipping_addresses_of([referral.referee_id])
    if theirs & hers:
        return _("The same shipping address as the referrer.")
    return ""


def _contact_key(kind: str, value: str) -> str:
    value = (value or "").strip().casefold()
    if kind == "email":
        local, _at, domain = value.partition("@")
        local = local.split("+", 1)[0]
        if domain in ("gmail.com", "googlemail.com"):
            local, domain = local.replace(".", ""), "gmail.com"
        return f"email:{local}@{domain}"
    digits = "".join(character for character in value if character.isdigit())
    return f"number:{digits}" if len(digits) >= 7 else f"{kind}:{value}"


CONTACT_KINDS = ("email", "phone", "whatsapp", "telegram", "device", "loyalty_card")


def _shared_identity(first_id, second_id) -> bool:
    keys = {first_id: set(), second_id: set()}
    for customer_id, kind, value in identity_values_of([first_id, second_id], CONTACT_KINDS):
        keys[customer_id].add(_contact_key(kind, value))
    return bool(keys[first_id] & keys[second_id])


def program_figures(*, days: int = 30, now=None) -> dict:
    """Points outstanding, and earned / spent / taken back / expired in the last `days`."""
    now = now or timezone.now()
    since = now - timedelta(days=days)
    recent = dict(
        LoyaltyEntry.objects.filter(created_at__gte=since)
        .values_list("kind")
        .annotate(total=Sum("points"))
        .values_list("kind", "total")
    )
    return {
        "days": days,
        "outstanding": LoyaltyEntry.objects.aggregate(total=Sum("points"))["total"] or 0,
        "members": LoyaltyEntry.objects.values("customer_id").distinct().count(),
        "earned": recent.get(EntryKind.EARN, 0) + recent.get(EntryKind.REFERRAL, 0),
        "spent": -recent.get(EntryKind.SPEND, 0) - recent.get(EntryKind.RELEASE, 0),
        "reversed": -recent.get(EntryKind.REVERSE, 0),
        "expired": -recent.get(EntryKind.EXPIRE, 0),
    }


def earn_rules():
    return LoyaltyRule.objects.select_related("channel", "category").order_by(
        "currency", "channel__code", "category__path"
    )


def tiers():
    return LoyaltyTier.objects.order_by("currency", "minimum_spend")


def referral_report(*, status: str | None = None):
    referrals = Referral.objects.select_related("referrer", "referee").order_by("-created_at")
    if status:
        referrals = referrals.filter(status=status)
    return referrals


# --- helpers ------------------------------------------------------------------------------


def _decimal(value) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except (InvalidOperation, ValueError):
        return Decimal(0)


def _int(value, *, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
