"""Partner API routes of customers, mounted under /api/v1/."""

from django.urls import path

from customers.api import reports, views

urlpatterns = [
    path("identify", views.IdentifyView.as_view(), name="api-identify"),
    path("track", views.TrackView.as_view(), name="api-track"),
    path("batch", views.BatchView.as_view(), name="api-batch"),
    path("alias", views.AliasView.as_view(), name="api-alias"),
    path("customers", views.CustomerListView.as_view(), name="api-customers"),
    path(
        "customers/channels-and-loyalty",
        views.ChannelsAndLoyaltyView.as_view(),
        name="api-channels-and-loyalty",
    ),
    path(
        "reports/acquisition",
        reports.AcquisitionReportView.as_view(),
        name="api-report-acquisition",
    ),
    path("reports/ropo", reports.RopoReportView.as_view(), name="api-report-ropo"),
    path("reports/journeys", reports.JourneysReportView.as_view(), name="api-report-journeys"),
    path("reports/retention", reports.RetentionReportView.as_view(), name="api-report-retention"),
    path("reports/support", reports.SupportReportView.as_view(), name="api-report-support"),
    path("reports/campaigns", reports.CampaignsReportView.as_view(), name="api-report-campaigns"),
    path("customers/<uuid:public_id>", views.CustomerDetailView.as_view(), name="api-customer"),
    path(
        "customers/<uuid:public_id>/timeline",
        views.TimelineView.as_view(),
        name="api-customer-timeline",
    ),
    path(
        "customers/<uuid:public_id>/consents",
        views.ConsentView.as_view(),
        name="api-customer-consents",
    ),
    path(
        "customers/<uuid:public_id>/export", views.ExportView.as_view(), name="api-customer-export"
    ),
    path("customers/<uuid:public_id>/erase", views.EraseView.as_view(), name="api-customer-erase"),
]
