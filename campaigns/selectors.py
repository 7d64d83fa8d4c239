"""Campaigns' reads that other doors share (the customer 360 panel, the support inbox)."""


def coupons_of(customer, limit=10):
    """The customer's own coupon codes, newest first, with their pool."""
    return customer.coupon_codes.select_related("pool").order_by("-created_at")[:limit]


def messages_of(customer, limit=10):
    from campaigns.models import CampaignMessage

    return (
        CampaignMessage.objects.filter(customer=customer)
        .select_related("campaign", "channel", "journey_step__journey")
        .order_by("-created_at")[:limit]
    )
