"""Staff pages of the omnichannel reports, mounted at /reports/: one URL name per report
(`reports:ropo`), each with the permission of its area."""

from django.urls import path

from customers import report_views

app_name = "reports"
urlpatterns = [path("", report_views.report_index, name="index")] + [
    path(f"{key}/", report_views.report_page, {"key": key}, name=key)
    for key in report_views.REPORTS
]
