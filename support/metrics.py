"""Support's figures for the metrics endpoint (core.metrics)."""

from django.db.models import Count, Q

from core.metrics import business_gauge
from support.models import ACTIVE_STATUSES, Conversation, Direction, Message


@business_gauge(
    "omni_support_messages_sent",
    "Replies sent to customers, per channel and delivery status (sent, delivered, read, "
    "failed, ...).",
    labels=("channel", "status"),
)
def replies():
    rows = (
        Message.objects.filter(direction=Direction.OUTBOUND)
        .exclude(delivery_status="")
        .values("channel__code", "delivery_status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return [((row["channel__code"], row["delivery_status"]), row["n"]) for row in rows]


@business_gauge(
    "omni_conversations_open",
    "Conversations still open (open, pending or snoozed), and those breaching an SLA now.",
    labels=("state",),
)
def conversations():
    figures = Conversation.objects.filter(status__in=ACTIVE_STATUSES).aggregate(
        open=Count("id"), breaching=Count("id", filter=Q(is_breaching=True))
    )
    return [(("open",), figures["open"]), (("breaching",), figures["breaching"])]
