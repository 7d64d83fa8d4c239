"""What support announces to live pages (core.live): one topic, the conversation's id as the
object, and ids only in the payload; pages fetch what changed through their own views."""

from core import live

TOPIC = "support.conversation"


def conversation_changed(conversation, kind: str, **ids) -> None:
    """`kind` is what happened (message_received, message_sent, note_added, assigned,
    status_changed, priority_changed, order_linked, sla_breached, typing); `ids` plain ids (message=12)."""
    live.publish(TOPIC, kind, object_id=conversation.pk, payload=dict(ids))
