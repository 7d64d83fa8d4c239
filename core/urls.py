from django.contrib.auth import views as auth_views
from django.urls import path

from core import metrics, views, views_security

urlpatterns = [
    path("", views.home, name="home"),
    path("channels/", views.channels, name="channels"),
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
