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


@dataclass(frozen=True)
class DashboardCharts:
    """Charts of one area on the home dashboard: `charts(request, filters)` returns
    core.charts.Chart objects for the period and channel of `filters` (DashboardFilterForm's
    cleaned data)."""

    key: str
    charts: Callable
    perm: str | None = None
    order: int = 50


NAV_ITEMS: dict[str, NavItem] = {}
DASHBOARD_PANELS: dict[str, DashboardPanel] = {}
DASHBOARD_CHARTS: dict[str, DashboardCharts] = {}


def register_nav_item(key, label, url_name, *, perm=None, order=50):
    NAV_ITEMS[key] = NavItem(key, label, url_name, perm, order)


def register_dashboard_panel(key, template, context=None, *, perm=None, order=50):
    DASHBOARD_PANELS[key] = DashboardPanel(key, template, context or (lambda r: {}), perm, order)


def register_dashboard_charts(key, charts, *, perm=None, order=50):
    DASHBOARD_CHARTS[key] = DashboardCharts(key, charts, perm, order)


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


def charts_for(request, filters) -> list:
    """The home dashboard's charts the staff member's role may see, in order."""
    charts = []
    for entry in sorted(DASHBOARD_CHARTS.values(), key=lambda e: (e.order, e.key)):
        if _allowed(request.user, entry.perm):
            charts.extend(entry.charts(request, filters))
    return charts


register_nav_item("home", _("Home"), "home", order=0)
register_nav_item("channels", _("Channels"), "channels", perm="core.view_channel", order=90)
register_nav_item("api_docs", _("API docs"), "api-docs", order=98)
register_nav_item("admin", _("Admin"), "admin:index", order=99)
