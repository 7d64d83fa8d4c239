"""Support reports (reads only): volume by channel and day, first response and resolution
time percentiles, SLA breach rate, backlog and CSAT, overall, per agent and per team.

Percentiles are computed by PostgreSQL (`percentile_cont ... WITHIN GROUP`) when the database
is PostgreSQL, and in Python from the same rows on SQLite.
"""

import statistics
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import Aggregate, Avg, Count, FloatField, Q
from django.db.models.functions import TruncDate, TruncWeek
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


def _csat(since, key, until=None):
    responses = CsatResponse.objects.filter(created_at__gte=since)
    if until is not None:
        responses = responses.filter(created_at__lt=until)
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


def _rows(since, key, until=None):
    conversations = Conversation.objects.filter(created_at__gte=since, merged_into__isnull=True)
    if until is not None:
        conversations = conversations.filter(created_at__lt=until)
    counts = _counts(conversations, key)
    timings = _timings(conversations, key)
    csat = _csat(since, key, until)
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


def volume_by_channel_and_day(since, until=None):
    messages = Message.objects.filter(direction=Direction.INBOUND, created_at__gte=since)
    if until is not None:
        messages = messages.filter(created_at__lt=until)
    rows = (
        messages.annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
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


def _monday(value) -> date:
    """A TruncWeek value (an aware datetime, or a date) as the local Monday."""
    return timezone.localtime(value).date() if isinstance(value, datetime) else value


def _local_midnight(day):
    return timezone.make_aware(datetime.combine(day, time.min))


def _weekly(conversations):
    """{Monday: {conversations, with_sla, breached, resolved, frt_p50, frt_p90,
    resolution_p50, resolution_p90}} of the conversations started in each local week."""
    week = TruncWeek("created_at", tzinfo=timezone.get_current_timezone())
    weeks: dict = defaultdict(dict)
    monday = _monday
    for row in (
        conversations.annotate(week=week)
        .values("week")
        .annotate(
            conversations=Count("id"),
            with_sla=Count("id", filter=Q(first_response_due_at__isnull=False)),
            breached=Count("id", filter=BREACHED),
            resolved=Count("id", filter=Q(resolved_at__isnull=False)),
        )
        .order_by()
    ):
        weeks[monday(row.pop("week"))].update(row)
    if is_postgres():
        rows = (
            conversations.annotate(week=week)
            .values("week")
            .annotate(
                frt_p50=PercentileCont("first_response_seconds", 0.5),
                frt_p90=PercentileCont("first_response_seconds", 0.9),
                resolution_p50=PercentileCont("resolution_seconds", 0.5),
                resolution_p90=PercentileCont("resolution_seconds", 0.9),
            )
            .order_by()
        )
        for row in rows:
            weeks[monday(row.pop("week"))].update(row)
    else:
        samples: dict = defaultdict(lambda: ([], []))
        for created, first, resolution in conversations.values_list(
            "created_at", "first_response_seconds", "resolution_seconds"
        ):
            local = timezone.localtime(created).date()
            first_list, resolution_list = samples[local - timedelta(days=local.weekday())]
            first_list.append(first)
            resolution_list.append(resolution)
        for key, (first_list, resolution_list) in samples.items():
            weeks[key].update(
                frt_p50=python_percentile(first_list, 0.5),
                frt_p90=python_percentile(first_list, 0.9),
                resolution_p50=python_percentile(resolution_list, 0.5),
                resolution_p90=python_percentile(resolution_list, 0.9),
            )
    return weeks


def _weekly_csat(since, until):
    rows = (
        CsatResponse.objects.filter(created_at__gte=since, created_at__lt=until)
        .annotate(week=TruncWeek("created_at", tzinfo=timezone.get_current_timezone()))
        .values("week")
        .annotate(
            csat_count=Count("id"),
            csat_average=Avg("rating"),
            csat_satisfied=Count("id", filter=Q(rating__gte=4)),
        )
        .order_by()
    )
    return {_monday(row["week"]): row for row in rows}


def support_over_time(since: date, until: date) -> dict:
    """Support over the local days since..until (both included), for the reports page and
    API: per week (Monday) of the conversations started in it, first response and
    resolution time percentiles (p50, p90, in seconds), the SLA breach rate and CSAT (the
    share of answers 4 or 5, and the average, of the answers given that week); the same per
    team and per agent over the period; inbound messages per day and channel kind.

    A breach rate is breached / conversations with an SLA (None without one); a percentile
    is None when no conversation of the group has the time yet."""
    start = _local_midnight(since)
    end = _local_midnight(until + timedelta(days=1))
    conversations = Conversation.objects.filter(
        created_at__gte=start, created_at__lt=end, merged_into__isnull=True
    )
    weekly = _weekly(conversations)
    csat = _weekly_csat(start, end)
    weeks = []
    monday = since - timedelta(days=since.weekday())
    while monday <= until:
        row = {
            "week": monday,
            "conversations": 0,
            "with_sla": 0,
            "breached": 0,
            "resolved": 0,
            "frt_p50": None,
            "frt_p90": None,
            "resolution_p50": None,
            "resolution_p90": None,
            "csat_count": 0,
            "csat_satisfied": 0,
            "csat_average": None,
        }
        row.update(weekly.get(monday, {}))
        row.update({k: v for k, v in csat.get(monday, {}).items() if k != "week"})
        row["breach_rate"] = row["breached"] / row["with_sla"] if row["with_sla"] else None
        row["csat_share"] = row["csat_satisfied"] / row["csat_count"] if row["csat_count"] else None
        weeks.append(row)
        monday += timedelta(days=7)
    overall = _rows(start, None, end)
    return {
        "since": since,
        "until": until,
        "overall": overall[0] if overall else {},
        "weeks": weeks,
        "teams": _rows(start, GROUPS["team"], end),
        "agents": _rows(start, GROUPS["agent"], end),
        "volume": volume_by_channel_and_day(start, end),
    }


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


# --- support over a period, from daily figures (the rollup customers.SupportDailyFigure) ---


def _day_entry(days, day, team, agent):
    return days.setdefault(
        (day, team, agent),
        {
            "day": day,
            "team": team,
            "agent": agent,
            "conversations": 0,
            "with_sla": 0,
            "breached": 0,
            "resolved": 0,
            "first_response_seconds": [],
            "resolution_seconds": [],
            "csat_count": 0,
            "csat_satisfied": 0,
            "csat_rating_sum": 0,
        },
    )


def conversations_touched_days(since_moment) -> set[date]:
    """The local days conversations were started on whose figures may have changed since
    `since_moment` (every support service stamps `updated_at` when it changes one: a reply,
    a resolution, a breach, a merge), and the days of CSAT answers given since."""
    zone = timezone.get_current_timezone()
    started = Conversation.objects.filter(updated_at__gte=since_moment).values_list(
        "created_at", flat=True
    )
    answered = CsatResponse.objects.filter(created_at__gte=since_moment).values_list(
        "created_at", flat=True
    )
    return {timezone.localtime(moment, zone).date() for moment in [*started, *answered]}


def support_days(since: date, until: date) -> list[dict]:
    """The support figures of each local day since..until, per team and agent (names; None
    for none): of the conversations started that day (not merged away), how many, with an
    SLA, breached, resolved, and each one's first response and resolution times in seconds
    (sorted: percentiles over any period are computed from them, exactly); of the CSAT
    answers given that day (the answer's team and agent), how many, satisfied (4 or 5) and
    the sum of ratings. Two queries; the form the daily rollup keeps."""
    start, end = _local_midnight(since), _local_midnight(until + timedelta(days=1))
    zone = timezone.get_current_timezone()
    days: dict = {}
    for created, team, agent, with_sla, breached, resolved, first, resolution in (
        Conversation.objects.filter(
            created_at__gte=start, created_at__lt=end, merged_into__isnull=True
        )
        .annotate(
            has_sla=Q(first_response_due_at__isnull=False),
            is_breached=BREACHED,
            is_resolved=Q(resolved_at__isnull=False),
        )
        .values_list(
            "created_at",
            "team__name",
            "assignee__username",
            "has_sla",
            "is_breached",
            "is_resolved",
            "first_response_seconds",
            "resolution_seconds",
        )
    ):
        entry = _day_entry(days, timezone.localtime(created, zone).date(), team, agent)
        entry["conversations"] += 1
        entry["with_sla"] += bool(with_sla)
        entry["breached"] += bool(breached)
        entry["resolved"] += bool(resolved)
        if first is not None:
            entry["first_response_seconds"].append(first)
        if resolution is not None:
            entry["resolution_seconds"].append(resolution)
    for created, team, agent, rating in CsatResponse.objects.filter(
        created_at__gte=start, created_at__lt=end
    ).values_list("created_at", "team__name", "agent__username", "rating"):
        entry = _day_entry(days, timezone.localtime(created, zone).date(), team, agent)
        entry["csat_count"] += 1
        entry["csat_satisfied"] += rating >= 4
        entry["csat_rating_sum"] += rating
    for entry in days.values():
        entry["first_response_seconds"].sort()
        entry["resolution_seconds"].sort()
    return sorted(days.values(), key=lambda e: (e["day"], str(e["team"]), str(e["agent"])))


def _sorted_percentile(values, fraction):
    """python_percentile of values already sorted, none of them None."""
    if not values:
        return None
    position = (len(values) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return float(values[low] + (values[high] - values[low]) * (position - low))


def _figures_of(entries) -> dict:
    """Counts, percentiles, breach rate and CSAT of daily entries added up."""
    row = {"conversations": 0, "with_sla": 0, "breached": 0, "resolved": 0,
           "csat_count": 0, "csat_satisfied": 0}  # fmt: skip
    first, resolution, rating_sum = [], [], 0
    for entry in entries:
        for key in row:
            row[key] += entry[key]
        first += entry["first_response_seconds"]
        resolution += entry["resolution_seconds"]
        rating_sum += entry["csat_rating_sum"]
    # Sorting runs already sorted per day is close to merging them.
    first.sort()
    resolution.sort()
    row.update(
        frt_p50=_sorted_percentile(first, 0.5),
        frt_p90=_sorted_percentile(first, 0.9),
        resolution_p50=_sorted_percentile(resolution, 0.5),
        resolution_p90=_sorted_percentile(resolution, 0.9),
        csat_average=rating_sum / row["csat_count"] if row["csat_count"] else None,
    )
    row["breach_rate"] = row["breached"] / row["with_sla"] if row["with_sla"] else None
    row["csat_share"] = row["csat_satisfied"] / row["csat_count"] if row["csat_count"] else None
    return row


def support_from_days(days: list[dict], since: date, until: date) -> dict:
    """support_over_time's weeks, overall, teams and agents from daily figures (support_days,
    or the rollup's rows of the same form): the same figures, percentiles interpolated as
    percentile_cont does over the same durations."""
    by_week, by_team, by_agent = defaultdict(list), defaultdict(list), defaultdict(list)
    for entry in days:
        by_week[entry["day"] - timedelta(days=entry["day"].weekday())].append(entry)
        by_team[entry["team"]].append(entry)
        by_agent[entry["agent"]].append(entry)
    weeks = []
    monday = since - timedelta(days=since.weekday())
    while monday <= until:
        weeks.append({"week": monday, **_figures_of(by_week.get(monday, []))})
        monday += timedelta(days=7)

    def groups(entries_by):
        return [
            {"group": group, **_figures_of(entries)}
            for group, entries in sorted(
                entries_by.items(), key=lambda g: (g[0] is None, str(g[0]))
            )
        ]

    return {
        "since": since,
        "until": until,
        "overall": _figures_of(days),
        "weeks": weeks,
        "teams": groups(by_team),
        "agents": groups(by_agent),
    }


def open_conversations_by_day(days) -> tuple[list[int], list[int]]:
    """For each day: conversations open at its end (created by then and not resolved by
    then), and conversations started that day whose SLA was breached. Open at a day's end is
    (created before it) - (resolved before it), as a conversation is resolved after it
    starts: a few grouped counts, whatever the number of conversations."""
    first, end = _local_midnight(days[0]), _local_midnight(days[-1] + timedelta(days=1))
    live = Conversation.objects.filter(merged_into__isnull=True)
    zone = timezone.get_current_timezone()

    def per_day(field, *conditions):
        rows = (
            live.filter(*conditions, **{f"{field}__gte": first, f"{field}__lt": end})
            .annotate(day=TruncDate(field, tzinfo=zone))
            .values("day")
            .annotate(n=Count("id"))
            .order_by()
        )
        return {row["day"]: row["n"] for row in rows}

    created, resolved = per_day("created_at"), per_day("resolved_at")
    breached = per_day("created_at", BREACHED)
    open_now = (
        live.filter(created_at__lt=first).count() - live.filter(resolved_at__lt=first).count()
    )
    open_at = []
    for day in days:
        open_now += created.get(day, 0) - resolved.get(day, 0)
        open_at.append(open_now)
    return open_at, [breached.get(day, 0) for day in days]
