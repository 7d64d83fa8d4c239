"""Staff pages of customers."""

from django.urls import path

from customers import views

app_name = "customers"
urlpatterns = [
    path("", views.search, name="search"),
    path("duplicates/", views.duplicates, name="duplicates"),
    path("channels-and-loyalty/", views.channels_and_loyalty, name="channels-and-loyalty"),
    path(
        "duplicates/<int:pk>/merge",
        views.decide_duplicate,
        {"decision": "merge"},
        name="merge-candidate",
    ),
    path(
        "duplicates/<int:pk>/separate",
        views.decide_duplicate,
        {"decision": "separate"},
        name="separate-candidate",
    ),
    path("<uuid:public_id>/", views.detail, name="detail"),
    path("<uuid:public_id>/merge", views.merge_duplicate, name="merge-duplicate"),
]
