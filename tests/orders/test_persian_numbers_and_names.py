"""Order, transfer and product pages in Persian (#17): numbers in Persian digits (the page of a
list, a reservation's number, a quantity), and what staff named or typed (channels, locations,
a transfer's reference) or a code (a barcode) isolated, so it keeps its own direction."""

import re

import pytest

from inventory.services.transfers import request_transfer
from orders.factories import placed_order
from tests.core.test_every_page_translated import problems_of, readable_texts

pytestmark = pytest.mark.django_db

PERSIAN = {"HTTP_ACCEPT_LANGUAGE": "fa"}


@pytest.fixture
def staff(client, staff_in_role):
    client.force_login(staff_in_role("Support lead", "Inventory manager", "Merchandiser"))
    return client


def latin_digits(html):
    return [p for p in problems_of(readable_texts(html), "fa", set(), set()) if "digit" in p]


def isolated(html, name):
    return f'<bdi dir="auto">{name}</bdi>' in html


def test_order_pages_write_numbers_in_persian_and_isolate_channel_and_store_names(
    staff, shop, customer
):
    order = placed_order(
        customer,
        shop.channels["store"],
        [{"sku": shop.sku("red"), "quantity": 2, "fulfilment_method": "in_store"}],
        store=shop.store,
    )
    listing = staff.get("/orders/", **PERSIAN).content.decode()
    assert latin_digits(listing) == []
    assert isolated(listing, "Stores") and isolated(listing, "Tajrish store")

    page = staff.get(f"/orders/{order.number}/", **PERSIAN).content.decode()
    reservation = order.lines.get().reservation
    if reservation is not None:
        # "#12", not "12#": the sign and the digits isolated together, in Persian digits.
        assert re.search(r"<bdi>#[۰-۹]+</bdi>", page), page
    assert latin_digits(page) == []
    assert isolated(page, "Stores") and isolated(page, "Tajrish store")


def test_order_reservation_number_is_in_persian_digits(staff, shop, customer):
    order = placed_order(customer, shop.channels["web"], [(shop.sku("black"), 1)])
    line = order.lines.get()
    assert line.reservation is not None
    page = staff.get(f"/orders/{order.number}/", **PERSIAN).content.decode()
    digits = str(line.reservation.pk).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert f"<bdi>#{digits}</bdi>" in page
    assert isolated(page, "Web shop") and isolated(page, "Main warehouse")


def test_a_transfers_reference_and_a_barcode_are_isolated(staff, shop):
    transfer = request_transfer(
        variant=shop.variant("black"),
        from_location=shop.warehouse,
        to_location=shop.store,
        quantity=1,
        reference="درخواست فروشگاه PO-77",
    )
    for url in (
        "/inventory/transfers/",
        f"/inventory/transfers/{transfer.pk}/",
        f"/inventory/transfers/{transfer.pk}/pick-list/",
    ):
        html = staff.get(url, **PERSIAN).content.decode()
        assert isolated(html, "درخواست فروشگاه PO-77"), url
    pick_list = staff.get(f"/inventory/transfers/{transfer.pk}/pick-list/", **PERSIAN)
    assert isolated(pick_list.content.decode(), "Tajrish store")

    variant = shop.variant("black")
    product = staff.get(f"/catalog/products/{variant.product_id}/", **PERSIAN).content.decode()
    assert variant.barcode and f'<bdi dir="ltr">{variant.barcode}</bdi>' in product
