"""SLA clocks in business hours: nights, weekends, holidays, the pending pause, breaches."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from support.factories import (
    BusinessHoursFactory,
    ConversationFactory,
    SlaPolicyFactory,
    TeamFactory,
    TeamMembershipFactory,
)
from support.models import (
    AgentNotification,
    ConversationStatus,
    Holiday,
    NotificationKind,
    Priority,
)
from support.services import detect_breaches, set_status
from support.services.sla import Calendar, calendar_for, parse_weekly, start_clocks
from support.tasks import detect_sla_breaches

TEHRAN = ZoneInfo("Asia/Tehran")
BERLIN = ZoneInfo("Europe/Berlin")


def week(days=(1, 2, 3, 4, 5), hours=("09:00", "17:00")):
    return parse_weekly({str(d): [list(hours)] for d in days})


def test_friday_afternoon_question_is_due_monday_morning():
    calendar = Calendar(zone=BERLIN, weekly=week())
    friday = datetime(2026, 11, 27, 16, 30, tzinfo=BERLIN)  # a Friday
    due = calendar.add(friday, timedelta(hours=1))
    assert due == datetime(2026, 11, 30, 9, 30, tzinfo=BERLIN)  # Monday


def test_holiday_and_night_are_skipped_in_the_teams_zone():
    calendar = Calendar(
        zone=TEHRAN,
        weekly=week(days=(6, 7, 1, 2, 3), hours=("09:00", "17:00")),  # Saturday to Wednesday
        holidays=frozenset({date(2026, 11, 29)}),  # Sunday closed
    )
    # Saturday 16:00 Tehran, given in UTC: 1 h left Saturday, Sunday holiday, Monday 09:00 on.
    start = datetime(2026, 11, 28, 16, 0, tzinfo=TEHRAN).astimezone(ZoneInfo("UTC"))
    due = calendar.add(start, timedelta(hours=3))
    assert due == datetime(2026, 11, 30, 11, 0, tzinfo=TEHRAN)
    assert calendar.between(start, due) == timedelta(hours=3)


def test_conversation_clocks_use_the_team_calendar(db):
    team = TeamFactory()
    hours = BusinessHoursFactory(team=team, time_zone="Europe/Berlin")
    Holiday.objects.create(business_hours=hours, date=date(2026, 11, 30), name="Closed Monday")
    SlaPolicyFactory(priority=Priority.NORMAL, first_response_minutes=120, resolution_minutes=480)
    friday = datetime(2026, 11, 27, 16, 0, tzinfo=BERLIN)
    conversation = ConversationFactory.build(team=team, created_at=friday)
    start_clocks(conversation, friday)
    # 1 h Friday, weekend and the Monday holiday skipped, 1 h on Tuesday
    assert conversation.first_response_due_at == datetime(2026, 12, 1, 10, 0, tzinfo=BERLIN)
    assert conversation.resolution_due_at == datetime(2026, 12, 1, 16, 0, tzinfo=BERLIN)
    assert calendar_for(team).holidays == frozenset({date(2026, 11, 30)})


def test_pending_on_customer_pauses_the_clock(db, channels):
    SlaPolicyFactory(priority=Priority.NORMAL, first_response_minutes=60)
    conversation = ConversationFactory(started_channel=channels["email"])
    start_clocks(conversation)
    conversation.save()
    due = conversation.first_response_due_at
    set_status(conversation, ConversationStatus.PENDING)
    conversation.refresh_from_db()
    assert conversation.sla_due_at is None and conversation.sla_paused_at is not None
    # two hours pass while the customer is asked for a photo
    type(conversation).objects.filter(pk=conversation.pk).update(
        sla_paused_at=timezone.now() - timedelta(hours=2)
    )
    set_status(conversation, ConversationStatus.OPEN)
    conversation.refresh_from_db()
    shift = conversation.first_response_due_at - due
    assert timedelta(hours=2) - timedelta(seconds=5) < shift < timedelta(hours=2, seconds=5)
    assert conversation.sla_due_at == conversation.first_response_due_at


def test_breach_escalates_once_and_notifies_the_lead(db, channels, staff_in_role):
    lead = staff_in_role("Support lead")
    team = TeamFactory(lead=lead)
    SlaPolicyFactory(priority=Priority.NORMAL, first_response_minutes=30)
    past = timezone.now() - timedelta(hours=2)
    conversation = ConversationFactory(
        team=team, created_at=past, started_channel=channels["email"]
    )
    start_clocks(conversation, past)
    conversation.save()
    assert detect_breaches() == 1
    assert detect_breaches() == 0  # flagged: not escalated twice
    conversation.refresh_from_db()
    assert conversation.first_response_breached and conversation.is_breaching
    assert conversation.priority == Priority.HIGH
    note = AgentNotification.objects.get(user=lead)
    assert note.kind == NotificationKind.ESCALATION and "first response" in note.text


def test_beat_task_runs_the_breach_check(db, settings):
    assert "support.detect_sla_breaches" in settings.CELERY_BEAT_SCHEDULE
    assert detect_sla_breaches.delay().get() == 0


def test_member_helper_builds(db):
    assert TeamMembershipFactory().team.memberships.count() == 1
