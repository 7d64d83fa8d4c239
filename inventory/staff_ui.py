"""Inventory's entries in the staff shell: the nav item, the low-stock dashboard panel and
the stock panel on the catalog's product page."""

from django.utils.translation import gettext_lazy as _

from core.staff_ui import register_dashboard_panel, register_nav_item


def _low_stock(request):
    from inventory.views import low_stock_panel_context

    return low_stock_panel_context(request)


def _product_stock(request, product):
    from inventory.views import product_panel_context

    return product_panel_context(request, product)


register_nav_item(
    "inventory", _("Stock"), "inventory:overview", perm="inventory.view_stocklevel", order=30
)
register_dashboard_panel(
    "inventory.low_stock",
    "inventory/panels/low_stock.html",
    _low_stock,
    perm="inventory.view_stocklevel",
    order=20,
)

try:
    from catalog.staff_ui import register_product_panel
except ImportError:  # the catalog's product page has no panels: /inventory/products/<id>/
    register_product_panel = None
if register_product_panel is not None:
    register_product_panel(
        "inventory.stock",
        "inventory/panels/product_stock.html",
        _product_stock,
        perm="inventory.view_stocklevel",
        order=20,
    )
