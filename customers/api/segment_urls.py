"""Segment's HTTP Tracking API paths, served at the site's root (`/v1/...`) so an SDK only
needs its host changed."""

from django.urls import path

from . import segment_views as views

urlpatterns = [
    path("batch", views.BatchView.as_view(), name="segment-batch"),
    path("track", views.TrackView.as_view(), name="segment-track"),
    path("identify", views.IdentifyView.as_view(), name="segment-identify"),
    path("page", views.PageView.as_view(), name="segment-page"),
    path("screen", views.ScreenView.as_view(), name="segment-screen"),
    path("alias", views.AliasView.as_view(), name="segment-alias"),
    path("group", views.GroupView.as_view(), name="segment-group"),
]
