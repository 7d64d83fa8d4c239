from django.urls import path

from core.api import providers, views

urlpatterns = [
    path("channels", views.ChannelListView.as_view(), name="api-channels"),
    path("channels/<slug:code>", views.ChannelDetailView.as_view(), name="api-channel"),
    path("me", views.WhoAmIView.as_view(), name="api-me"),
    path(
        "providers/<slug:channel_code>/delivery-reports",
        providers.DeliveryReportView.as_view(),
        name="api-delivery-reports",
    ),
    path(
        "providers/<slug:channel_code>/twilio-status",
        providers.TwilioStatusView.as_view(),
        name="api-twilio-status",
    ),
]
