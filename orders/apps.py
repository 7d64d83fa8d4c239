from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self):
        from customers.links import (
            register_customer_link,
            register_customer_panel,
            register_privacy_handler,
        )
        from inventory.signals import transfer_late, transfer_received

        from . import demo_data, demo_reports, staff_ui  # noqa: F401  (demo stages, nav, panels)
        from .privacy import erase_orders_of, export_orders_of, shipping_phones_of
        from .services import pickups

        # A merge re-points these to the surviving profile, in the merge's transaction.
        # A pickup served by a transfer follows it: ready, re-planned, released or late.
        transfer_received.connect(pickups.on_transfer_received, dispatch_uid="orders.pickups")
        transfer_late.connect(pickups.on_transfer_late, dispatch_uid="orders.pickups-late")
        register_customer_link("orders.Cart", "customer")
        register_customer_link("orders.Order", "customer")
        register_customer_link("orders.Return", "customer")
        register_privacy_handler(
            "orders",
            export=export_orders_of,
            erase=erase_orders_of,
            traces=shipping_phones_of,
        )
        register_customer_panel(
            "orders",
            "orders/panels/customer_orders.html",
            staff_ui.customer_orders_panel,
            perm="orders.view_order",
            order=10,
        )
