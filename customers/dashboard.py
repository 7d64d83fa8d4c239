"""The home dashboard's charts, one group per area, each shown to the roles of its area
(core.staff_ui.register_dashboard_charts): sales and orders by channel (orders), open
conversations and SLA breaches (support), stock alerts (inventory), campaigns sending now
(campaigns). Registered from CustomersConfig.ready(); each group reads its app's data."""

from collections import defaultdict

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.selectors import campaigns_sending_now
from campaigns.selectors.reports import campaign_results
from core.charts import NUMBER, Chart, day_label
from core.models import Channel
from core.names import name_in_language
from core.replica import reading_replica
from core.staff_ui import register_dashboard_charts
from customers.services.rollups import (
    STOCK_ALERTS,
    conversations_by_day,
    figures_of,
    refreshed_at,
    sales_counts,
)
from inventory.selectors import low_stock_count
from orders.reports import today_against_last_week

# Shown above the charts when a filter does not apply to an area.
ALL_CHANNELS_NOTE = gettext_lazy("All channels: this chart has no channel filter.")


def _refreshed_note(refreshed) -> str:
    if refreshed is None:
        return ""
    when = date_format(timezone.localtime(refreshed), "DATETIME_FORMAT")
    return _("Figures refreshed %(when)s.") % {"when": when}


@reading_replica()
def sales_charts(request, filters) -> list[Chart]:
    """Orders per day by channel (stacked), sales per day by channel in each currency
    (stacked, one chart per currency), and today so far against the same weekday last week."""
    days = filters["days"]
    rows, refreshed = sales_counts(days[0], days[-1], channel=filters.get("channel"))
    names = {
        code: name_in_language(names, name)
        for code, name, names in Channel.objects.filter(
            code__in={row["channel"] for row in rows}
        ).values_list("code", "name", "names")
    }
    channels = sorted({(names.get(row["channel"], row["channel"]), row["channel"]) for row in rows})
    note = _refreshed_note(refreshed)
    currencies = sorted({row["currency"] for row in rows})
    orders = defaultdict(int)
    revenue = defaultdict(float)
    for row in rows:
        orders[(row["day"], row["channel"])] += row["orders"]
        revenue[(row["currency"], row["day"], row["channel"])] += float(row["revenue"])
    labels = [day_label(day) for day in days]
    charts = [
        Chart(
            key="orders-per-day",
            title=_("Orders per day by channel"),
            kind="bar",
            labels=labels,
            stacked=True,
            series=[
                {"label": name, "data": [orders[(day, code)] for day in days]}
                for name, code in channels
            ],
            note=note,
            csv_headers=[_("day"), _("channel"), _("currency"), _("orders"), _("revenue")],
            csv_rows=[
                [row["day"], row["channel"], row["currency"], row["orders"], row["revenue"]]
                for row in rows
            ],
        )
    ]
    for currency in currencies:
        charts.append(
            Chart(
                key=f"sales-per-day-{currency.lower()}",
                title=_("Sales per day by channel, %(currency)s") % {"currency": currency},
                kind="bar",
                labels=labels,
                stacked=True,
                series=[
                    {"label": name, "data": [revenue[(currency, day, code)] for day in days]}
                    for name, code in channels
                    if any(revenue[(currency, day, code)] for day in days)
                ],
                note=note,
                csv_headers=[_("day"), _("channel"), _("currency"), _("revenue")],
                csv_rows=[
                    [row["day"], row["channel"], currency, row["revenue"]]
                    for row in rows
                    if row["currency"] == currency
                ],
            )
        )
    compared = today_against_last_week(channel=filters.get("channel"))
    charts.append(
        Chart(
            key="today-against-last-week",
            title=_("Orders today against the same weekday last week"),
            kind="bar",
            labels=[f"{row['channel_name']} · {row['currency']}" for row in compared],
            series=[
                {"label": _("Today"), "data": [row["today_orders"] for row in compared]},
                {
                    "label": _("Same weekday last week"),
                    "data": [row["last_week_orders"] for row in compared],
                },
            ],
            note=_("Up to this time of day."),
            csv_headers=[
                _("channel"),
                _("currency"),
                _("orders today"),
                _("revenue today"),
                _("orders a week ago"),
                _("revenue a week ago"),
            ],
            csv_rows=[
                [
                    row["channel"],
                    row["currency"],
                    row["today_orders"],
                    row["today_revenue"],
                    row["last_week_orders"],
                    row["last_week_revenue"],
                ]
                for row in compared
            ],
        )
    )
    return charts


@reading_replica()
def support_charts(request, filters) -> list[Chart]:
    days = filters["days"]
    open_at, breached, refreshed = conversations_by_day(days)
    return [
        Chart(
            key="open-conversations",
            title=_("Open conversations and SLA breaches"),
            kind="line",
            labels=[day_label(day) for day in days],
            series=[
                {"label": _("Open at the end of the day"), "data": open_at},
                {"label": _("Started that day, SLA breached"), "data": breached},
            ],
            note=_refreshed_note(refreshed) or ALL_CHANNELS_NOTE,
            csv_headers=[_("day"), _("open"), _("breached")],
            csv_rows=[[day, o, b] for day, o, b in zip(days, open_at, breached, strict=True)],
        )
    ]


@reading_replica()
def stock_charts(request, filters) -> list[Chart]:
    """Stock alerts (levels at or under their threshold) per day, from the daily snapshot the
    beat takes, and today's figure now."""
    days = filters["days"]
    counts = {row.day: row.count for row in figures_of(STOCK_ALERTS, days[0], days[-1])}
    today = timezone.localdate()
    if days[0] <= today <= days[-1]:
        counts[today] = low_stock_count()
    data = [counts.get(day) for day in days]
    when = refreshed_at(STOCK_ALERTS)
    return [
        Chart(
            key="stock-alerts",
            title=_("Stock alerts"),
            kind="line",
            labels=[day_label(day) for day in days],
            series=[{"label": _("Levels at or under their threshold"), "data": data}],
            note=_("Taken once a day; today's is live.") if when else "",
            csv_headers=[_("day"), _("stock alerts")],
            csv_rows=[[day, value] for day, value in zip(days, data, strict=True)],
        )
    ]


@reading_replica()
def campaign_charts(request, filters) -> list[Chart]:
    """Campaigns sending now (or running an A/B test): sent against audience."""
    results = [
        (campaign, campaign_results(campaign)["total"]) for campaign in campaigns_sending_now()
    ]
    return [
        Chart(
            key="campaigns-sending",
            title=_("Campaigns sending now"),
            kind="bar",
            horizontal=True,
            labels=[campaign.name for campaign, _total in results],
            series=[
                {"label": _("Sent"), "data": [total["sent"] for _c, total in results]},
                {"label": _("Audience"), "data": [total["audience"] for _c, total in results]},
            ],
            value_format=NUMBER,
            csv_headers=[_("campaign"), _("sent"), _("audience"), _("opened"), _("clicked")],
            csv_rows=[
                [campaign.name, total["sent"], total["audience"], total["opened"], total["clicked"]]
                for campaign, total in results
            ],
        )
    ]


register_dashboard_charts("orders.sales", sales_charts, perm="orders.view_order", order=10)
register_dashboard_charts(
    "support.open", support_charts, perm="support.view_conversation", order=20
)
register_dashboard_charts(
    "inventory.alerts", stock_charts, perm="inventory.view_stocklevel", order=30
)
register_dashboard_charts(
    "campaigns.sending", campaign_charts, perm="campaigns.view_campaign", order=40
)
