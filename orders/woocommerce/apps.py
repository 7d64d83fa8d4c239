from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WooCommerceConfig(AppConfig):
    # A connector of the orders app; its label (tables, migrations) stays "woocommerce".
    name = "orders.woocommerce"
    label = "woocommerce"
    verbose_name = _("WooCommerce")

    def ready(self):
        from inventory.services.sync import register_push_target

        from . import demo_data  # noqa: F401  (demo stage)
        from .services.stock import push_stock_figures

        # A WooCommerce channel's stock changes go to the shop's REST API, through
        # inventory's debounced, versioned push.
        register_push_target("woocommerce", push_stock_figures)
