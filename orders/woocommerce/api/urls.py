from django.urls import path

from orders.woocommerce.api.views import WebhookView

urlpatterns = [
    path(
        "providers/<slug:channel_code>/woocommerce",
        WebhookView.as_view(),
        name="api-woocommerce-webhook",
    ),
]
