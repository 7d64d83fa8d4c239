"""Orders' entries in the staff shell: nav item, dashboard panel, the customer 360 panel."""

from django.utils.translation import gettext_lazy as _

from core.staff_ui import register_dashboard_panel, register_nav_item
from orders.selectors import orders_of_customer, orders_today_by_channel


def customer_orders_panel(request, customer):
    return {"orders": orders_of_customer(customer)[:20], "customer": customer}


def orders_today_panel(request):
    return {"orders_today": orders_today_by_channel()}


register_nav_item("orders", _("Orders"), "orders:order-list", perm="orders.view_order", order=40)
register_dashboard_panel(
    "orders.today",
    "orders/panels/orders_today.html",
    orders_today_panel,
    perm="orders.view_order",
    order=30,
)
