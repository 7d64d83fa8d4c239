"""Campaigns' reads that other doors share (the customer 360 panel, the support inbox, the
dashboards); the reports are in campaigns.selectors.reports."""

from campaigns.models import Campaign, CampaignMessage, CampaignStatus, Referral, ReferralStatus
from campaigns.services import loyalty


def coupons_of(customer, limit=10):
    """The customer's own coupon codes, newest first, with their pool."""
    return customer.coupon_codes.select_related("pool").order_by("-created_at")[:limit]


def messages_of(customer, limit=10):
    return (
        CampaignMessage.objects.filter(customer=customer)
        .select_related("campaign", "channel", "journey_step__journey")
        .order_by("-created_at")[:limit]
    )


def campaigns_sending_now(limit=10) -> list[Campaign]:
    """Campaigns sending or running an A/B test, newest first."""
    return list(
        Campaign.objects.filter(
            status__in=[CampaignStatus.SENDING, CampaignStatus.TESTING]
        ).order_by("-id")[:limit]
    )


def campaigns_created_before(moment, limit=12) -> list[Campaign]:
    """The latest campaigns created before `moment`, newest first."""
    return list(
        Campaign.objects.filter(created_at__lt=moment).order_by("-created_at", "-id")[:limit]
    )


def loyalty_of(customer, *, brief: bool = False) -> dict:
    """Her points, tier and what expires soon, as plain values (the 360 page; `brief`, the
    inbox's panel: balance and tier only)."""
    return loyalty.summary(customer, brief=brief)


def loyalty_entries_of(customer, limit=10):
    return loyalty.entries_of(customer)[:limit]


def credited_referrals_of(customer) -> int:
    return Referral.objects.filter(referrer=customer, status=ReferralStatus.CREDITED).count()
