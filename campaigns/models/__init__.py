"""Campaigns tables, one module per concept: segments and templates, coupons, campaigns,
journeys, and messages (with suppressions, unsubscribes and tracking). Every model is
importable from here, as Django and the rest of the code expect (`campaigns.models.Campaign`).
"""

from campaigns.models.campaigns import Campaign, CampaignStatus, CampaignVariant, WinnerMetric
from campaigns.models.coupons import CodeKind, CouponCode, CouponPool, DiscountKind, Redemption
from campaigns.models.journeys import (
    ChannelChoice,
    EventCursor,
    Journey,
    JourneyRun,
    JourneyStep,
    RunStatus,
    StepKind,
)
from campaigns.models.messages import (
    SENT_STATUSES,
    CampaignMessage,
    MessageStatus,
    Suppression,
    SuppressionReason,
    TrackingEvent,
    TrackingKind,
    Unsubscribe,
    new_token,
)
from campaigns.models.recommendations import ProductPairScore
from campaigns.models.segments import (
    MessageTemplate,
    MessageTemplateTranslation,
    Segment,
    SegmentSnapshot,
)

__all__ = [
    "SENT_STATUSES",
    "Campaign",
    "CampaignMessage",
    "CampaignStatus",
    "CampaignVariant",
    "ChannelChoice",
    "CodeKind",
    "CouponCode",
    "CouponPool",
    "DiscountKind",
    "EventCursor",
    "Journey",
    "JourneyRun",
    "JourneyStep",
    "MessageStatus",
    "MessageTemplate",
    "MessageTemplateTranslation",
    "ProductPairScore",
    "Redemption",
    "RunStatus",
    "Segment",
    "SegmentSnapshot",
    "StepKind",
    "Suppression",
    "SuppressionReason",
    "TrackingEvent",
    "TrackingKind",
    "Unsubscribe",
    "WinnerMetric",
    "new_token",
]
