"""Staff pages of campaigns, and the public tracking links in messages."""

from django.urls import path

from campaigns import views, views_ad_audiences, views_loyalty

app_name = "campaigns"
urlpatterns = [
    path("", views.home, name="home"),
    path("campaigns/new/", views.campaign_new, name="campaign-new"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign-detail"),
    path("segments/", views.segment_list, name="segment-list"),
    path("segments/new/", views.segment_builder, name="segment-new"),
    path("segments/<int:pk>/", views.segment_builder, name="segment-edit"),
    path("segments/count/", views.segment_count, name="segment-count"),
    path(
        "segments/<int:pk>/ad-audiences/",
        views_ad_audiences.segment_ad_audiences,
        name="segment-ad-audiences",
    ),
    path(
        "segments/<int:pk>/hashed-audience.csv",
        views_ad_audiences.hashed_audience_csv,
        name="segment-hashed-audience",
    ),
    path("templates/", views.template_list, name="template-list"),
    path("templates/new/", views.template_editor, name="template-new"),
    path("templates/<int:pk>/", views.template_editor, name="template-edit"),
    path("templates/preview/", views.template_preview, name="template-preview"),
    path("journeys/", views.journey_list, name="journey-list"),
    path("attribution/", views.attribution, name="attribution"),
    path("loyalty/", views_loyalty.loyalty_home, name="loyalty"),
    # Public links carried by messages.
    path("t/o/<str:token>.gif", views.open_pixel, name="open-pixel"),
    path("t/c/<str:value>/", views.click, name="click"),
    path("u/<str:value>/", views.unsubscribe, name="unsubscribe"),
]
