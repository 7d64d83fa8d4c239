from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = _("Catalog")

    def ready(self):
        from core.staff_ui import register_dashboard_panel, register_nav_item

        from . import demo_data  # noqa: F401  (registers the catalog's seed_demo stages)
        from .views import dashboard_context

        register_nav_item(
            "catalog", _("Catalog"), "catalog:product-list", perm="catalog.view_product", order=20
        )
        register_dashboard_panel(
            "catalog.summary",
            "catalog/panels/dashboard.html",
            dashboard_context,
            perm="catalog.view_product",
            order=20,
        )
