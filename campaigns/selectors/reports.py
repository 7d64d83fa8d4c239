"""Campaigns' reports (reads only): campaign results per variant, channel attribution (first
touch, last touch, linear), the share of store purchases that followed an online touch, and
audiences for remarketing (SHA-256 of normalised email and phone). The timeline is read
through customers.selectors."""

import csv
import hashlib
import io
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import TruncWeek
from django.utils import timezone

from campaigns.errors import InvalidRules
from campaigns.models import SENT_STATUSES, CampaignMessage
from campaigns.services.segments import segment_queryset
from core.exports import spreadsheet_row
from customers.event_names import amount
from customers.selectors import (
    completed_orders_between,
    completed_orders_of,
    identity_values_of,
    orders_after_touches,
    touches_of,
)

ONLINE_TOUCH_KINDS = (
    "web",
    "mobile_app",
    "email",
    "sms",
    "whatsapp",
    "telegram",
    "instagram",
    "messenger",
    "ads",
    "marketplace",
)
ATTRIBUTION_MODELS = ("first_touch", "last_touch", "linear")


FIGURES = {
    "audience": Count("id"),
    "sent": Count("id", filter=Q(status__in=SENT_STATUSES)),
    "suppressed": Count("id", filter=Q(status="suppressed")),
    "failed": Count("id", filter=Q(status="failed")),
    "delivered": Count("id", filter=Q(delivered_at__isnull=False)),
    # Read receipts from the provider (WhatsApp, Messenger...), whatever the provider.
    "read": Count("id", filter=Q(read_at__isnull=False)),
    "opened": Count("id", filter=Q(opened_at__isnull=False)),
    "clicked": Count("id", filter=Q(clicked_at__isnull=False)),
    "converted": Count("id", filter=Q(converted_at__isnull=False)),
    "unsubscribes": Count("id", filter=Q(unsubscribed_at__isnull=False)),
}


def campaign_results(campaign) -> dict:
    """Sent, delivered, read, opened, clicked, converted, revenue and unsubscribes: in total,
    per variant and per channel (sent, delivered and read as the providers' receipts said;
    one grouped query each). Revenue is {currency: amount}, each conversion in the currency
    of the order it converted into: amounts are never added across currencies."""
    messages = CampaignMessage.objects.filter(campaign=campaign)
    rows = messages.values("variant__name").annotate(**FIGURES).order_by("variant__name")
    conversions = list(
        messages.filter(converted_at__isnull=False).values_list(
            "variant__name", "customer_id", "conversion_order", "revenue"
        )
    )
    currencies = conversion_currencies((c[1], c[2]) for c in conversions)
    revenue = defaultdict(lambda: defaultdict(Decimal))
    for variant, customer_id, order, value in conversions:
        currency = currencies.get((customer_id, order), settings.DEFAULT_CURRENCY)
        revenue[variant][currency] += value or Decimal(0)
    keys = tuple(FIGURES)
    total = dict.fromkeys(keys, 0) | {"revenue": defaultdict(Decimal)}
    variants = []
    for row in rows:
        figures = {key: row[key] for key in keys}
        figures["revenue"] = revenue.get(row["variant__name"], {})
        for key in keys:
            total[key] += figures[key]
        for currency, value in figures["revenue"].items():
            total["revenue"][currency] += value
        variants.append({"variant": row["variant__name"] or "(held)", **_rates(figures)})
    channels = [
        {
            "channel": row["channel__code"] or "",
            "kind": row["channel__kind"] or "",
            **{key: row[key] for key in ("audience", "sent", "failed", "delivered", "read")},
        }
        for row in messages.values("channel__code", "channel__kind")
        .annotate(
            **{key: FIGURES[key] for key in ("audience", "sent", "failed", "delivered", "read")}
        )
        .order_by("channel__code")
    ]
    return {"total": _rates(total), "variants": variants, "channels": channels}


def _rates(figures):
    sent = figures["sent"] or 0
    figures["click_rate"] = round(figures["clicked"] / sent, 4) if sent else 0.0
    figures["conversion_rate"] = round(figures["converted"] / sent, 4) if sent else 0.0
    figures["revenue"] = {
        currency: str(Decimal(value).quantize(Decimal("0.01")))
        for currency, value in sorted(figures["revenue"].items())
    }
    return figures


def conversion_currencies(conversions, *, since=None, until=None) -> dict:
    """{(customer id, converting order): currency} for conversions given as (customer id,
    order) pairs: the currency of the order's `order_completed` event (the default currency
    when the event names none), completed in [since, until) when given. A conversion whose
    order is not on the timeline is missing: its caller takes the default currency."""
    orders = completed_orders_of(
        {customer_id for customer_id, _o in conversions}, since=since, until=until
    )
    return {
        (customer_id, str(properties.get("order_id", ""))[:64]): str(
            properties.get("currency") or settings.DEFAULT_CURRENCY
        ).upper()
        for customer_id, properties in orders
        if isinstance(properties, dict)
    }


def channel_attribution(
    *, since, until, lookback_days=30, model="linear"
) -> dict[str, dict[str, Decimal]]:
    """Revenue of orders completed in [since, until) credited to the channels of the touches
    that preceded each order within `lookback_days`: all to the first (first_touch), all to
    the last (last_touch), or shared equally (linear). A touch is any timeline event with a
    channel other than an order; an order without touches is credited to its own channel.
    Amounts are never added across currencies: {currency: {channel kind: revenue}}."""
    if model not in ATTRIBUTION_MODELS:
        raise InvalidRules(
            f"Unknown model {model!r}.",
            fields={"model": [f"One of: {', '.join(ATTRIBUTION_MODELS)}."]},
        )
    return attribution_by_model(
        since=since, until=until, lookback_days=lookback_days, models=(model,)
    )[model]


def attribution_by_model(
    *, since, until, lookback_days=30, models=ATTRIBUTION_MODELS
) -> dict[str, dict[str, dict[str, Decimal]]]:
    """channel_attribution under several models from one read of the timeline (the
    reports page shows them side by side): {model: {currency: {channel kind: revenue}}}."""
    return attribution_over_time(
        since=since, until=until, lookback_days=lookback_days, models=models
    )["total"]


def attribution_over_time(*, since, until, lookback_days=30, models=ATTRIBUTION_MODELS) -> dict:
    """Attribution per local week (Monday) of the order, and its totals over the period,
    from one read of the timeline:
    {"weeks": {model: {currency: {week: {kind: revenue}}}}, "total": {model: {currency:
    {kind: revenue}}}} (each sum rounded to the cent once, at the end)."""
    weekly = _weekly_credits(since, until, lookback_days, models)
    cent = Decimal("0.01")
    total = {}
    for model, by_currency in weekly.items():
        total[model] = {}
        for currency, weeks in sorted(by_currency.items()):
            credit: dict = defaultdict(Decimal)
            for kinds in weeks.values():
                for kind, value in kinds.items():
                    credit[kind] += value
            total[model][currency] = {k: v.quantize(cent) for k, v in sorted(credit.items())}
    return {
        "weeks": {
            model: {
                currency: {
                    week: {kind: v.quantize(cent) for kind, v in sorted(credit.items())}
                    for week, credit in sorted(weeks.items())
                }
                for currency, weeks in sorted(by_currency.items())
            }
            for model, by_currency in weekly.items()
        },
        "total": total,
    }


def week_of(moment) -> date:
    """The local Monday of a moment's week."""
    day = timezone.localtime(moment).date()
    return day - timedelta(days=day.weekday())


def _weekly_credits(since, until, lookback_days, models):
    """Revenue of the orders completed in [since, until) credited to channel kinds under
    each model (as channel_attribution), per local week (Monday) the order was completed
    in: {model: {currency: {week: {channel kind: revenue}}}}, unrounded."""
    orders = completed_orders_between(since, until)
    customers = {o.customer_id for o in orders}
    touches = defaultdict(list)
    earliest = since - timedelta(days=lookback_days)
    for customer_id, kind, when in touches_of(customers, since=earliest, until=until):
        touches[customer_id].append((when, kind))
    # model -> currency -> week -> kind -> revenue
    credits = {
        model: defaultdict(lambda: defaultdict(lambda: defaultdict(Decimal))) for model in models
    }
    for order in orders:
        revenue = amount(order.properties.get("total")) or Decimal(0)
        currency = str(order.properties.get("currency") or settings.DEFAULT_CURRENCY).upper()
        week = week_of(order.occurred_at)
        window_start = order.occurred_at - timedelta(days=lookback_days)
        before = [
            kind
            for when, kind in touches[order.customer_id]
            if window_start <= when <= order.occurred_at
        ]
        for model in models:
            credit = credits[model][currency][week]
            if not before:
                credit[order.channel.kind if order.channel_id else "unknown"] += revenue
            elif model == "first_touch":
                credit[before[0]] += revenue
            elif model == "last_touch":
                credit[before[-1]] += revenue
            else:
                share = revenue / len(before)
                for kind in before:
                    credit[kind] += share
    return credits


def campaign_weeks(*, since, until) -> list[dict]:
    """What campaign messages did per local week of [since, until), each counted in the
    week it happened (a message sent in one week and clicked in the next counts in both):
    [{week, campaign, variant, sent, opened, clicked, converted, revenue: {currency:
    amount}}], ordered by week, campaign and variant. A conversion's revenue is in the
    currency of the order it converted into (its `order_completed` event), the default
    currency when that order is not on the timeline."""
    messages = CampaignMessage.objects.filter(campaign__isnull=False)
    zone = timezone.get_current_timezone()
    rows: dict = {}

    def entry(week, campaign, variant):
        week = timezone.localtime(week).date() if isinstance(week, datetime) else week
        key = (week, campaign, variant or "(held)")
        return rows.setdefault(
            key,
            {
                "week": key[0],
                "campaign": campaign,
                "variant": key[2],
                "sent": 0,
                "opened": 0,
                "clicked": 0,
                "converted": 0,
                "revenue": defaultdict(Decimal),
            },
        )

    for figure, field in (
        ("sent", "sent_at"),
        ("opened", "opened_at"),
        ("clicked", "clicked_at"),
    ):
        for row in (
            messages.filter(**{f"{field}__gte": since, f"{field}__lt": until})
            .annotate(week=TruncWeek(field, tzinfo=zone))
            .values("week", "campaign__name", "variant__name")
            .annotate(n=Count("id"))
            .order_by()
        ):
            entry(row["week"], row["campaign__name"], row["variant__name"])[figure] += row["n"]
    conversions = list(
        messages.filter(converted_at__gte=since, converted_at__lt=until).values_list(
            "campaign__name",
            "variant__name",
            "customer_id",
            "converted_at",
            "revenue",
            "conversion_order",
        )
    )
    currencies = conversion_currencies(
        ((c[2], c[5]) for c in conversions), since=since - timedelta(days=1), until=until
    )
    for campaign, variant, customer_id, when, revenue, order in conversions:
        row = entry(week_of(when), campaign, variant)
        row["converted"] += 1
        currency = currencies.get((customer_id, order), settings.DEFAULT_CURRENCY)
        row["revenue"][currency] += revenue or Decimal(0)
    return [
        {
            **row,
            "revenue": {
                currency: value.quantize(Decimal("0.01"))
                for currency, value in sorted(row["revenue"].items())
            },
        }
        for _key, row in sorted(rows.items(), key=lambda item: (item[0][0], item[0][1], item[0][2]))
    ]


def store_purchases_after_online_touch(*, since, until, lookback_days=30) -> dict:
    """How many store purchases in [since, until) followed an online touch (web, app,
    messages, ads...) by the same customer in the previous `lookback_days`. One query."""
    total, touched = orders_after_touches(
        channel_kind="store",
        touch_kinds=ONLINE_TOUCH_KINDS,
        since=since,
        until=until,
        lookback_days=lookback_days,
    )
    return {
        "store_purchases": total,
        "after_online_touch": touched,
        "share": round(touched / total, 4) if total else 0.0,
        "lookback_days": lookback_days,
    }


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def audience_csv(segment) -> str:
    """The segment as hashed identifiers, the customer-list CSV ad platforms accept: columns
    `email,phone`, each SHA-256 of the normalised value (email lower-case and trimmed; phone
    E.164 digits with the leading +, as stored), empty when unknown."""
    members = segment_queryset(segment.rules).values("pk")
    emails = defaultdict(list)
    phones = defaultdict(list)
    for customer_id, kind, value in identity_values_of(members, ("email", "phone")):
        (emails if kind == "email" else phones)[customer_id].append(value.strip().lower())
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["email", "phone"])
    for customer_id in sorted(set(emails) | set(phones)):
        mails, numbers = emails.get(customer_id, []), phones.get(customer_id, [])
        for index in range(max(len(mails), len(numbers))):
            writer.writerow(
                spreadsheet_row(
                    [
                        sha256_hex(mails[index]) if index < len(mails) else "",
                        sha256_hex(numbers[index]) if index < len(numbers) else "",
                    ]
                )
            )
    return out.getvalue()
