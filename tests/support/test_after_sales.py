"""From a conversation, an agent starts a return, exchange or replacement for the customer's
order; it is recorded in the channel the customer wrote on."""

import pytest
from django.contrib.auth.models import Permission

from orders.factories import placed_order
from orders.models import Replacement, Return
from orders.services import fulfil
from support.factories import ConversationFactory, MessageFactory
from support.models import Conversation
from tests.orders.conftest import customer, shop  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


@pytest.fixture
def instagram_report(shop, customer):  # noqa: F811
    order = placed_order(customer, shop.channels["web"], [(shop.sku("black"), 1)])
    fulfil(order)
    conversation = ConversationFactory(
        customer=customer, started_channel=shop.channels["instagram"], subject="Sole came off"
    )
    MessageFactory(conversation=conversation, channel=shop.channels["instagram"], text="Defect!")
    Conversation.objects.filter(pk=conversation.pk).update(
        last_inbound_channel=shop.channels["instagram"]
    )
    return order, conversation


def start(client, conversation, **data):
    return client.post(f"/support/c/{conversation.pk}/after-sales", data, follow=True)


def test_panel_shows_the_customers_orders_from_every_channel(
    client, staff_in_role, instagram_report
):
    order, conversation = instagram_report
    client.force_login(staff_in_role("Support agent"))
    page = client.get(f"/support/c/{conversation.pk}/").content.decode()
    assert f'data-order="{order.number}"' in page
    assert "data-after-sales" in page


def test_agent_creates_a_replacement_recorded_on_instagram(
    client, staff_in_role, shop, instagram_report
):
    order, conversation = instagram_report
    client.force_login(staff_in_role("Support agent"))
    response = start(
        client,
        conversation,
        action="replacement",
        order=order.number,
        sku=shop.sku("black"),
        quantity=1,
        reason="defect",
    )
    assert response.status_code == 200
    replacement = Replacement.objects.get()
    assert replacement.new_order.channel.code == "instagram"
    assert replacement.new_order.total.amount == 0
    conversation.refresh_from_db()
    assert conversation.related_order_number == order.number
    assert conversation.messages.filter(
        direction="note", text__contains=replacement.new_order.number
    ).exists()


def test_agent_opens_a_return_and_an_unknown_sku_changes_nothing(
    client, staff_in_role, shop, instagram_report
):
    order, conversation = instagram_report
    client.force_login(staff_in_role("Support agent"))
    start(
        client,
        conversation,
        action="return",
        order=order.number,
        sku="NOPE",
        quantity=1,
        reason="size",
    )
    assert not Return.objects.exists()
    start(
        client,
        conversation,
        action="return",
        order=order.number,
        sku=shop.sku("black"),
        quantity=1,
        reason="size",
    )
    ret = Return.objects.get()
    assert ret.channel.code == "instagram"


def test_exchange_needs_the_new_sku(client, staff_in_role, shop, instagram_report):
    order, conversation = instagram_report
    client.force_login(staff_in_role("Support agent"))
    page = start(
        client,
        conversation,
        action="exchange",
        order=order.number,
        sku=shop.sku("black"),
        quantity=1,
        reason="colour",
    ).content.decode()
    assert not Return.objects.exists()
    assert "new_sku" in page


def test_staff_without_the_right_cannot_start_one(client, staff_in_role, shop, instagram_report):
    order, conversation = instagram_report

    user = staff_in_role("Marketer")
    user.user_permissions.add(
        Permission.objects.get(codename="change_conversation"),
        Permission.objects.get(codename="view_conversation"),
    )
    client.force_login(user)
    response = client.post(
        f"/support/c/{conversation.pk}/after-sales",
        {
            "action": "return",
            "order": order.number,
            "sku": shop.sku("black"),
            "quantity": 1,
            "reason": "size",
        },
    )
    assert response.status_code == 403
    assert not Return.objects.exists()


def test_every_door_names_the_same_reason_for_a_sku_already_returned(
    client, staff_in_role, shop, instagram_report
):
    """The inbox finds the order line of a SKU by the rule the API and the store counter use:
    once the unit is back, all three refuse with the orders service's reason, and the inbox
    writes nothing (no second return, no note, no link)."""
    order, conversation = instagram_report
    client.force_login(staff_in_role("Support agent"))
    data = {"order": order.number, "sku": shop.sku("black"), "quantity": 1, "reason": "size"}
    start(client, conversation, action="return", **data)
    assert Return.objects.count() == 1
    notes = conversation.messages.filter(direction="note").count()
    page = start(client, conversation, action="return", **data).content.decode()
    assert Return.objects.count() == 1
    assert conversation.messages.filter(direction="note").count() == notes
    assert f"Only 0 of {shop.sku('black')} can come back from order {order.number}." in page


def test_linking_an_order_goes_through_the_service(client, staff_in_role, instagram_report):
    order, conversation = instagram_report
    client.force_login(staff_in_role("Support agent"))
    client.post(
        f"/support/c/{conversation.pk}/order", {"related_order_number": f" #{order.number} "}
    )
    conversation.refresh_from_db()
    assert conversation.related_order_number == order.number
    page = client.post(
        f"/support/c/{conversation.pk}/order", {"related_order_number": "9" * 51}, follow=True
    ).content.decode()
    conversation.refresh_from_db()
    assert conversation.related_order_number == order.number
    assert "An order number has at most 50 characters." in page
