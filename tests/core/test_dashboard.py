"""The home dashboard's charts: each role sees the charts of its area, over the period and
channel of the URL; each chart's figures are a table on the page and a CSV download."""

import csv
import io
import json
import re
from datetime import datetime, time, timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from catalog.factories import ProductVariantFactory
from core.factories import demo_channels
from core.roles import INVENTORY_MANAGER, MARKETER, MERCHANDISER, SUPPORT_AGENT
from customers.factories import CustomerFactory
from customers.rollups import DailyFigure, RollupRefresh
from customers.tasks import refresh_rollups_task
from orders.reports import channel_journeys, ropo, sales_by_day
from support.factories import ConversationFactory
from tests.customers.report_data import sale

pytestmark = pytest.mark.django_db


@pytest.fixture
def channels(db):
    return {channel.code: channel for channel in demo_channels()}


def at(day, hour=12):
    return timezone.make_aware(datetime.combine(day, time(hour)))


@pytest.fixture
def week_of_sales(channels):
    """Two web orders in USD and one marketplace order in IRR two days ago, one store order
    yesterday."""
    today = timezone.localdate()
    variant = ProductVariantFactory()
    customer = CustomerFactory(is_anonymous=False)
    two_days_ago = today - timedelta(days=2)
    sale(customer, channels["web"], at(two_days_ago), [(variant, 1)], total="30.00")
    sale(customer, channels["web"], at(two_days_ago, 15), [(variant, 2)], total="50.00")
    sale(
        customer,
        channels["marketplace"],
        at(two_days_ago),
        [(variant, 1)],
        total="9000000",
        currency="IRR",
    )
    sale(customer, channels["store"], at(today - timedelta(days=1)), [(variant, 1)], total="20.00")
    return today


def charts_on(response):
    page = response.content.decode()
    keys = re.findall(r'data-chart-key="([^"]+)"', page)
    specs = {
        match.group(1): json.loads(match.group(2))
        for match in re.finditer(
            r'<script id="chart-data-([^"]+)" type="application/json">(.*?)</script>', page, re.S
        )
    }
    return keys, specs


def test_merchandiser_sees_sales_and_stock_charts_not_support_or_campaigns(
    client, staff_in_role, week_of_sales
):
    client.force_login(staff_in_role(MERCHANDISER))
    response = client.get(reverse("home"))
    assert response.status_code == 200
    keys, specs = charts_on(response)
    assert "orders-per-day" in keys and "stock-alerts" in keys
    assert "sales-per-day-usd" in keys and "sales-per-day-irr" in keys
    assert "open-conversations" not in keys and "campaigns-sending" not in keys
    orders = specs["orders-per-day"]
    assert orders["stacked"] is True and len(orders["labels"]) == 30
    by_channel = {serie["label"]: serie["data"] for serie in orders["datasets"]}
    assert by_channel["Web shop"][-3] == 2
    assert by_channel["Stores"][-2] == 1
    usd = {serie["label"]: serie["data"] for serie in specs["sales-per-day-usd"]["datasets"]}
    assert usd["Web shop"][-3] == 80.0 and "Digikala marketplace" not in usd
    irr = {serie["label"]: serie["data"] for serie in specs["sales-per-day-irr"]["datasets"]}
    assert irr == {"Digikala marketplace": [0] * 27 + [9000000.0, 0, 0]}


def test_support_agent_sees_conversations_marketer_sees_campaigns(client, staff_in_role, channels):
    ConversationFactory(first_response_breached=True)
    today = timezone.localdate()
    ConversationFactory(
        created_at=at(today - timedelta(days=3)),
        status="resolved",
        resolved_at=at(today - timedelta(days=2)),
    )
    client.force_login(staff_in_role(SUPPORT_AGENT))
    keys, specs = charts_on(client.get(reverse("home")))
    assert "open-conversations" in keys and "stock-alerts" not in keys
    opened, breached = (serie["data"] for serie in specs["open-conversations"]["datasets"])
    assert opened[-4:] == [1, 0, 0, 1] and breached[-4:] == [0, 0, 0, 1]
    client.force_login(staff_in_role(MARKETER))
    keys, _specs = charts_on(client.get(reverse("home")))
    assert "campaigns-sending" in keys and "open-conversations" not in keys
    client.force_login(staff_in_role(INVENTORY_MANAGER))
    keys, _specs = charts_on(client.get(reverse("home")))
    assert "stock-alerts" in keys and "campaigns-sending" not in keys


def test_channel_and_period_filters_stay_in_the_url_and_narrow_the_charts(
    client, staff_in_role, week_of_sales
):
    client.force_login(staff_in_role(MERCHANDISER))
    since = week_of_sales - timedelta(days=3)
    response = client.get(
        reverse("home"), {"since": since.isoformat(), "until": week_of_sales, "channel": "store"}
    )
    _keys, specs = charts_on(response)
    orders = specs["orders-per-day"]
    assert len(orders["labels"]) == 4
    assert [serie["label"] for serie in orders["datasets"]] == ["Stores"]
    assert f'value="{since.isoformat()}"' in response.content.decode()


@pytest.mark.parametrize(
    "query, field",
    [
        ({"since": "abc"}, "since"),
        ({"since": "2026-05-10", "until": "2026-05-01"}, "since"),
        ({"channel": "nowhere"}, "channel"),
        ({"until": "2026-05-01\x00"}, None),  # refused before the view, still a 400
    ],
)
def test_bad_filters_are_a_400_naming_the_field(client, staff_in_role, channels, query, field):
    client.force_login(staff_in_role(MERCHANDISER))
    response = client.get(reverse("home"), query)
    assert response.status_code == 400
    if field:
        assert f'data-field-error="{field}"' in response.content.decode()


def test_each_chart_downloads_as_csv_with_raw_figures(client, staff_in_role, week_of_sales):
    client.force_login(staff_in_role(MERCHANDISER))
    response = client.get(reverse("home"), {"format": "csv", "chart": "orders-per-day"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["day", "channel", "currency", "orders", "revenue"]
    two_days_ago = (week_of_sales - timedelta(days=2)).isoformat()
    assert [two_days_ago, "web", "USD", "2", "80.00"] in rows
    assert [two_days_ago, "marketplace", "IRR", "1", "9000000.00"] in rows
    assert client.get(reverse("home"), {"format": "csv", "chart": "nope"}).status_code == 404


def test_persian_dashboard_has_jalali_labels_and_persian_digits(
    client, staff_in_role, week_of_sales
):
    client.force_login(staff_in_role(MERCHANDISER))
    client.cookies["django_language"] = "fa"
    response = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="fa")
    _keys, specs = charts_on(response)
    orders = specs["orders-per-day"]
    assert orders["numbering"] == "arabext" and orders["language"] == "fa"
    assert re.search("[۰-۹]", orders["labels"][0]) and not re.search("[0-9]", orders["labels"][0])
    assert "<details" in response.content.decode()


def test_the_demo_gives_every_chart_figures(settings, tmp_path):
    """`seed_demo`: sales on several days, store purchases after web views, journeys across
    channels."""
    settings.MEDIA_ROOT = tmp_path  # the demo's feeds are built there
    call_command("seed_demo", "--size", "small", "--seed", "5", verbosity=0)
    today = timezone.localdate()
    since = today - timedelta(days=29)
    assert len({row["day"] for row in sales_by_day(since, today)}) > 5
    assert ropo(since, today)["total"]["researched"] > 0
    journeys = channel_journeys(since, today)
    assert journeys["multichannel"] > 0
    assert any(row["steps"][-2:] == ["web", "store"] for row in journeys["journeys"]) or any(
        "store" in row["steps"] and len(row["steps"]) > 1 for row in journeys["journeys"]
    )


def test_the_beat_task_refreshes_every_rollup_and_the_dashboard_says_when(
    client, staff_in_role, week_of_sales, settings
):
    assert settings.CELERY_BEAT_SCHEDULE["customers.refresh_rollups"]["task"] == (
        "customers.refresh_rollups"
    )
    refresh_rollups_task.delay()
    expected = {"sales", "new_customers", "ropo_category", "journeys", "conversations"}
    assert expected | {"stock_alerts"} <= set(
        RollupRefresh.objects.values_list("metric", flat=True)
    )
    two_days_ago = week_of_sales - timedelta(days=2)
    web = DailyFigure.objects.get(metric="sales", day=two_days_ago, key="web")
    assert (web.count, str(web.amount)) == (2, "80.00")
    client.force_login(staff_in_role(MERCHANDISER))
    page = client.get(reverse("home")).content.decode()
    assert "Figures refreshed" in page
