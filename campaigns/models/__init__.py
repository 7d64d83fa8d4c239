"""Campaigns tables, one module per concept: segments and templates, coupons, campaigns,
journeys, and messages (with suppressions, unsubscribes and tracking). Every model is
importable from here, as Django and the rest of the code expect (`campaigns.models.Campaign`).
"""

from campaigns.models.ad_audiences import (
    AdAudience,
    AdAudienceMember,
    AdAudienceSync,
    AdConversionUpload,
    AdPlatform,
    ConversionStatus,
    HashKind,
    SyncStatus,
)
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
from campaigns.models.loyalty import (
    EXPIRING_KINDS,
    EntryKind,
    LoyaltyEntry,
    LoyaltyRule,
    LoyaltyTier,
    Referral,
    ReferralCode,
    ReferralStatus,
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
from campaigns.models.store_local import HomeStore, PendingRestock

__all__ = [
    "EXPIRING_KINDS",
    "EntryKind",
    "LoyaltyEntry",
    "LoyaltyRule",
    "LoyaltyTier",
    "Referral",
    "ReferralCode",
    "ReferralStatus",
    "SENT_STATUSES",
    "AdAudience",
    "AdAudienceMember",
    "AdAudienceSync",
    "AdConversionUpload",
    "AdPlatform",
    "Campaign",
    "CampaignMessage",
    "CampaignStatus",
    "CampaignVariant",
    "ChannelChoice",
    "CodeKind",
    "ConversionStatus",
    "CouponCode",
    "CouponPool",
    "DiscountKind",
    "EventCursor",
    "HomeStore",
    "PendingRestock",
    "HashKind",
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
    "SyncStatus",
    "TrackingEvent",
    "TrackingKind",
    "Unsubscribe",
    "WinnerMetric",
    "new_token",
]
