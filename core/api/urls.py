from django.urls import path

from core.api import views

urlpatterns = [
    path("channels", views.ChannelListView.as_view(), name="api-channels"),
    path("channels/<slug:code>", views.ChannelDetailView.as_view(), name="api-channel"),
    path("me", views.WhoAmIView.as_view(), name="api-me"),
]
