"""Threading: email replies by headers and subject token, chat into the open conversation,
and the omnichannel rule: Instagram then email is one conversation."""

import pytest

from customers.factories import customer_with
from support.errors import CannotMerge
from support.models import Conversation, ConversationStatus, Message
from support.services import (
    InboundMessage,
    merge_conversations,
    receive_inbound,
    reply,
    set_status,
    split_conversation,
)
from tests.support.test_inbound_webhooks import meta_messaging

pytestmark = pytest.mark.django_db


def email(channels, text, *, sender="sara@example.com", message_id, subject="Shoes", refs=()):
    return receive_inbound(
        InboundMessage(
            channel=channels["email"],
            identities=[{"kind": "email", "value": sender}],
            text=text,
            subject=subject,
            external_id=message_id,
            address=sender,
            thread_ids=list(refs),
        )
    ).message


def test_instagram_question_and_email_follow_up_are_one_conversation(webhooks, channels):
    sara = customer_with(
        ("email", "sara@example.com", True), ("instagram", "17841400000000001"), first_name="Sara"
    )
    webhooks.post("instagram", meta_messaging("instagram", text="The sole of my new shoe came off"))
    follow_up = email(channels, "Here is the photo you asked for.", message_id="<p1@mail>")
    conversation = Conversation.objects.get()
    assert conversation.customer == sara
    assert follow_up.conversation == conversation
    assert [m.channel.kind for m in conversation.messages.order_by("id")] == ["instagram", "email"]
    assert conversation.channels_used == ["instagram", "email"]
    assert conversation.last_inbound_channel.kind == "email"


def test_email_reply_threads_by_in_reply_to_even_after_the_window(
    channels, django_capture_on_commit_callbacks
):
    first = email(channels, "Question one", message_id="<q1@mail>")
    set_status(first.conversation, ConversationStatus.RESOLVED)
    with django_capture_on_commit_callbacks(execute=True):
        answer = reply(first.conversation, None, "Answer one", channel=channels["email"])
    answer.refresh_from_db()
    # A new question without headers opens a new conversation (the first is resolved)...
    other = email(channels, "Unrelated question", message_id="<q2@mail>", subject="Other")
    assert other.conversation != first.conversation
    # ...while a reply to our answer (its Message-ID in References) joins and reopens the first.
    threaded = email(
        channels,
        "Thanks, one more thing",
        message_id="<q3@mail>",
        refs=[answer.provider_message_id],
    )
    assert answer.provider_message_id
    assert threaded.conversation == first.conversation
    first.conversation.refresh_from_db()
    assert first.conversation.status == ConversationStatus.OPEN


def test_subject_token_threads_only_the_same_customers_conversation(channels):
    first = email(channels, "Question", message_id="<t1@mail>")
    set_status(first.conversation, ConversationStatus.RESOLVED)
    token = first.conversation.token
    again = email(channels, "About this", message_id="<t2@mail>", subject=f"Re: Shoes {token}")
    assert again.conversation == first.conversation
    stranger = email(
        channels, "Let me in", sender="mallory@example.com", message_id="<t3@mail>", subject=token
    )
    assert stranger.conversation != first.conversation


def test_chat_threads_into_open_conversation(webhooks):
    webhooks.post("instagram", meta_messaging("instagram", mid="m1", text="hello"))
    webhooks.post("instagram", meta_messaging("instagram", mid="m2", text="anyone?"))
    assert Conversation.objects.count() == 1
    assert Message.objects.count() == 2


def test_merge_and_split(channels):
    customer_with(("email", "sara@example.com"), ("phone", "+989121234567"))
    one = email(channels, "Email question", message_id="<m1@mail>").conversation
    set_status(one, ConversationStatus.RESOLVED)
    sms = receive_inbound(
        InboundMessage(
            channel=channels["sms"],
            identities=[{"kind": "phone", "value": "+989121234567"}],
            text="And by SMS",
            external_id="SM1",
        )
    ).message
    two = sms.conversation
    assert two != one
    merged = merge_conversations(two, one)
    assert merged.messages.filter(direction="inbound").count() == 2
    one.refresh_from_db()
    assert one.merged_into == merged and one.status == ConversationStatus.CLOSED
    assert set(merged.channels_used) == {"email", "sms"}
    # a reply to the merged conversation's token lands in the survivor
    later = email(channels, "ping", message_id="<m2@mail>", subject=f"Re: {one.token}")
    assert later.conversation == merged
    new = split_conversation(merged, [sms.pk], subject="SMS topic")
    assert list(new.messages.values_list("pk", flat=True)) == [sms.pk]
    assert new.customer == merged.customer and new.subject == "SMS topic"


def test_merging_two_customers_conversations_is_refused(channels):
    a = email(channels, "a", sender="a@example.com", message_id="<a@m>").conversation
    b = email(channels, "b", sender="b@example.com", message_id="<b@m>").conversation
    with pytest.raises(CannotMerge):
        merge_conversations(a, b)
