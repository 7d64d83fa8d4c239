from django.contrib.auth import views as auth_views
from django.urls import path

from core import metrics, views, views_channels, views_security

urlpatterns = [
    path("", views.home, name="home"),
    path("channels/", views.channels, name="channels"),
    path("channels/<slug:code>/setup/", views_channels.channel_setup, name="channel-setup"),
    path(
        "channels/<slug:code>/setup/inbound-secret",
        views_channels.channel_inbound_secret,
        name="channel-inbound-secret",
    ),
    path(
        "channels/<slug:code>/setup/test-message",
        views_channels.channel_test_message,
        name="channel-test-message",
    ),
    path(
        "channels/<slug:code>/setup/templates",
        views_channels.channel_template_add,
        name="channel-template-add",
    ),
    path(
        "channels/<slug:code>/setup/templates/<int:pk>/deactivate",
        views_channels.channel_template_deactivate,
        name="channel-template-deactivate",
    ),
    path("preferences/", views.display_preferences, name="display-preferences"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path(
        "accounts/login/",
        views.StaffLoginView.as_view(),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/two-factor/", views_security.two_factor, name="two-factor"),
]
