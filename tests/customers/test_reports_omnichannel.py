"""The omnichannel reports against figures counted by hand on small data: research online
buy offline (in and out of its window), channel journeys and acquisition; through the
reports' functions, their API endpoints and their pages (charts, CSV, roles)."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.factories import CategoryFactory, ProductFactory, ProductVariantFactory
from core.factories import demo_channels
from core.roles import MARKETER, MERCHANDISER, SUPPORT_AGENT
from customers.factories import AnonymousCustomerFactory, CustomerFactory
from customers.reports import acquisition, week_of
from customers.services.rollups import (
    acquisition_report,
    journeys_report,
    refresh_rollups,
    ropo_report,
)
from inventory.factories import LocationFactory
from orders.models import Order
from orders.reports import channel_journeys, ropo
from tests.customers.report_data import sale, touch

pytestmark = pytest.mark.django_db


@pytest.fixture
def channels(db):
    return {channel.code: channel for channel in demo_channels()}


@pytest.fixture
def shop(channels):
    """Store and phone purchases two days ago, each with the customer's touches before it:

    A: instagram 8 days before, web view of the shoe 5 days before, buys that shoe in store.
    B: app view of the other shoe 10 days before, buys the first shoe in store (category).
    C: web view of the bag 40 days before, buys it in store (outside a 30-day window).
    D: buys the bag by phone, views it on the web a day after (never counts).
    G: app view of the bag 3 days before, buys it in store.
    E: buys the shoe on the web (not an offline purchase).
    """
    shoes, bags = CategoryFactory(name="Shoes"), CategoryFactory(name="Bags")
    shoe = ProductVariantFactory(product=ProductFactory(name="Aria runner", category=shoes))
    other_shoe = ProductVariantFactory(product=ProductFactory(name="Baku boot", category=shoes))
    bag = ProductVariantFactory(product=ProductFactory(name="Tabriz tote", category=bags))
    store = LocationFactory(code="tehran-1", name="Tehran store")
    bought = timezone.now() - timedelta(days=2)
    people = {name: CustomerFactory() for name in "ABCDGE"}
    web, app, instagram = channels["web"], channels["app"], channels["instagram"]
    touch(people["A"], instagram, bought - timedelta(days=8))
    touch(people["A"], web, bought - timedelta(days=5), "product_viewed", sku=shoe.sku)
    sale(people["A"], channels["store"], bought, [(shoe, 1)], store=store)
    touch(people["B"], app, bought - timedelta(days=10), "product_viewed", sku=other_shoe.sku)
    sale(people["B"], channels["store"], bought, [(shoe, 1)], store=store)
    touch(people["C"], web, bought - timedelta(days=40), "product_viewed", sku=bag.sku)
    sale(people["C"], channels["store"], bought, [(bag, 1)], store=store)
    sale(people["D"], channels["phone"], bought, [(bag, 1)])
    touch(people["D"], web, bought + timedelta(days=1), "product_viewed", sku=bag.sku)
    touch(people["G"], app, bought - timedelta(days=3), "product_viewed", product_id=bag.product_id)
    sale(people["G"], channels["store"], bought, [(bag, 1)], store=store)
    touch(people["E"], web, bought - timedelta(days=1), "product_viewed", sku=shoe.sku)
    sale(people["E"], web, bought, [(shoe, 1)])
    today = timezone.localdate()
    return today - timedelta(days=10), today


def test_ropo_counts_store_and_phone_purchases_after_a_web_or_app_view(shop):
    since, until = shop
    report = ropo(since, until, days=30)
    assert report["total"] == {"purchases": 5, "researched": 3, "same_product": 2, "share": 0.6}
    by_category = {row["category"]: row for row in report["by_category"]}
    assert by_category["Shoes"]["purchases"] == 2 and by_category["Shoes"]["researched"] == 2
    assert by_category["Shoes"]["same_product"] == 1
    assert by_category["Bags"]["purchases"] == 3 and by_category["Bags"]["researched"] == 1
    by_store = {row["store"]: row for row in report["by_store"]}
    assert by_store["Tehran store"] == {
        "store": "Tehran store",
        "purchases": 4,
        "researched": 3,
        "same_product": 2,
        "share": 0.75,
    }
    assert by_store["Call centre"]["purchases"] == 1 and by_store["Call centre"]["researched"] == 0


def test_a_view_outside_the_window_does_not_count_until_the_window_reaches_it(shop):
    since, until = shop
    assert ropo(since, until, days=30)["total"]["researched"] == 3
    assert ropo(since, until, days=60)["total"]["researched"] == 4  # C's view, 40 days before
    assert ropo(since, until, days=2)["total"]["researched"] == 0  # the closest is 3 days before


def test_channel_journeys_are_the_touches_in_order_ending_with_the_purchase(shop):
    since, until = shop
    report = channel_journeys(since, until, days=30)
    journeys = {tuple(row["steps"]): row["purchases"] for row in report["journeys"]}
    assert journeys == {
        ("mobile_app", "store"): 2,
        ("instagram", "web", "store"): 1,
        ("store",): 1,
        ("phone",): 1,
        ("web",): 1,
    }
    assert report["journeys"][0] == {"steps": ["mobile_app", "store"], "purchases": 2}
    assert report["purchases"] == 6 and report["multichannel"] == 3


@pytest.fixture
def newcomers(channels):
    """Customers created in two weeks about four months ago, with their first touches and
    their purchases in and after their first 90 days."""
    monday = week_of(timezone.localdate() - timedelta(days=119))
    start = timezone.make_aware(timezone.datetime.combine(monday, timezone.datetime.min.time()))
    variant = ProductVariantFactory(product=ProductFactory(name="Aria trainer"))
    x1 = CustomerFactory(created_at=start + timedelta(days=1, hours=10))
    touch(x1, channels["instagram"], x1.created_at)
    touch(x1, channels["web"], x1.created_at + timedelta(days=2))
    sale(x1, channels["web"], x1.created_at + timedelta(days=10), [(variant, 2)], total="50.00")
    x2 = CustomerFactory(created_at=start + timedelta(days=1, hours=11))
    touch(x2, channels["web"], x2.created_at)
    x3 = CustomerFactory(created_at=start + timedelta(days=8, hours=9))
    touch(x3, channels["web"], x3.created_at)
    sale(
        x3,
        channels["marketplace"],
        x3.created_at + timedelta(days=30),
        [(variant, 1)],
        total="5000000",
        currency="IRR",
    )
    sale(x3, channels["web"], x3.created_at + timedelta(days=100), [(variant, 1)])
    CustomerFactory(created_at=start + timedelta(days=9))  # no touch with a channel
    visitor = AnonymousCustomerFactory(created_at=start + timedelta(days=2))
    touch(visitor, channels["web"], visitor.created_at)
    before = CustomerFactory(created_at=start - timedelta(days=3))
    touch(before, channels["web"], before.created_at)
    return monday


def test_acquisition_counts_new_customers_by_first_touch_and_their_first_90_days(newcomers):
    monday = newcomers
    report = acquisition(monday, timezone.localdate())
    weeks = {
        row["week"]: dict(zip(report["kinds"], row["counts"], strict=True))
        for row in report["weeks"]
    }
    assert weeks[monday] == {"instagram": 1, "web": 1, "unknown": 0}
    assert weeks[monday + timedelta(days=7)] == {"instagram": 0, "web": 1, "unknown": 1}
    first = {row["kind"]: row for row in report["first_purchases"]}
    assert first["instagram"]["customers"] == 1 and first["instagram"]["buyers"] == 1
    assert first["instagram"]["orders"] == 1
    assert {c: str(a) for c, a in first["instagram"]["revenue"].items()} == {"USD": "50.00"}
    assert first["instagram"]["top_products"] == [{"product": "Aria trainer", "units": 2}]
    assert (first["web"]["customers"], first["web"]["buyers"], first["web"]["orders"]) == (2, 1, 1)
    assert {c: str(a) for c, a in first["web"]["revenue"].items()} == {"IRR": "5000000.00"}
    assert (first["unknown"]["customers"], first["unknown"]["buyers"]) == (1, 0)


def test_reports_api_gives_the_same_figures_and_refuses_bad_input(api_client_for, shop):
    since, until = shop
    client = api_client_for("customers:read")
    response = client.get(
        "/api/v1/reports/ropo", {"since": since.isoformat(), "until": until.isoformat()}
    )
    assert response.status_code == 200, response.content
    assert response.json()["total"]["share"] == 0.6 and response.json()["days"] == 30
    response = client.get("/api/v1/reports/journeys", {"since": since.isoformat(), "days": 30})
    assert response.json()["journeys"][0] == {"steps": ["mobile_app", "store"], "purchases": 2}
    assert client.get("/api/v1/reports/acquisition").status_code == 200
    for query, field in (
        ({"days": "abc"}, "days"),
        ({"days": "0"}, "days"),
        ({"since": "2026-05-10", "until": "2026-05-01"}, "since"),
        ({"since": "not-a-date"}, "since"),
    ):
        response = client.get("/api/v1/reports/ropo", query)
        assert response.status_code == 400, query
        assert field in str(response.json()), query
    other = api_client_for("orders:read")
    assert other.get("/api/v1/reports/ropo").status_code == 403


def test_report_pages_draw_charts_for_their_roles_and_refuse_others(client, staff_in_role, shop):
    since, until = shop
    client.force_login(staff_in_role(MARKETER))
    index = client.get(reverse("reports:index")).content.decode()
    for key in ("acquisition", "ropo", "journeys", "returns", "retention", "campaigns"):
        assert f'data-report="{key}"' in index
        response = client.get(reverse(f"reports:{key}"))
        assert response.status_code == 200, key
        assert 'class="chart"' in response.content.decode()
    assert 'data-report="support"' not in index
    assert client.get(reverse("reports:support")).status_code == 403
    page = client.get(
        reverse("reports:ropo"), {"since": since.isoformat(), "days": 30}
    ).content.decode()
    assert "3 of 5 store and phone purchases" in page and "60" in page
    client.force_login(staff_in_role(MERCHANDISER))
    for key in ("acquisition", "ropo", "journeys"):
        assert client.get(reverse(f"reports:{key}")).status_code == 403
        assert client.get(f"/api/v1/reports/{key}").status_code == 403
    assert client.get(reverse("reports:returns")).status_code == 200
    client.force_login(staff_in_role(SUPPORT_AGENT))
    assert client.get(reverse("reports:support")).status_code == 200
    assert client.get(reverse("reports:campaigns")).status_code == 403


def test_a_report_chart_downloads_as_csv_and_bad_input_names_the_field(client, staff_in_role, shop):
    since, _until = shop
    client.force_login(staff_in_role(MARKETER))
    response = client.get(
        reverse("reports:ropo"),
        {"since": since.isoformat(), "format": "csv", "chart": "ropo-by-store"},
    )
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "store",
        "store and phone purchases",
        "researched online",
        "same product",
        "share",
    ]
    assert ["Tehran store", "4", "3", "2", "0.75"] in rows
    response = client.get(
        reverse("reports:journeys"),
        {"since": since.isoformat(), "format": "csv", "chart": "journeys"},
    )
    assert ["mobile_app > store", "2"] in list(csv.reader(io.StringIO(response.content.decode())))
    response = client.get(reverse("reports:ropo"), {"days": "abc"})
    assert response.status_code == 400 and 'data-field-error="days"' in response.content.decode()
    assert client.get("/reports/nope/").status_code == 404


def test_the_rollups_give_the_same_figures_and_the_pages_read_them(
    client, staff_in_role, shop, newcomers
):
    """Refreshed, the rollups answer as the raw rows did; the pages then read the rollups
    (an order deleted after the refresh still counts) and say when they were refreshed."""
    since, until = shop
    raw = {
        "ropo": ropo(since, until, days=30),
        "ropo60": ropo(since, until, days=60),
        "journeys": channel_journeys(since, until, days=30),
        "acquisition": acquisition(newcomers, until),
    }
    assert ropo_report(since, until)[1] is None  # nothing refreshed yet: raw rows
    refresh_rollups(since=newcomers - timedelta(days=1), until=until)
    assert ropo_report(since, until, days=30)[0] == raw["ropo"]
    assert ropo_report(since, until, days=60)[0] == raw["ropo60"]
    assert journeys_report(since, until, days=30)[0] == raw["journeys"]
    report, refreshed = acquisition_report(newcomers, until)
    assert report == raw["acquisition"] and refreshed is not None
    Order.objects.filter(channel__code="phone").delete()
    assert ropo_report(since, until)[0]["total"]["purchases"] == 5  # from the rollup
    assert ropo(since, until)["total"]["purchases"] == 4  # the raw rows changed
    client.force_login(staff_in_role(MARKETER))
    page = client.get(reverse("reports:ropo"), {"since": since.isoformat()}).content.decode()
    assert "3 of 5 store and phone purchases" in page and "Figures refreshed" in page
