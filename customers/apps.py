from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self):
        from core.staff_ui import register_dashboard_panel, register_nav_item
        from customers import checks, demo_data  # noqa: F401 (system check, demo stages)

        register_nav_item(
            "customers",
            _("Customers"),
            "customers:search",
            perm="customers.view_customer",
            order=10,
        )
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
