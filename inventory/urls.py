"""Staff pages of inventory."""

from django.urls import path

from inventory import views

app_name = "inventory"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("products/<int:product_id>/", views.product_stock, name="product-stock"),
    path("ledger/", views.ledger, name="ledger"),
    path("counts/", views.count_entry, name="count-entry"),
    path("transfers/", views.transfers, name="transfers"),
    path("transfers/<int:pk>/", views.transfer_detail, name="transfer-detail"),
    path("transfers/<int:pk>/pick-list/", views.transfer_pick_list, name="transfer-pick-list"),
    path("transfers/<int:pk>/<slug:action>/", views.transfer_action, name="transfer-action"),
    path("alerts/", views.alerts, name="alerts"),
]
