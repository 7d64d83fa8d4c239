"""Panels on the staff product page, registered by any app (inventory adds stock per
location) from its AppConfig.ready():

    from catalog.staff_ui import register_product_panel
    register_product_panel("inventory.stock", "inventory/panels/product_stock.html",
                           stock_context, perm="inventory.view_stocklevel", order=20)

`context_func(request, product)` returns the template's context (a dict); the template is
included inside a card with `panel` and `product` available.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ProductPanel:
    key: str
    template: str
    context: Callable
    perm: str | None = None
    order: int = 50


PRODUCT_PANELS: dict[str, ProductPanel] = {}


def register_product_panel(key, template, context_func=None, perm=None, order=50):
    PRODUCT_PANELS[key] = ProductPanel(
        key, template, context_func or (lambda request, product: {}), perm, order
    )


def product_panels_for(request, product) -> list[dict]:
    return [
        {"key": panel.key, "template": panel.template, **panel.context(request, product)}
        for panel in sorted(PRODUCT_PANELS.values(), key=lambda p: (p.order, p.key))
        if panel.perm is None or request.user.has_perm(panel.perm)
    ]
