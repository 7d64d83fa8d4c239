"""Assignment: assign to me, round-robin and fewest-open fairness, absence, mentions."""

import pytest

from support.errors import NotATeamMember
from support.factories import ConversationFactory, TeamFactory, TeamMembershipFactory
from support.models import (
    AgentNotification,
    AssignmentStrategy,
    Conversation,
    ConversationStatus,
    NotificationKind,
)
from support.services import (
    InboundMessage,
    add_note,
    assign,
    receive_inbound,
    set_availability,
)

pytestmark = pytest.mark.django_db


def team_of(staff_in_role, strategy, n=3, kinds=("email",)):
    team = TeamFactory(assignment_strategy=strategy, channel_kinds=list(kinds))
    agents = [staff_in_role("Support agent", username=f"agent{i}") for i in range(n)]
    for agent in agents:
        TeamMembershipFactory(team=team, user=agent)
    return team, agents


def new_email(channels, i):
    return receive_inbound(
        InboundMessage(
            channel=channels["email"],
            identities=[{"kind": "email", "value": f"customer{i}@example.com"}],
            text=f"Question {i}",
            external_id=f"<q{i}@mail>",
        )
    ).message.conversation


def test_round_robin_spreads_evenly(channels, staff_in_role):
    team, agents = team_of(staff_in_role, AssignmentStrategy.ROUND_ROBIN)
    conversations = [new_email(channels, i) for i in range(9)]
    assert all(c.team == team for c in conversations)
    counts = {a.username: Conversation.objects.filter(assignee=a).count() for a in agents}
    assert counts == {"agent0": 3, "agent1": 3, "agent2": 3}
    # strict rotation: each agent again only after the others
    order = [Conversation.objects.get(pk=c.pk).assignee.username for c in conversations]
    assert order[:3] == order[3:6] == order[6:9] and len(set(order[:3])) == 3


def test_least_open_fills_the_lightest_agent(channels, staff_in_role):
    team, (busy, free, _third) = team_of(staff_in_role, AssignmentStrategy.LEAST_OPEN)
    for _ in range(3):
        ConversationFactory(team=team, assignee=busy, started_channel=channels["email"])
    for i in range(4):
        new_email(channels, i)
    counts = sorted(
        Conversation.objects.filter(team=team).values_list("assignee__username", flat=True)
    )
    assert counts.count("agent0") == 3  # the busy one got nothing new
    assert counts.count("agent1") == 2 and counts.count("agent2") == 2


def test_absent_agent_is_skipped_and_their_work_handed_on(channels, staff_in_role):
    team, (away, a, b) = team_of(staff_in_role, AssignmentStrategy.ROUND_ROBIN)
    mine = [
        ConversationFactory(team=team, assignee=away, started_channel=channels["email"])
        for _ in range(2)
    ]
    assert set_availability(away, False) == 2
    for conversation in mine:
        conversation.refresh_from_db()
        assert conversation.assignee in (a, b)
    new = new_email(channels, 99)
    assert new.assignee != away


def test_manual_team_leaves_unassigned_queue_and_assign_to_me(channels, staff_in_role):
    team, (agent, *_rest) = team_of(staff_in_role, AssignmentStrategy.MANUAL)
    conversation = new_email(channels, 1)
    assert conversation.assignee is None
    assign(conversation, agent, by=agent)
    conversation.refresh_from_db()
    assert conversation.assignee == agent
    assert not AgentNotification.objects.filter(user=agent).exists()  # took it themselves


def test_outsider_cannot_be_assigned(channels, staff_in_role):
    team_of(staff_in_role, AssignmentStrategy.MANUAL)
    outsider = staff_in_role("Support agent", username="outsider")
    with pytest.raises(NotATeamMember):
        assign(new_email(channels, 1), outsider)


def test_mention_in_note_notifies_the_agent(channels, staff_in_role):
    author = staff_in_role("Support agent", username="maryam")
    colleague = staff_in_role("Support lead", username="hossein")
    conversation = new_email(channels, 1)
    note = add_note(conversation, author, "@hossein can we replace this pair? cc @nobody")
    assert list(note.mentions.all()) == [colleague]
    notification = AgentNotification.objects.get(user=colleague)
    assert notification.kind == NotificationKind.MENTION and notification.message == note
    assert note.channel is None and conversation.status == ConversationStatus.OPEN
