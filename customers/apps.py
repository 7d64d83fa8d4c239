from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self):
        # The system check, the demo stages and the home dashboard's charts register here.
        from core.partitioning import partition_archiving
        from core.staff_ui import register_dashboard_panel, register_nav_item
        from customers import checks, dashboard, demo_data  # noqa: F401
        from customers.services.figures import fold_archived_events

        # A month of events archived leaves its share of the lifetime figures behind.
        partition_archiving.connect(fold_archived_events, dispatch_uid="customers.fold_events")

        register_nav_item(
            "customers",
            _("Customers"),
            "customers:search",
            perm="customers.view_customer",
            order=10,
        )
        # Every staff member: the page lists only the reports of the role's areas.
        register_nav_item("reports", _("Reports"), "reports:index", order=80)
        register_dashboard_panel(
            "customers.today",
            "customers/panels/today.html",
            _dashboard_context,
            perm="customers.view_customer",
            order=10,
        )


def _dashboard_context(request):
    from customers.selectors import dashboard_figures

    return dashboard_figures()
