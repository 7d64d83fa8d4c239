"""Campaign and journey sends, for the metrics endpoint (core.metrics)."""

from django.db.models import Count

from campaigns.models import CampaignMessage
from core.metrics import business_gauge


@business_gauge(
    "omni_campaign_messages",
    "Campaign and journey messages, per channel and status (queued, sent, failed, ...).",
    labels=("channel", "status"),
)
def campaign_messages():
    rows = (
        CampaignMessage.objects.values("channel__code", "status").annotate(n=Count("id")).order_by()
    )
    return [((row["channel__code"] or "none", row["status"]), row["n"]) for row in rows]
