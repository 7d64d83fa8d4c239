"""Privacy: what support holds about a customer (their conversations and messages) in an
export, and its removal on erasure (message bodies and addresses go; counts and times stay
for reports)."""

from support.models import Conversation, Message


def export_of(customer) -> list[dict]:
    conversations = (
        Conversation.objects.filter(customer=customer)
        .select_related("started_channel")
        .prefetch_related("messages__channel")
        .order_by("created_at")
    )
    return [
        {
            "id": conversation.pk,
            "subject": conversation.subject,
            "status": conversation.status,
            "started_on": conversation.started_channel.code,
            "created_at": conversation.created_at.isoformat(),
            "messages": [
                {
                    "direction": message.direction,
                    "channel": message.channel.code if message.channel else None,
                    "address": message.address,
                    "subject": message.subject,
                    "text": message.text,
                    "html": message.html,
                    "attachments": message.attachments,
                    "claimed_identities": message.claimed_identities,
                    "created_at": message.created_at.isoformat(),
                }
                for message in conversation.messages.all()
                if message.direction != "note"
            ],
        }
        for conversation in conversations
    ]


def erase_of(customer) -> None:
    conversations = Conversation.objects.filter(customer=customer)
    Message.objects.filter(conversation__in=conversations).update(
        text="[erased]",
        html="",
        address="",
        subject="",
        attachments=[],
        thread_ids=[],
        claimed_identities=[],
    )
    conversations.update(subject="[erased]")
