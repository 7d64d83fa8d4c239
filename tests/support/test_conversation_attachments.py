"""An agent opens a conversation whose messages carry attachments as each channel describes
them: an emailed file has a name and no type, an Instagram photo a type and no name. The page
shows both (an emailed attachment once made the conversation a server error)."""

import pytest

from support.factories import ConversationFactory, MessageFactory

pytestmark = pytest.mark.django_db


def test_emailed_and_instagram_attachments_both_show_in_the_conversation(client, staff_in_role):
    client.force_login(staff_in_role("Support agent", username="maryam"))
    conversation = ConversationFactory()
    MessageFactory(
        conversation=conversation,
        text="Salam! The sole came off. Photo attached.",
        attachments=[{"type": "image", "url": "https://example.com/demo/sole.jpg"}],
    )
    MessageFactory(
        conversation=conversation,
        text="Here is the receipt.",
        attachments=[{"filename": "receipt.pdf", "content_type": "application/pdf", "size": 48213}],
    )

    response = client.get(f"/support/c/{conversation.pk}/")

    assert response.status_code == 200
    attachments = response.content.decode().split('class="support-attachments"')[1:]
    assert len(attachments) == 2
    assert (
        "image" in attachments[0] and 'href="https://example.com/demo/sole.jpg"' in attachments[0]
    )
    assert "receipt.pdf" in attachments[1] and "href=" not in attachments[1].split("</ul>")[0]
