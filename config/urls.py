"""Root URLs: staff pages, the admin, the partner API under /api/v1/, schema and docs."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

APPS = ["customers", "catalog", "inventory", "orders", "campaigns", "support"]

api_v1 = [path("", include("core.api.urls"))] + [
    path("", include(f"{app}.api.urls")) for app in APPS
]
# Connectors have webhooks under /api/v1/ and no staff pages of their own.
api_v1 += [path("", include("orders.woocommerce.api.urls"))]

urlpatterns = [
    path("", include("core.urls")),
    # One way in: the admin's login is the staff login page, `next` kept.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include(api_v1)),
    # Segment's HTTP Tracking API, where its SDKs send (customers.segment).
    path("v1/", include("customers.api.segment_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script from a URL, not inline, for the CSP.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # The omnichannel reports read every app's figures; customers shapes them into charts.
    path("reports/", include("customers.report_urls")),
] + [path(f"{app}/", include(f"{app}.urls")) for app in APPS]

handler400 = "core.views.bad_request"
handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"

admin.site.site_header = admin.site.site_title = "Omni back-office"
