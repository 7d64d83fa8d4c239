"""Opening a conversation reads the agent's notifications about it, through the support
service (not an update written in the view), and only hers, only about that conversation."""

import pytest

from support.factories import ConversationFactory
from support.models import AgentNotification, NotificationKind

pytestmark = pytest.mark.django_db


def test_opening_a_conversation_reads_its_notifications_only(client, staff_in_role):
    agent = staff_in_role("Support agent", username="agent")
    other_agent = staff_in_role("Support agent", username="other_agent")
    opened, elsewhere = ConversationFactory(), ConversationFactory()
    mine = AgentNotification.objects.create(
        user=agent, kind=NotificationKind.MENTION, conversation=opened, text="@agent look"
    )
    other_conversation = AgentNotification.objects.create(
        user=agent, kind=NotificationKind.ASSIGNED, conversation=elsewhere, text="yours"
    )
    someone_elses = AgentNotification.objects.create(
        user=other_agent, kind=NotificationKind.MENTION, conversation=opened, text="@other"
    )
    client.force_login(agent)
    assert client.get(f"/support/c/{opened.pk}/").status_code == 200
    for notification in (mine, other_conversation, someone_elses):
        notification.refresh_from_db()
    assert mine.read_at is not None
    assert other_conversation.read_at is None and someone_elses.read_at is None
