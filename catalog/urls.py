"""Staff pages of catalog."""

from django.urls import path

from catalog import views

app_name = "catalog"
urlpatterns = [
    path("products/", views.product_list, name="product-list"),
    path("products/<int:pk>/", views.product_detail, name="product-detail"),
    path("products/<int:pk>/prices/<slug:channel>/", views.product_prices, name="product-prices"),
    path("feeds/", views.feed_list, name="feed-list"),
    path("feeds/<int:pk>/regenerate/", views.feed_regenerate, name="feed-regenerate"),
    path("feeds/<int:pk>/file/<slug:kind>/", views.feed_file, name="feed-file"),
    path("import/", views.import_page, name="import"),
    path("export.<slug:fmt>", views.export, name="export"),
]
