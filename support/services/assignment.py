"""Who answers: teams routing new conversations, assign to me, auto-assignment within a team
(round-robin, or fewest open conversations) and reassignment when an agent is away.
"""

from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from support import live
from support.errors import NotATeamMember
from support.models import (
    ACTIVE_STATUSES,
    AgentNotification,
    AssignmentStrategy,
    Conversation,
    NotificationKind,
    Team,
    TeamMembership,
)


def team_for_channel(channel) -> Team | None:
    """The team that takes new conversations from this channel kind, else the default team."""
    teams = list(Team.objects.all())
    for team in teams:
        if channel is not None and channel.kind in (team.channel_kinds or []):
            return team
    return next((team for team in teams if team.is_default), None)


def assign(conversation: Conversation, agent, *, by=None) -> Conversation:
    """Give the conversation to `agent` (None: back to the unassigned queue). The agent is
    notified unless they took it themselves. Raises NotATeamMember when the conversation has a
    team and the agent is not in it."""
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if (
            agent is not None
            and conversation.team_id
            and not TeamMembership.objects.filter(team_id=conversation.team_id, user=agent).exists()
            and not agent.is_superuser
        ):
            raise NotATeamMember(
                _("%(agent)s is not in the team %(team)s.")
                % {"agent": agent.get_username(), "team": conversation.team},
                fields={"assignee": [_("Not a member of this conversation's team.")]},
            )
        _set_assignee(conversation, agent, by=by)
        return conversation


def _set_assignee(conversation, agent, *, by=None, now=None):
    now = now or timezone.now()
    conversation.assignee = agent
    conversation.updated_at = now
    conversation.save(update_fields=["assignee", "updated_at"])
    note_assigned(conversation, agent, by=by, now=now)
    live.conversation_changed(conversation, "assigned")


def note_assigned(conversation, agent, *, by=None, now=None):
    """What follows an assignment already on the row: the agent's turn in the round-robin is
    used and the agent is notified (unless they took it themselves)."""
    now = now or timezone.now()
    if agent is not None and conversation.team_id:
        TeamMembership.objects.filter(team_id=conversation.team_id, user=agent).update(
            last_assigned_at=now
        )
    if agent is not None and (by is None or by.pk != agent.pk):
        AgentNotification.objects.create(
            user=agent,
            kind=NotificationKind.ASSIGNED,
            conversation=conversation,
            text=conversation.subject[:255],
            created_at=now,
        )


def next_agent(team: Team, *, exclude=()):
    """The member auto-assignment picks next, or None. Locks the team's memberships so two
    conversations arriving together go to two agents, not both to the same one."""
    memberships = list(
        TeamMembership.objects.select_for_update()
        .filter(team=team, is_available=True, user__is_active=True)
        .exclude(user__in=[u.pk for u in exclude])
        .select_related("user")
        .order_by("id")
    )
    if not memberships:
        return None
    if team.assignment_strategy == AssignmentStrategy.LEAST_OPEN:
        open_counts = dict(
            Conversation.objects.filter(
                assignee__in=[m.user_id for m in memberships],
                status__in=ACTIVE_STATUSES,
                merged_into__isnull=True,
            )
            .values_list("assignee")
            .annotate(n=Count("id"))
        )
        chosen = min(
            memberships,
            key=lambda m: (
                open_counts.get(m.user_id, 0),
                m.last_assigned_at is not None,
                m.last_assigned_at or timezone.now(),
                m.id,
            ),
        )
    else:  # round-robin: the one who waited longest since their last assignment
        chosen = min(
            memberships,
            key=lambda m: (m.last_assigned_at is not None, m.last_assigned_at or 0, m.id),
        )
    return chosen.user


def agent_for_new_conversation(team: Team | None):
    """The agent a conversation opened now for `team` goes to (None: the unassigned queue),
    chosen before the row is written so it is inserted already assigned."""
    if team is None or team.assignment_strategy == AssignmentStrategy.MANUAL:
        return None
    return next_agent(team)


def auto_assign(conversation: Conversation, *, exclude=()) -> Conversation:
    """Assign by the team's rule; manual teams (and teams with nobody available) leave it in the
    unassigned queue."""
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("team")
            .get(pk=conversation.pk)
        )
        team = conversation.team
        if team is None or team.assignment_strategy == AssignmentStrategy.MANUAL:
            if exclude and conversation.assignee_id in {u.pk for u in exclude}:
                _set_assignee(conversation, None)
            return conversation
        agent = next_agent(team, exclude=exclude)
        _set_assignee(conversation, agent)
        return conversation


def set_availability(user, is_available: bool) -> int:
    """An agent goes away (or comes back). Going away hands their active conversations to
    teammates by each team's rule (or back to the queue). Returns how many were handed on."""
    with transaction.atomic():
        TeamMembership.objects.filter(user=user).update(is_available=is_available)
        if is_available:
            return 0
        active = list(
            Conversation.objects.filter(
                assignee=user, status__in=ACTIVE_STATUSES, merged_into__isnull=True
            ).order_by(F("sla_due_at").asc(nulls_last=True), "id")
        )
        for conversation in active:
            auto_assign(conversation, exclude=[user])
        return len(active)


def open_counts_by_agent(team: Team) -> dict[int, int]:
    return dict(
        TeamMembership.objects.filter(team=team)
        .annotate(
            n=Count(
                "user__assigned_conversations",
                filter=Q(user__assigned_conversations__status__in=ACTIVE_STATUSES),
            )
        )
        .values_list("user_id", "n")
    )
