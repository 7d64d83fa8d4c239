from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WooCommerceConfig(AppConfig):
    name = "woocommerce"
    verbose_name = _("WooCommerce")

    def ready(self):
        from inventory.services.sync import register_push_target

        from . import demo_data  # noqa: F401  (demo stage)
        from .services.stock import push_stock_figures

        # A WooCommerce channel's stock changes go to the shop's REST API, through
        # inventory's debounced, versioned push.
        register_push_target("woocommerce", push_stock_figures)
