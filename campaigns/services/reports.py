"""Reports: campaign results per variant, channel attribution (first touch, last touch,
linear), the share of store purchases that followed an online touch, and audiences for
remarketing (SHA-256 of normalised email and phone)."""

import csv
import hashlib
import io
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, Sum

from campaigns.errors import InvalidRules
from campaigns.models import SENT_STATUSES, CampaignMessage
from campaigns.services.segments import segment_queryset
from core.exports import spreadsheet_row
from customers.event_names import amount
from customers.models import Event, Identity

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
    one grouped query each)."""
    rows = (
        CampaignMessage.objects.filter(campaign=campaign)
        .values("variant__name")
        .annotate(**FIGURES, revenue=Sum("revenue"))
        .order_by("variant__name")
    )
    keys = tuple(FIGURES)
    total = dict.fromkeys(keys, 0) | {"revenue": Decimal(0)}
    variants = []
    for row in rows:
        figures = {key: row[key] for key in keys}
        figures["revenue"] = row["revenue"] or Decimal(0)
        for key in keys:
            total[key] += figures[key]
        total["revenue"] += figures["revenue"]
        variants.append({"variant": row["variant__name"] or "(held)", **_rates(figures)})
    channels = [
        {
            "channel": row["channel__code"] or "",
            "kind": row["channel__kind"] or "",
            **{key: row[key] for key in ("audience", "sent", "failed", "delivered", "read")},
        }
        for row in CampaignMessage.objects.filter(campaign=campaign)
        .values("channel__code", "channel__kind")
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
    figures["revenue"] = str(Decimal(figures["revenue"]).quantize(Decimal("0.01")))
    return figures


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
    orders = list(
        Event.objects.filter(name="order_completed", occurred_at__gte=since, occurred_at__lt=until)
        .select_related("channel")
        .order_by("occurred_at", "id")
    )
    customers = {o.customer_id for o in orders}
    touches = defaultdict(list)
    earliest = since - timedelta(days=lookback_days)
    for customer_id, kind, when in (
        Event.objects.filter(
            customer_id__in=customers,
            occurred_at__gte=earliest,
            occurred_at__lt=until,
            channel__isnull=False,
        )
        .exclude(name__in=("order_completed", "order_refunded"))
        .order_by("occurred_at", "id")
        .values_list("customer_id", "channel__kind", "occurred_at")
    ):
        touches[customer_id].append((when, kind))
    credits = {
        model: defaultdict(lambda: defaultdict(Decimal)) for model in models
    }  # model -> currency -> kind -> revenue
    for order in orders:
        revenue = amount(order.properties.get("total")) or Decimal(0)
        currency = str(order.properties.get("currency") or settings.DEFAULT_CURRENCY).upper()
        window_start = order.occurred_at - timedelta(days=lookback_days)
        before = [
            kind
            for when, kind in touches[order.customer_id]
            if window_start <= when <= order.occurred_at
        ]
        for model in models:
            credit = credits[model][currency]
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
    return {
        model: {
            currency: {
                kind: value.quantize(Decimal("0.01")) for kind, value in sorted(credit.items())
            }
            for currency, credit in sorted(by_currency.items())
        }
        for model, by_currency in credits.items()
    }


def store_purchases_after_online_touch(*, since, until, lookback_days=30) -> dict:
    """How many store purchases in [since, until) followed an online touch (web, app,
    messages, ads...) by the same customer in the previous `lookback_days`. One query."""
    online = Event.objects.filter(
        customer=OuterRef("customer"),
        channel__kind__in=ONLINE_TOUCH_KINDS,
        occurred_at__lt=OuterRef("occurred_at"),
        occurred_at__gte=OuterRef("occurred_at") - timedelta(days=lookback_days),
    )
    figures = Event.objects.filter(
        name="order_completed",
        channel__kind="store",
        occurred_at__gte=since,
        occurred_at__lt=until,
    ).aggregate(total=Count("id"), touched=Count("id", filter=Q(Exists(online))))
    total = figures["total"] or 0
    return {
        "store_purchases": total,
        "after_online_touch": figures["touched"] or 0,
        "share": round((figures["touched"] or 0) / total, 4) if total else 0.0,
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
    for customer_id, kind, value in (
        Identity.objects.filter(customer_id__in=members, kind__in=("email", "phone"))
        .order_by("customer_id", "id")
        .values_list("customer_id", "kind", "value")
        .iterator(chunk_size=5000)
    ):
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
