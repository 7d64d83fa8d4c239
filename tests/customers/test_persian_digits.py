"""A phone typed in Persian or Arabic-Indic digits finds the customer: the staff search page,
the API's search and the API's identity parsing (core.l10n.normalise_digits)."""

import pytest

from customers.factories import customer_with

from .conftest import post_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def sara():
    return customer_with(("phone", "+989121234567"), first_name="Sara", last_name="Rahimi")


def test_staff_search_page_finds_a_phone_typed_in_persian_digits(client, staff_in_role, sara):
    customer_with(("phone", "+989351112233"), first_name="Omid", last_name="Karimi")
    client.force_login(staff_in_role("Support lead"))
    for typed in ("۰۹۱۲ ۱۲۳ ۴۵۶۷", "٠٩١٢١٢٣٤٥٦٧", "۰۰۹۸۹۱۲۱۲۳۴۵۶۷"):
        html = client.get("/customers/", {"q": typed}, HTTP_ACCEPT_LANGUAGE="fa").content.decode()
        assert str(sara.public_id) in html, typed
        assert "Omid" not in html, typed


def test_api_search_and_identify_read_persian_digits(reader, writer, sara):
    results = reader.get("/api/v1/customers", {"q": "۰۹۱۲۱۲۳۴۵۶۷"}).json()["results"]
    assert [c["id"] for c in results] == [str(sara.public_id)]
    answer = post_json(
        writer, "/api/v1/identify", {"identities": [{"kind": "phone", "value": "۰۹۱۲۱۲۳۴۵۶۷"}]}
    )
    assert answer.status_code in (200, 201), answer.content
    assert str(sara.public_id) in answer.content.decode()
