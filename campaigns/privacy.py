"""Campaigns' part of a privacy export or erasure."""

from campaigns.models import CampaignMessage, CouponCode, JourneyRun, Redemption, Unsubscribe


def export_campaign_data(customer) -> dict:
    return {
        "messages": [
            {
                "channel": m.channel.kind if m.channel_id else "",
                "to": m.to,
                "status": m.status,
                "campaign": m.campaign.name if m.campaign_id else "",
                "sent_at": m.sent_at.isoformat() if m.sent_at else None,
                "opened_at": m.opened_at.isoformat() if m.opened_at else None,
                "clicked_at": m.clicked_at.isoformat() if m.clicked_at else None,
            }
            for m in CampaignMessage.objects.filter(customer=customer).select_related(
                "channel", "campaign"
            )
        ],
        "coupon_codes": list(
            CouponCode.objects.filter(customer=customer).values_list("code", flat=True)
        ),
        "redemptions": [
            {"code": r.code.code, "order": r.order_number, "discount": str(r.discount)}
            for r in Redemption.objects.filter(customer=customer).select_related("code")
        ],
        "unsubscribes": [
            {"channel": u.channel_kind, "at": u.created_at.isoformat()}
            for u in Unsubscribe.objects.filter(customer=customer)
        ],
    }


def erase_campaign_data(customer) -> None:
    """Addresses and per-message contexts go; counts for reports stay (no personal data)."""
    CampaignMessage.objects.filter(customer=customer).update(to="", context={})
    JourneyRun.objects.filter(customer=customer).update(context={})
