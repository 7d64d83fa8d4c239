"""Partner API routes of catalog, mounted under /api/v1/."""

from django.urls import path

from catalog.api import views

urlpatterns = [
    path("products", views.ProductListView.as_view(), name="api-products"),
    path("products/<int:pk>", views.ProductDetailView.as_view(), name="api-product"),
    path("variants", views.VariantListView.as_view(), name="api-variants"),
    path("variants/lookup", views.VariantLookupView.as_view(), name="api-variant-lookup"),
    path(
        "variants/<str:sku>/prices/<slug:channel>",
        views.VariantPriceView.as_view(),
        name="api-variant-price",
    ),
    path("feeds/<slug:code>/<str:filename>", views.FeedView.as_view(), name="api-feed"),
    path("catalog/imports", views.CatalogImportListView.as_view(), name="api-catalog-imports"),
    path(
        "catalog/imports/<int:pk>",
        views.CatalogImportDetailView.as_view(),
        name="api-catalog-import",
    ),
]
