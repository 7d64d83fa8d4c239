"""SLA clocks: due times counted in the team's business hours (its time zone, its week, its
holidays), paused while a conversation is pending on the customer, and the breach check that
beat runs and that escalates (priority up, the team lead notified).
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.services import shared_cache
from support import live
from support.hours import parse_weekly, zone_of
from support.models import (
    AgentNotification,
    BusinessHours,
    Conversation,
    ConversationStatus,
    NotificationKind,
    Priority,
    SlaPolicy,
)

# How far ahead a clock may look for open hours before giving up (a calendar of holidays only).
MAX_DAYS_AHEAD = 800


@dataclass
class Calendar:
    """Business hours. Without any weekly hours the team works around the clock."""

    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    weekly: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()

    @property
    def always_open(self) -> bool:
        return not self.weekly

    def intervals_on(self, day: date) -> list[tuple[datetime, datetime]]:
        if day in self.holidays:
            return []
        spans = []
        for start, end in self.weekly.get(day.isoweekday(), []):
            spans.append((self._at(day, start), self._at(day, end)))
        return spans

    def _at(self, day: date, minute: int) -> datetime:
        if minute >= 24 * 60:
            return datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone)
        return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.zone)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of working time after `start`."""
        if self.always_open:
            return start + duration
        remaining = duration
        day = start.astimezone(self.zone).date()
        for _ in range(MAX_DAYS_AHEAD):
            for opens, closes in self.intervals_on(day):
                opens = max(opens, start)
                if closes <= opens:
                    continue
                span = closes - opens
                if remaining <= span:
                    return opens + remaining
                remaining -= span
            day += timedelta(days=1)
        raise ValueError("These business hours have no open time in the coming years.")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time from `start` to `end` (zero if end is earlier)."""
        if end <= start:
            return timedelta(0)
        if self.always_open:
            return end - start
        total = timedelta(0)
        day = start.astimezone(self.zone).date()
        last = end.astimezone(self.zone).date()
        while day <= last:
            for opens, closes in self.intervals_on(day):
                opens, closes = max(opens, start), min(closes, end)
                if closes > opens:
                    total += closes - opens
            day += timedelta(days=1)
        return total


# Teams' hours and SLA policies change rarely and are read on every new message: they are
# cached, under a version number that any change to them bumps (see SupportConfig.ready).
# With the shared cache down they are read from the database (core.services.shared_cache).
CONFIG_TTL = 300
CACHE_USE = "SLA configuration"
CONFIG_VERSION_KEY = "support:sla-config-version"
NO_POLICY = "none"


def _config_version() -> int | None:
    """The configuration's version, or None when the cache is down (read the database)."""
    try:
        return cache.get_or_set(CONFIG_VERSION_KEY, 1, None)
    except shared_cache.CACHE_ERRORS as error:
        shared_cache.unavailable(CACHE_USE, error)
        return None


def config_changed(**kwargs) -> None:
    """Receiver for saves and deletes of teams, hours, holidays and policies. With the cache
    down the change is not lost for long: cached entries expire after CONFIG_TTL."""
    try:
        try:
            cache.incr(CONFIG_VERSION_KEY)
        except ValueError:
            cache.set(CONFIG_VERSION_KEY, 2, None)
    except shared_cache.CACHE_ERRORS as error:
        shared_cache.unavailable(CACHE_USE, error)


def calendar_for(team) -> Calendar:
    if team is None:
        return Calendar()
    version = _config_version()
    key = f"support:calendar:{version}:{team.pk}"
    spec = None if version is None else shared_cache.read(key, use=CACHE_USE)
    if spec is None:
        hours = BusinessHours.objects.filter(team_id=team.pk).first()
        spec = (
            (hours.time_zone, hours.weekly, list(hours.holidays.values_list("date", flat=True)))
            if hours is not None
            else ()
        )
        if version is not None:
            shared_cache.write(key, spec, CONFIG_TTL, use=CACHE_USE)
    if not spec:
        return Calendar()
    time_zone, weekly, holidays = spec
    return Calendar(
        zone=zone_of(time_zone), weekly=parse_weekly(weekly), holidays=frozenset(holidays)
    )


def policy_for(team, priority) -> SlaPolicy | None:
    """The team's own policy for the priority, else the general one, else none."""
    version = _config_version()
    key = f"support:policy:{version}:{team.pk if team else 0}:{int(priority)}"
    policy = None if version is None else shared_cache.read(key, use=CACHE_USE)
    if policy is None:
        policies = SlaPolicy.objects.filter(priority=priority).filter(
            Q(team=team) | Q(team__isnull=True) if team else Q(team__isnull=True)
        )
        policy = min(policies, key=lambda p: p.team_id is None, default=None) or NO_POLICY
        if version is not None:
            shared_cache.write(key, policy, CONFIG_TTL, use=CACHE_USE)
    return None if policy == NO_POLICY else policy


def running_dues(conversation: Conversation) -> list[datetime]:
    """The targets still running: first response not yet given, next response, resolution."""
    dues = []
    if conversation.first_response_at is None and conversation.first_response_due_at:
        dues.append(conversation.first_response_due_at)
    if conversation.next_response_due_at:
        dues.append(conversation.next_response_due_at)
    if conversation.resolved_at is None and conversation.resolution_due_at:
        dues.append(conversation.resolution_due_at)
    return dues


def refresh_due(conversation: Conversation, now=None) -> None:
    """Recompute the inbox's sort key and breaching flag (no save)."""
    now = now or timezone.now()
    if not conversation.is_active or conversation.sla_paused_at:
        conversation.sla_due_at = None
        conversation.is_breaching = False
        return
    dues = running_dues(conversation)
    conversation.sla_due_at = min(dues) if dues else None
    conversation.is_breaching = bool(dues) and min(dues) <= now


def start_clocks(conversation: Conversation, now=None) -> None:
    """A new (or reopened) conversation: first response and resolution targets from now."""
    now = now or timezone.now()
    policy = policy_for(conversation.team, conversation.priority)
    if policy is None:
        refresh_due(conversation, now)
        return
    calendar = calendar_for(conversation.team)
    if conversation.first_response_at is None:
        conversation.first_response_due_at = calendar.add(
            now, timedelta(minutes=policy.first_response_minutes)
        )
    conversation.resolution_due_at = calendar.add(now, timedelta(minutes=policy.resolution_minutes))
    refresh_due(conversation, now)


def customer_wrote(conversation: Conversation, now=None) -> None:
    """The customer wrote again after an answer: the next-response clock starts."""
    now = now or timezone.now()
    if conversation.first_response_at is None or conversation.next_response_due_at:
        refresh_due(conversation, now)
        return
    policy = policy_for(conversation.team, conversation.priority)
    if policy is not None:
        conversation.next_response_due_at = calendar_for(conversation.team).add(
            now, timedelta(minutes=policy.next_response_minutes)
        )
    refresh_due(conversation, now)


def agent_answered(conversation: Conversation, now=None) -> None:
    now = now or timezone.now()
    if conversation.first_response_at is None:
        conversation.first_response_at = now
        conversation.first_response_seconds = max(
            0, int((now - conversation.created_at).total_seconds())
        )
    conversation.next_response_due_at = None
    conversation.next_response_breached = False
    refresh_due(conversation, now)


def pause(conversation: Conversation, now=None) -> None:
    """Pending on the customer: the clocks stop."""
    if conversation.sla_paused_at is None:
        conversation.sla_paused_at = now or timezone.now()
    conversation.sla_due_at = None
    conversation.is_breaching = False


def resume(conversation: Conversation, now=None) -> None:
    """The clocks run again; every running target moves by the working time spent paused."""
    now = now or timezone.now()
    paused_at, conversation.sla_paused_at = conversation.sla_paused_at, None
    if paused_at is not None:
        calendar = calendar_for(conversation.team)
        spent = calendar.between(paused_at, now)
        if spent:
            for name in ("first_response_due_at", "next_response_due_at", "resolution_due_at"):
                due = getattr(conversation, name)
                if due is not None:
                    setattr(conversation, name, calendar.add(due, spent))
    refresh_due(conversation, now)


def detect_breaches(now=None) -> int:
    """Flag targets that passed, escalate each newly breached conversation once per target:
    priority one step up (to urgent at most) and a notification to the team lead (or the
    assignee when the team has no lead). Returns how many conversations were escalated."""
    now = now or timezone.now()
    _wake_snoozed(now)
    due = (
        Q(first_response_at__isnull=True, first_response_due_at__lte=now)
        & Q(first_response_breached=False)
        | Q(next_response_due_at__lte=now, next_response_breached=False)
        | Q(resolved_at__isnull=True, resolution_due_at__lte=now, resolution_breached=False)
    )
    candidates = Conversation.objects.filter(
        due, status=ConversationStatus.OPEN, sla_paused_at__isnull=True
    ).values_list("pk", flat=True)
    escalated = 0
    for pk in list(candidates[:1000]):
        with transaction.atomic():
            conversation = (
                Conversation.objects.select_for_update(of=("self",))
                .select_related("team")
                .get(pk=pk)
            )
            if _escalate(conversation, now):
                escalated += 1
    return escalated


def _escalate(conversation: Conversation, now) -> bool:
    breached = []
    if (
        conversation.first_response_at is None
        and conversation.first_response_due_at
        and conversation.first_response_due_at <= now
        and not conversation.first_response_breached
    ):
        conversation.first_response_breached = True
        breached.append("first response")
    if (
        conversation.next_response_due_at
        and conversation.next_response_due_at <= now
        and not conversation.next_response_breached
    ):
        conversation.next_response_breached = True
        breached.append("next response")
    if (
        conversation.resolved_at is None
        and conversation.resolution_due_at
        and conversation.resolution_due_at <= now
        and not conversation.resolution_breached
    ):
        conversation.resolution_breached = True
        breached.append("resolution")
    if not breached or conversation.sla_paused_at or not conversation.is_active:
        return False
    conversation.priority = min(conversation.priority + 1, Priority.URGENT)
    refresh_due(conversation, now)
    conversation.updated_at = now
    conversation.save()
    lead = conversation.team.lead if conversation.team else None
    for user in {u for u in (lead or conversation.assignee,) if u is not None}:
        AgentNotification.objects.create(
            user=user,
            kind=NotificationKind.ESCALATION,
            conversation=conversation,
            text="SLA breached: " + ", ".join(breached),
            created_at=now,
        )
    live.conversation_changed(conversation, "sla_breached")
    return True


def _wake_snoozed(now) -> None:
    Conversation.objects.filter(status=ConversationStatus.SNOOZED, snoozed_until__lte=now).update(
        status=ConversationStatus.OPEN, snoozed_until=None, updated_at=now
    )
