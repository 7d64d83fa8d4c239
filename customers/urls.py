"""Staff pages of customers."""

from django.urls import path

from customers import views

app_name = "customers"
urlpatterns = [
    path("", views.search, name="search"),
    path("<uuid:public_id>/", views.detail, name="detail"),
    path("<uuid:public_id>/merge", views.merge_duplicate, name="merge-duplicate"),
]
