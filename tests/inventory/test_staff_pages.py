"""Staff pages: stock by location with "why is this 0?", the ledger, counts, transfers,
low-stock alerts on the dashboard; each list guarded against query growth."""

import datetime as dt
import zoneinfo
from itertools import count

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from catalog.factories import ProductVariantFactory
from core import staff_ui
from inventory.factories import LocationFactory, WarehouseFactory, receive_stock, set_safety
from inventory.models import StockLevel, StockMovement, Transfer
from inventory.services import (
    MovementInput,
    TransferLineInput,
    create_transfer,
    record_movements,
    reserve,
)
from tests.query_counts import assert_queries_do_not_grow

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(client, staff_in_role):
    client.force_login(staff_in_role("Inventory manager"))
    return client


def test_product_stock_page_shows_locations_and_why_zero(
    manager, variant, channels, warehouse, store
):
    receive_stock(variant, store, 3)
    page_url = f"/inventory/products/{variant.product_id}/"

    def add_variants(n):  # more variants must not mean more queries
        for _ in range(n):
            receive_stock(ProductVariantFactory(product=variant.product), warehouse, 1)

    def stock_page():
        assert manager.get(page_url).status_code == 200

    assert_queries_do_not_grow(add_variants, stock_page, at_most=30)
    page = manager.get(page_url).content.decode()
    assert 'data-table="stock-by-location"' in page and store.code in page
    # Marketplace counts only the warehouse, which is empty: the page says why.
    assert 'data-channel="marketplace"' in page
    assert 'data-reason="no_stock"' in page and 'data-reason="stock_elsewhere"' in page
    nearby = manager.get(page_url, {"lat": 35.8, "lng": 51.43}).content.decode()
    assert f'data-nearby="{variant.sku}"' in nearby and "Tajrish" in nearby


def test_catalog_product_page_carries_the_stock_panel(manager, variant, channels, store):
    receive_stock(variant, store, 2)
    page = manager.get(f"/catalog/products/{variant.product_id}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-panel="inventory.stock"' in html
    # The panel shows the same stock as /inventory/products/<id>/: the store's column, the
    # variant's row with 2 on hand, and an available-to-promise row per channel.
    assert f"<code>{store.code}</code>" in html
    assert f'<tr data-sku="{variant.sku}">' in html
    assert 'title="on hand">2</span>' in html
    assert "No stock of this product at any location yet" not in html
    atp = html.split('data-table="available-to-promise"', 1)
    assert len(atp) == 2, "the available-to-promise table is missing"
    atp_table = atp[1].split("</table>", 1)[0]
    assert 'data-channel="store"' in atp_table
    assert f'<td data-sku="{variant.sku}">' in atp_table


def test_ledger_filters_and_pages(manager, variant, store, warehouse):
    def add_movements(n):
        for _ in range(n):
            receive_stock(variant, store, 1)

    def ledger():
        assert manager.get("/inventory/ledger/", {"location": store.code}).status_code == 200

    assert_queries_do_not_grow(add_movements, ledger, at_most=12)
    add_movements(60 - 12)
    receive_stock(variant, warehouse, 5)
    page = manager.get("/inventory/ledger/", {"location": store.code}).content.decode()
    assert page.count("data-movement=") == 50
    assert "page=2" in page
    second = manager.get("/inventory/ledger/", {"location": store.code, "page": 2}).content.decode()
    assert second.count("data-movement=") == 10
    only_warehouse = manager.get(
        "/inventory/ledger/", {"location": warehouse.code}
    ).content.decode()
    assert only_warehouse.count("data-movement=") == 1


def test_count_entry_records_the_counted_figure(manager, variant, store):
    receive_stock(variant, store, 9)
    response = manager.post(
        "/inventory/counts/",
        {"location": store.pk, "lines": f"{variant.sku} 4\n", "reference": "Q4"},
    )
    assert response.status_code == 200
    assert StockLevel.objects.get(variant=variant, location=store).on_hand == 4
    assert "Count recorded for 1 SKUs" in response.content.decode()
    by_barcode = manager.post(
        "/inventory/counts/", {"location": store.pk, "lines": f"{variant.barcode} 6"}
    )
    assert by_barcode.status_code == 200
    assert StockLevel.objects.get(variant=variant, location=store).on_hand == 6


def test_a_count_with_a_bad_line_records_nothing_and_names_every_bad_line(manager, variant, store):
    other = ProductVariantFactory(sku="OTHER-1")
    receive_stock(variant, store, 9)
    receive_stock(other, store, 3)
    response = manager.post(
        "/inventory/counts/",
        {
            "location": store.pk,
            "lines": f"{variant.sku} 4\nNOPE 1\n\n{other.sku} two\n{variant.barcode} 5\n",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Nothing was recorded: 3 lines of the count need fixing." in page
    assert "Line 2 (NOPE): no variant has this SKU or barcode." in page
    assert "Line 4 (OTHER-1): write the code and a whole number of units" in page
    assert f"Line 5 ({variant.barcode}): {variant.sku} is already counted on line 1." in page
    # The good lines were not recorded either: all or nothing.
    assert StockLevel.objects.get(variant=variant, location=store).on_hand == 9
    assert StockLevel.objects.get(variant=other, location=store).on_hand == 3
    assert not StockMovement.objects.filter(reason="count").exists()


def test_transfers_are_requested_shipped_and_received(manager, variant, warehouse, store):
    receive_stock(variant, warehouse, 5)
    manager.post(
        "/inventory/transfers/",
        {"lines": f"{variant.sku} 3", "from_location": warehouse.pk, "to_location": store.pk},
    )
    transfer = Transfer.objects.get()
    manager.post(f"/inventory/transfers/{transfer.pk}/ship/")
    assert StockLevel.objects.get(variant=variant, location=warehouse).on_hand == 2
    manager.post(f"/inventory/transfers/{transfer.pk}/receive/")
    assert StockLevel.objects.get(variant=variant, location=store).on_hand == 3
    page = manager.get("/inventory/transfers/").content.decode()
    assert "No open transfer." in page
    # Two requests may each fit what is free; the one shipped second finds it gone.
    for _request in range(2):
        manager.post(
            "/inventory/transfers/",
            {"lines": f"{variant.sku} 2", "from_location": warehouse.pk, "to_location": store.pk},
        )
    first, second = Transfer.objects.filter(status="requested").order_by("pk")
    manager.post(f"/inventory/transfers/{first.pk}/ship/")
    refused = manager.post(f"/inventory/transfers/{second.pk}/ship/", follow=True)
    assert "free units" in refused.content.decode()


def test_a_transfer_of_more_than_the_source_has_free_is_refused_when_requested(
    manager, variant, warehouse, store
):
    receive_stock(variant, store, 12)
    reserve(variant=variant, location=store, quantity=3)
    response = manager.post(
        "/inventory/transfers/",
        {"lines": f"{variant.sku} 9999", "from_location": store.pk, "to_location": warehouse.pk},
    )
    assert response.status_code == 200
    form = response.context["form"]
    message = f"Cannot transfer 9999 units: {store.code} has 9 available (12 on hand, 3 reserved)."
    assert form.errors["lines"] == [message]
    assert message in response.content.decode()
    assert not Transfer.objects.exists()
    # Exactly what is free is accepted.
    manager.post(
        "/inventory/transfers/",
        {"lines": f"{variant.sku} 9", "from_location": store.pk, "to_location": warehouse.pk},
    )
    assert Transfer.objects.get().quantity == 9


def test_low_stock_alerts_on_the_dashboard(manager, variant, store, monkeypatch):
    # Only this app's panel: other apps' panels are theirs to test.
    mine = {"inventory.low_stock": staff_ui.DASHBOARD_PANELS["inventory.low_stock"]}
    monkeypatch.setattr(staff_ui, "DASHBOARD_PANELS", mine)
    other = ProductVariantFactory()
    receive_stock(variant, store, 2)
    receive_stock(other, store, 20)
    set_safety(variant, store, low_stock_threshold=3)
    set_safety(other, store, low_stock_threshold=3)
    home = manager.get("/").content.decode()
    assert 'data-panel="inventory.low_stock"' in home
    assert f'data-sku="{variant.sku}"' in home and f'data-sku="{other.sku}"' not in home
    alerts = manager.get("/inventory/alerts/").content.decode()
    assert alerts.count('data-sku="') == 1
    assert 'data-nav="inventory"' in alerts

    def add_low_stock(n):
        for _ in range(n):
            low = ProductVariantFactory()
            receive_stock(low, store, 1)
            set_safety(low, store, low_stock_threshold=3)

    def alerts_page():
        assert manager.get("/inventory/alerts/").status_code == 200

    assert_queries_do_not_grow(add_low_stock, alerts_page, at_most=10)
    assert manager.get("/inventory/alerts/").content.decode().count('data-sku="') == 13


def test_pages_need_an_inventory_role(client, staff_in_role, variant):
    client.force_login(staff_in_role("Support agent"))
    assert client.get("/inventory/").status_code == 403
    assert client.get("/inventory/counts/").status_code == 403


def test_overview_lists_locations_with_their_channels(manager, channels, store):
    made = count()

    def add_locations(n):
        for _ in range(n):
            LocationFactory(code=f"extra-{next(made)}", channels=[channels["web"]])

    def overview():
        assert manager.get("/inventory/").status_code == 200

    assert_queries_do_not_grow(add_locations, overview, at_most=12)
    page = manager.get("/inventory/").content.decode()
    assert page.count("data-location=") == 14


def test_a_count_typed_in_store_time_lands_at_its_moment(manager, variant, store):
    now = timezone.now()
    receive_stock(variant, store, 9, occurred_at=now - dt.timedelta(hours=3))
    record_movements(
        [
            MovementInput(
                sku=variant.sku,
                location=store.code,
                reason="sale",
                quantity=-1,
                idempotency_key="after-count",
                occurred_at=now - dt.timedelta(minutes=30),
            )
        ]
    )
    local = (now - dt.timedelta(hours=1)).astimezone(zoneinfo.ZoneInfo("Asia/Tehran"))
    manager.post(
        "/inventory/counts/",
        {
            "location": store.pk,
            "lines": f"{variant.sku} 5",
            "occurred_at": local.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    count = StockMovement.objects.get(reason="count")
    assert abs((count.occurred_at - (now - dt.timedelta(hours=1))).total_seconds()) < 60
    assert (
        StockLevel.objects.get(variant=variant, location=store).on_hand == 4
    )  # 5 counted, 1 sold after


def test_location_validation_names_bad_hours_and_time_zone(channels):
    location = LocationFactory.build(
        code="bad", time_zone="Mars/Olympus", opening_hours={"mon": [["21:00", "09:00"]]}
    )
    with pytest.raises(ValidationError) as error:
        location.full_clean()
    assert {"time_zone", "opening_hours"} <= set(error.value.message_dict)


@pytest.mark.django_db
def test_a_long_transfer_lists_its_first_lines_and_how_many_more(client, staff_in_role):
    """A replenishment of every SKU of a store does not print thousands of lines in the list:
    its first lines, its units summed, and a link to the rest."""
    warehouse, store = WarehouseFactory(), LocationFactory()
    variants = [ProductVariantFactory(sku=f"LONG-{n:02d}") for n in range(10)]
    for variant in variants:
        receive_stock(variant, warehouse, 5)
    transfer = create_transfer(
        from_location=warehouse,
        to_location=store,
        lines=[TransferLineInput(variant=v, quantity=2) for v in variants],
    )
    client.force_login(staff_in_role("Inventory manager"))
    page = client.get("/inventory/transfers/").content.decode()
    assert "LONG-05" in page and "LONG-06" not in page
    assert "and 4 more lines" in page and f"/inventory/transfers/{transfer.pk}/" in page
