"""Support reports (reads only): volume by channel and day, first response and resolution
time percentiles, SLA breach rate, backlog and CSAT, overall, per agent and per team.

Percentiles are computed by PostgreSQL (`percentile_cont ... WITHIN GROUP`) when the database
is PostgreSQL, and in Python from the same rows on SQLite.
"""

import statistics
from collections import defaultdict
from datetime import timedelta

from django.db import connection
from django.db.models import Aggregate, Avg, Count, FloatField, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from support.models import ACTIVE_STATUSES, Conversation, CsatResponse, Direction, Message

BREACHED = (
    Q(first_response_breached=True) | Q(next_response_breached=True) | Q(resolution_breached=True)
)
GROUPS = {"overall": None, "agent": "assignee__username", "team": "team__name"}


class PercentileCont(Aggregate):
    """PostgreSQL's continuous percentile of a column."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def python_percentile(values, fraction):
    """Linear interpolation between closest ranks, as percentile_cont does."""
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    position = (len(values) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def _timings(conversations, key):
    """{group: {frt_p50, frt_p90, resolution_p50, resolution_p90}}"""
    fields = ("first_response_seconds", "resolution_seconds")
    if is_postgres():
        rows = conversations.values(*([key] if key else [])).annotate(
            frt_p50=PercentileCont("first_response_seconds", 0.5),
            frt_p90=PercentileCont("first_response_seconds", 0.9),
            resolution_p50=PercentileCont("resolution_seconds", 0.5),
            resolution_p90=PercentileCont("resolution_seconds", 0.9),
        )
        if not key:
            rows = [
                conversations.aggregate(
                    frt_p50=PercentileCont("first_response_seconds", 0.5),
                    frt_p90=PercentileCont("first_response_seconds", 0.9),
                    resolution_p50=PercentileCont("resolution_seconds", 0.5),
                    resolution_p90=PercentileCont("resolution_seconds", 0.9),
                )
            ]
        return {(row.get(key) if key else "all"): row for row in rows}
    samples = defaultdict(lambda: {name: [] for name in fields})
    for row in conversations.values(*([key] if key else []), *fields):
        group = row.get(key) if key else "all"
        for name in fields:
            samples[group][name].append(row[name])
    return {
        group: {
            "frt_p50": python_percentile(values["first_response_seconds"], 0.5),
            "frt_p90": python_percentile(values["first_response_seconds"], 0.9),
            "resolution_p50": python_percentile(values["resolution_seconds"], 0.5),
            "resolution_p90": python_percentile(values["resolution_seconds"], 0.9),
        }
        for group, values in samples.items()
    }


def _counts(conversations, key):
    values = [key] if key else []
    aggregates = {
        "conversations": Count("id"),
        "with_sla": Count("id", filter=Q(first_response_due_at__isnull=False)),
        "breached": Count("id", filter=BREACHED),
        "resolved": Count("id", filter=Q(resolved_at__isnull=False)),
    }
    if key:
        rows = conversations.values(*values).annotate(**aggregates).order_by(key)
        return {row[key]: row for row in rows}
    return {"all": conversations.aggregate(**aggregates)}


def _csat(since, key):
    responses = CsatResponse.objects.filter(created_at__gte=since)
    csat_key = {"assignee__username": "agent__username", "team__name": "team__name"}.get(key)
    aggregates = {
        "csat_count": Count("id"),
        "csat_average": Avg("rating"),
        "csat_satisfied": Count("id", filter=Q(rating__gte=4)),
    }
    if csat_key:
        rows = responses.values(csat_key).annotate(**aggregates)
        return {row[csat_key]: row for row in rows}
    return {"all": responses.aggregate(**aggregates)}


def _rows(since, key):
    conversations = Conversation.objects.filter(created_at__gte=since, merged_into__isnull=True)
    counts = _counts(conversations, key)
    timings = _timings(conversations, key)
    csat = _csat(since, key)
    rows = []
    for group in sorted(set(counts) | set(csat), key=lambda g: (g is None, str(g))):
        row = {"group": group, **counts.get(group, {}), **timings.get(group, {})}
        row.update(csat.get(group, {}))
        with_sla = row.get("with_sla") or 0
        row["breach_rate"] = (row.get("breached", 0) / with_sla) if with_sla else None
        if row.get("csat_count"):
            row["csat_share"] = row["csat_satisfied"] / row["csat_count"]
        rows.append(row)
    return rows


def volume_by_channel_and_day(since):
    rows = (
        Message.objects.filter(direction=Direction.INBOUND, created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values("day", "channel__kind")
        .annotate(n=Count("id"))
        .order_by("day", "channel__kind")
    )
    kinds = sorted({row["channel__kind"] for row in rows})
    days: dict = defaultdict(dict)
    for row in rows:
        days[row["day"]][row["channel__kind"]] = row["n"]
    return {
        "kinds": kinds,
        "days": [
            {"day": day, "counts": [days[day].get(kind, 0) for kind in kinds]}
            for day in sorted(days)
        ],
        "totals": [sum(days[day].get(kind, 0) for day in days) for kind in kinds],
    }


def backlog():
    active = Conversation.objects.filter(status__in=ACTIVE_STATUSES, merged_into__isnull=True)
    now = timezone.now()
    return {
        "by_status": dict(active.values_list("status").annotate(n=Count("id")).order_by()),
        "by_team": list(
            active.values("team__name")
            .annotate(n=Count("id"), breaching=Count("id", filter=Q(sla_due_at__lte=now)))
            .order_by("team__name")
        ),
        "unassigned": active.filter(assignee__isnull=True).count(),
        "breaching": active.filter(sla_due_at__lte=now).count(),
    }


def support_report(*, days=30) -> dict:
    since = timezone.now() - timedelta(days=days)
    overall = _rows(since, None)
    return {
        "since": since,
        "engine": "PostgreSQL percentile_cont" if is_postgres() else "Python (SQLite)",
        "overall": overall[0] if overall else {},
        "agents": _rows(since, GROUPS["agent"]),
        "teams": _rows(since, GROUPS["team"]),
        "volume": volume_by_channel_and_day(since),
        "backlog": backlog(),
    }


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None
