"""Partner API routes of campaigns, mounted under /api/v1/."""

from django.urls import path

from campaigns.api import loyalty, recommendations, views

urlpatterns = [
    path("campaigns/segments", views.SegmentList.as_view(), name="api-segments"),
    path("campaigns/segments/count", views.SegmentCount.as_view(), name="api-segment-count"),
    path("campaigns/segments/<int:pk>", views.SegmentDetail.as_view(), name="api-segment"),
    path(
        "campaigns/segments/<int:pk>/audience.csv",
        views.AudienceExport.as_view(),
        name="api-segment-audience",
    ),
    path("campaigns/templates", views.TemplateList.as_view(), name="api-templates"),
    path("campaigns/templates/<int:pk>", views.TemplateDetail.as_view(), name="api-template"),
    path(
        "campaigns/templates/<int:pk>/preview",
        views.TemplatePreview.as_view(),
        name="api-template-preview",
    ),
    path("campaigns/campaigns", views.CampaignList.as_view(), name="api-campaigns"),
    path("campaigns/campaigns/<int:pk>", views.CampaignDetail.as_view(), name="api-campaign"),
    path(
        "campaigns/campaigns/<int:pk>/schedule",
        views.CampaignSchedule.as_view(),
        name="api-campaign-schedule",
    ),
    path(
        "campaigns/campaigns/<int:pk>/send", views.CampaignSend.as_view(), name="api-campaign-send"
    ),
    path(
        "campaigns/campaigns/<int:pk>/decide-winner",
        views.CampaignDecideWinner.as_view(),
        name="api-campaign-decide-winner",
    ),
    path(
        "campaigns/campaigns/<int:pk>/results",
        views.CampaignResults.as_view(),
        name="api-campaign-results",
    ),
    path("campaigns/coupon-pools", views.CouponPoolList.as_view(), name="api-coupon-pools"),
    path(
        "campaigns/coupon-pools/<int:pk>", views.CouponPoolDetail.as_view(), name="api-coupon-pool"
    ),
    path(
        "campaigns/coupon-pools/<int:pk>/codes",
        views.CouponCodes.as_view(),
        name="api-coupon-codes",
    ),
    path("campaigns/coupons/validate", views.CouponValidate.as_view(), name="api-coupon-validate"),
    path("campaigns/journeys", views.JourneyList.as_view(), name="api-journeys"),
    path("campaigns/attribution", views.Attribution.as_view(), name="api-attribution"),
    path("campaigns/referrals", loyalty.ReferralList.as_view(), name="api-referrals"),
    path(
        "customers/<uuid:public_id>/loyalty",
        loyalty.LoyaltyView.as_view(),
        name="api-customer-loyalty",
    ),
    path(
        "customers/<uuid:public_id>/loyalty/earn",
        loyalty.EarnView.as_view(),
        name="api-customer-loyalty-earn",
    ),
    path(
        "customers/<uuid:public_id>/loyalty/spend",
        loyalty.SpendView.as_view(),
        name="api-customer-loyalty-spend",
    ),
    path(
        "customers/<uuid:public_id>/referral-code",
        loyalty.ReferralCodeView.as_view(),
        name="api-customer-referral-code",
    ),
    path(
        "customers/<uuid:public_id>/referral",
        loyalty.ApplyReferralView.as_view(),
        name="api-customer-referral",
    ),
    # Under the customer, as the POS and the shop ask for it; campaigns owns the method.
    path(
        "customers/<uuid:public_id>/recommendations",
        recommendations.RecommendationsView.as_view(),
        name="api-customer-recommendations",
    ),
]
