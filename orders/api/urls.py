"""Partner API routes of orders, mounted under /api/v1/."""

from django.urls import path

from orders.api import views

urlpatterns = [
    path("orders/", views.OrderListView.as_view(), name="api-orders"),
    path("orders/<str:number>", views.OrderDetailView.as_view(), name="api-order"),
    path("orders/<str:number>/status", views.OrderStatusView.as_view(), name="api-order-status"),
    path("orders/<str:number>/payment", views.OrderPaymentView.as_view(), name="api-order-payment"),
    path(
        "orders/<str:number>/fulfilments",
        views.OrderFulfilmentView.as_view(),
        name="api-order-fulfilments",
    ),
    path("orders/<str:number>/lines", views.OrderLinesView.as_view(), name="api-order-lines"),
    path(
        "orders/<str:number>/lines/<int:line_id>",
        views.OrderLineView.as_view(),
        name="api-order-line",
    ),
    path("returns/", views.ReturnListView.as_view(), name="api-returns"),
    path("returns/exchanges", views.ExchangeView.as_view(), name="api-exchanges"),
    path("returns/replacements", views.ReplacementView.as_view(), name="api-replacements"),
    path(
        "returns/pickups/<int:pickup_id>/collect",
        views.PickupCollectView.as_view(),
        name="api-pickup-collect",
    ),
    path("returns/products", views.ReturnedProductsView.as_view(), name="api-returned-products"),
    path("returns/<str:number>", views.ReturnDetailView.as_view(), name="api-return"),
    path(
        "returns/<str:number>/receive", views.ReturnReceiveView.as_view(), name="api-return-receive"
    ),
    path("carts/", views.CartListView.as_view(), name="api-carts"),
    path("carts/<int:pk>", views.CartDetailView.as_view(), name="api-cart"),
    path("carts/<int:pk>/lines", views.CartLinesView.as_view(), name="api-cart-lines"),
]
