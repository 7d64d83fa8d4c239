"""Staff pages of orders."""

from django.urls import path

from orders import views

app_name = "orders"
urlpatterns = [
    path("", views.order_list, name="order-list"),
    path("counter/", views.counter_return, name="counter-return"),
    path("returns/products/", views.returned_products, name="returned-products"),
    path("pickups/<int:pk>/collect/", views.pickup_collect, name="pickup-collect"),
    path("<str:number>/", views.order_detail, name="order-detail"),
    path("<str:number>/edit/", views.order_edit, name="order-edit"),
    path("<str:number>/<slug:action>/", views.order_action, name="order-action"),
]
