"""The staff shell's registries: navigation entries and home dashboard panels.

Each app registers its own entries from its AppConfig.ready(), so the shell knows no app:

    register_nav_item("catalog", _("Catalog"), "catalog:product-list", perm="catalog.view_product")
    register_dashboard_panel("inventory.low_stock", "inventory/panels/low_stock.html",
                             low_stock_context, perm="inventory.view_stocklevel", order=20)
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    url_name: str
    perm: str | None = None
    order: int = 50


@dataclass(frozen=True)
class DashboardPanel:
    key: str
    template: str
    context: Callable = field(default=lambda request: {})
    perm: str | None = None
    order: int = 50


NAV_ITEMS: dict[str, NavItem] = {}
DASHBOARD_PANELS: dict[str, DashboardPanel] = {}


def register_nav_item(key, label, url_name, *, perm=None, order=50):
    NAV_ITEMS[key] = NavItem(key, label, url_name, perm, order)


def register_dashboard_panel(key, template, context=None, *, perm=None, order=50):
    DASHBOARD_PANELS[key] = DashboardPanel(key, template, context or (lambda r: {}), perm, order)


def _allowed(user, perm):
    return perm is None or user.has_perm(perm)


def nav_for(user):
    items = []
    for item in sorted(NAV_ITEMS.values(), key=lambda i: (i.order, i.key)):
        if not _allowed(user, item.perm):
            continue
        try:
            items.append({"key": item.key, "label": item.label, "url": reverse(item.url_name)})
        except NoReverseMatch:
            continue
    return items


def panels_for(request):
    return [
        {"key": panel.key, "template": panel.template, **panel.context(request)}
        for panel in sorted(DASHBOARD_PANELS.values(), key=lambda p: (p.order, p.key))
        if _allowed(request.user, panel.perm)
    ]


register_nav_item("home", _("Home"), "home", order=0)
register_nav_item("channels", _("Channels"), "channels", perm="core.view_channel", order=90)
register_nav_item("api_docs", _("API docs"), "api-docs", order=98)
register_nav_item("admin", _("Admin"), "admin:index", order=99)
