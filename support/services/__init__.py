"""Support's writes, one module per capability. Doors (webhooks, pages, API, tasks) call these:

from support.services import receive_inbound, reply, add_note, assign, set_status, ...
"""

from support.services.assignment import assign, auto_assign, set_availability, team_for_channel
from support.services.conversations import (
    add_note,
    link_order,
    merge_conversations,
    notifications_seen,
    open_conversation,
    sanitise_html,
    set_priority,
    set_status,
    set_tags,
    split_conversation,
)
from support.services.inbound import InboundMessage, InboundResult, receive_inbound
from support.services.outbound import (
    deliver,
    fill_placeholders,
    log_contact,
    reachable_channels,
    record_delivery,
    render_canned,
    reply,
    send_csat_survey,
)
from support.services.sla import detect_breaches

__all__ = [
    "InboundMessage",
    "InboundResult",
    "add_note",
    "link_order",
    "assign",
    "auto_assign",
    "deliver",
    "detect_breaches",
    "fill_placeholders",
    "log_contact",
    "merge_conversations",
    "notifications_seen",
    "open_conversation",
    "reachable_channels",
    "receive_inbound",
    "record_delivery",
    "render_canned",
    "reply",
    "sanitise_html",
    "send_csat_survey",
    "set_availability",
    "set_priority",
    "set_status",
    "set_tags",
    "split_conversation",
    "team_for_channel",
]
