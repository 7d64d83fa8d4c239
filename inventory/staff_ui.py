"""Inventory's entries in the staff shell: the nav item, the low-stock dashboard panel and
the stock panel on the catalog's product page."""

from django.utils.translation import gettext_lazy as _

from catalog.staff_ui import register_product_panel
from core.staff_ui import register_dashboard_panel, register_nav_item
from inventory.views import low_stock_panel_context, product_panel_context

register_nav_item(
    "inventory", _("Stock"), "inventory:overview", perm="inventory.view_stocklevel", order=30
)
register_dashboard_panel(
    "inventory.low_stock",
    "inventory/panels/low_stock.html",
    low_stock_panel_context,
    perm="inventory.view_stocklevel",
    order=20,
)
register_product_panel(
    "inventory.stock",
    "inventory/panels/product_stock.html",
    product_panel_context,
    perm="inventory.view_stocklevel",
    order=20,
)
