"""Domain errors of campaigns; the API renders them as {"error": {...}}."""

from core.api.errors import DomainError


class InvalidRules(DomainError):
    code = "invalid_rules"
    status_code = 400


class InvalidTemplate(DomainError):
    code = "invalid_template"
    status_code = 400


class InvalidCampaign(DomainError):
    code = "invalid_campaign"
    status_code = 400


class IllegalTransition(DomainError):
    code = "illegal_transition"
    status_code = 409


class CouponInvalid(DomainError):
    """A code that cannot be used: unknown, expired, used up, below the minimum spend..."""

    code = "coupon_refused"
    status_code = 400


class InvalidSignature(DomainError):
    code = "invalid_link"
    status_code = 400


class InvalidRecommendationRequest(DomainError):
    """A recommendation asked for an unknown channel, context or number of products."""

    code = "invalid"
    status_code = 400


class LoyaltyRefused(DomainError):
    """Points that cannot be earned or spent as asked (not enough points, a bad amount)."""

    code = "loyalty_refused"
    status_code = 400


class ReferralRefused(DomainError):
    """A referral code that cannot be applied: unknown, her own, already referred, fraud."""

    code = "referral_refused"
    status_code = 400
