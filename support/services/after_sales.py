"""After-sales from the inbox: an agent starts a return, an exchange or a replacement for one
of the conversation's customer's orders. The order side goes through orders' own services
(the ones the orders API calls); the conversation is linked to the order and gets an internal
note saying what was done, all in one transaction: either everything is recorded or nothing."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from orders import services as orders
from orders.errors import OrderError
from support.models import Conversation
from support.services.conversations import add_note, link_order
from support.services.outbound import default_channel

RETURN, EXCHANGE, REPLACEMENT = "return", "exchange", "replacement"
ACTIONS = (RETURN, EXCHANGE, REPLACEMENT)


def start_after_sales(
    conversation: Conversation,
    order,
    *,
    action: str,
    sku: str,
    quantity: int,
    reason: str,
    new_sku: str = "",
    by=None,
) -> str:
    """Start `action` for `quantity` units of `sku` from `order`, in the channel the customer
    last wrote on. Returns the sentence the note records (the agent reads it too). Raises
    orders' DomainErrors naming the field (SKU not in the order, nothing left to return, no
    stock for the new goods); nothing is written then."""
    if action not in ACTIONS:
        raise OrderError(
            _("Pick return, exchange or replacement."), fields={"action": [_("Unknown.")]}
        )
    line = orders.line_of(order, sku)
    if line is None:
        raise OrderError(
            _("This SKU is not in the order."), fields={"sku": [_("Not in this order.")]}
        )
    channel = (default_channel(conversation) or conversation.started_channel).code
    items = [{"line_id": line.pk, "quantity": quantity, "reason": reason}]
    note = _("From conversation %(token)s") % {"token": conversation.token}
    with transaction.atomic():
        if action == EXCHANGE:
            if not new_sku.strip():
                raise OrderError(
                    _("Name the new goods."), fields={"new_sku": [_("Required for an exchange.")]}
                )
            record = orders.exchange(
                order,
                return_lines=items,
                new_lines=[{"sku": new_sku.strip(), "quantity": quantity}],
                channel=channel,
                hand_over=False,
                note=note,
                by=by,
            )
            done = _("Exchange started: return %(ret)s, new goods on order %(new)s.") % {
                "ret": record.return_request.number,
                "new": record.new_order.number,
            }
        elif action == REPLACEMENT:
            record = orders.create_replacement(
                order, lines=items, channel=channel, note=note, by=by
            )
            done = _(
                "Replacement order %(new)s created; a courier collects the defective goods."
            ) % {"new": record.new_order.number}
        else:
            record = orders.create_return(order, lines=items, channel=channel, note=note, by=by)
            done = _("Return %(ret)s opened; refund on receipt.") % {"ret": record.number}
        link_order(conversation, order.number)
        add_note(conversation, by, done)
    return done
