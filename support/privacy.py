"""Privacy: what support holds about a customer (their conversations and messages) in an
export, and its removal on erasure (message bodies and addresses go; counts and times stay
for reports)."""

from django.db import transaction

from support import widget
from support.models import AgentNotification, Conversation, CsatResponse, Message, Review


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


def addresses_of(customer) -> set[str]:
    """The addresses and numbers her conversations were held with, as the channel gave them:
    an erasure looks for them in copies no message points at."""
    return set(
        Message.objects.filter(conversation__customer=customer)
        .exclude(address="")
        .values_list("address", flat=True)
        .distinct()
    )


def erase_of(customer) -> None:
    conversations = Conversation.objects.filter(customer=customer)
    # Agents' notifications quote the subject or a note; survey comments are her words.
    AgentNotification.objects.filter(conversation__in=conversations).update(text="")
    CsatResponse.objects.filter(conversation__in=conversations).update(comment="")
    # Her files from the chat widget go once the erasure has committed.
    files = widget.stored_names(Message.objects.filter(conversation__in=conversations))
    if files:
        transaction.on_commit(lambda: widget.delete_stored(files), robust=True)
    Message.objects.filter(conversation__in=conversations).update(
        text="[erased]",
        html="",
        address="",
        subject="",
        attachments=[],
        thread_ids=[],
        claimed_identities=[],
        last_error="",
    )
    conversations.update(subject="[erased]")


def export_reviews_of(customer) -> list[dict]:
    return [
        {
            "id": review.pk,
            "order": review.order_number,
            "sku": review.sku,
            "rating": review.rating,
            "text": review.text,
            "status": review.status,
            "created_at": review.created_at.isoformat(),
        }
        for review in Review.objects.filter(customer=customer).order_by("created_at", "id")
    ]


def erase_reviews_of(customer) -> None:
    """Her reviews keep their stars (the products' ratings count them) and lose her words
    and photos."""
    reviews = Review.objects.filter(customer=customer)
    photos = list(reviews.exclude(photo="").values_list("photo", flat=True))
    if photos:
        transaction.on_commit(lambda: widget.delete_stored(photos), robust=True)
    reviews.update(text="", photo="", photo_content_type="")
