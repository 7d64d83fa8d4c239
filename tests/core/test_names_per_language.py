"""Names staff give to channels, teams, stock locations and canned replies carry one name per
shipped language: pages show the reader's, else the name; the admin edits them."""

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import translation

from core.factories import ChannelFactory
from core.names import name_in_language
from customers.factories import customer_with
from inventory.factories import LocationFactory
from support.factories import CannedReplyFactory, TeamFactory
from support.models import CannedReply
from support.services import InboundMessage, receive_inbound

pytestmark = pytest.mark.django_db
WEB_SHOP = {"fa": "فروشگاه اینترنتی", "ar": "المتجر الإلكتروني", "be": "Інтэрнэт-крама"}


@pytest.fixture(autouse=True)
def _back_to_english():
    """The test client's requests leave the language they switched to active in this thread:
    the next test must start in English."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


def persian(client, staff):
    client.force_login(staff)
    client.post("/i18n/setlang/", {"language": "fa", "next": "/"})


def test_the_name_in_the_active_language_else_the_name():
    channel = ChannelFactory(code="web", name="Web shop", names=WEB_SHOP)
    with translation.override("fa"):
        assert channel.display_name == str(channel) == "فروشگاه اینترنتی"
    with translation.override("az"):
        assert channel.display_name == "Web shop"  # no Azerbaijani name: the name
    with translation.override("en"):
        assert channel.display_name == "Web shop"
    assert name_in_language({"fa": "تهران"}, "Tehran", "fa-ir") == "تهران"


@pytest.mark.parametrize(
    ("names", "code"),
    [
        ({"xx": "Name"}, "unknown_language"),
        ({"fa": "  "}, "invalid_name"),
        (["فروشگاه"], "invalid_names"),
    ],
)
def test_names_are_shipped_languages_to_non_empty_names(names, code):
    channel = ChannelFactory(code="web", name="Web shop")
    channel.names = names
    with pytest.raises(ValidationError) as error:
        channel.full_clean()
    assert error.value.error_dict["names"][0].code == code


def test_pages_show_each_name_in_persian(client, staff_in_role):
    instagram = ChannelFactory(
        code="instagram", name="Instagram shop", kind="instagram", provider="console",
        names={"fa": "فروشگاه اینستاگرام"},
    )  # fmt: skip
    team = TeamFactory(
        name="Online care", channel_kinds=["instagram"], names={"fa": "پشتیبانی آنلاین"}
    )
    CannedReplyFactory(title="Where is my order", names={"fa": "سفارش من کجاست"})
    LocationFactory(
        code="wh-tehran", name="Tehran central warehouse", names={"fa": "انبار مرکزی تهران"}
    )
    customer_with(("instagram", "sara.rahimi"), first_name="Sara", last_name="Rahimi")
    conversation = receive_inbound(
        InboundMessage(
            channel=instagram,
            identities=[{"kind": "instagram", "value": "sara.rahimi"}],
            text="Can I exchange for another size?",
            external_id="m_names_1",
            address="sara.rahimi",
        )
    ).message.conversation
    conversation.team = team
    conversation.save()

    persian(client, staff_in_role("Support lead", "Inventory manager", username="lead"))
    inbox = client.get("/support/").content.decode()
    assert "پشتیبانی آنلاین" in inbox and "Online care" not in inbox
    page = client.get(f"/support/c/{conversation.pk}/").content.decode()
    assert "فروشگاه اینستاگرام" in page and "Instagram shop" not in page
    assert "سفارش من کجاست" in page and "Where is my order" not in page
    stock = client.get("/inventory/").content.decode()
    assert "انبار مرکزی تهران" in stock and "Tehran central warehouse" not in stock


def test_the_admin_edits_the_names(client, django_user_model):
    channel = ChannelFactory(code="web", name="Web shop")
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pass-123")
    client.force_login(admin)
    form = client.get(f"/admin/core/channel/{channel.pk}/change/").content.decode()
    assert 'name="names"' in form


def test_a_canned_reply_gets_its_names_in_the_admin(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pass-123")
    client.force_login(admin)
    answer = client.post(
        "/admin/support/cannedreply/add/",
        {
            "title": "Where is my order",
            "names": '{"fa": "سفارش من کجاست", "ar": "أين طلبي"}',
            "shortcut": "order-status",
            "body": "Hi {first_name}, your order {order_number} is on its way.",
            "language": "en",
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    reply = CannedReply.objects.get(shortcut="order-status")
    assert reply.names == {"fa": "سفارش من کجاست", "ar": "أين طلبي"}
    refused = client.post(
        "/admin/support/cannedreply/add/",
        {"title": "Hi", "names": '{"xx": "Hi"}', "shortcut": "hi", "body": "Hi", "language": ""},
    )
    assert refused.status_code == 200 and "xx is not a shipped language" in refused.content.decode()
