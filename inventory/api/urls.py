"""Partner API routes of inventory, mounted under /api/v1/."""

from django.urls import path

from inventory.api import views

urlpatterns = [
    path("stock/movements", views.StockMovementsView.as_view(), name="api-stock-movements"),
    path("reservations", views.ReservationCreateView.as_view(), name="api-reservations"),
    path("reservations/<int:pk>", views.ReservationDetailView.as_view(), name="api-reservation"),
    path(
        "reservations/<int:pk>/release",
        views.ReservationReleaseView.as_view(),
        name="api-reservation-release",
    ),
    path(
        "reservations/<int:pk>/confirm",
        views.ReservationConfirmView.as_view(),
        name="api-reservation-confirm",
    ),
    path("availability", views.AvailabilityView.as_view(), name="api-availability"),
    path("availability/bulk", views.BulkAvailabilityView.as_view(), name="api-availability-bulk"),
    path(
        "availability/explain",
        views.AvailabilityExplainView.as_view(),
        name="api-availability-explain",
    ),
    path("stores/nearby", views.NearbyStoresView.as_view(), name="api-stores-nearby"),
    path("locations", views.LocationListView.as_view(), name="api-locations"),
    path("transfers", views.TransferListView.as_view(), name="api-transfers"),
    path("transfers/<int:pk>", views.TransferDetailView.as_view(), name="api-transfer"),
    path("transfers/<int:pk>/ship", views.TransferShipView.as_view(), name="api-transfer-ship"),
    path(
        "transfers/<int:pk>/receive",
        views.TransferReceiveView.as_view(),
        name="api-transfer-receive",
    ),
]
