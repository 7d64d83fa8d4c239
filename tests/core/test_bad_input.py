"""Bad input is a 4xx in the API's error format (or a plain 400 page), never a 500: a NUL
character anywhere (path, query, JSON body), JSON nested without end, an unknown currency."""

import json

import pytest

from core.api.parsers import is_nested_too_deep

pytestmark = pytest.mark.django_db

DEEP = 50_000
PRODUCT = {"slug": "aria-runner", "name": "Aria Runner"}


def post_json(client, path, body):
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(path, raw, content_type="application/json")


def error_of(response, status=400):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) >= {"code", "message", "fields"}
    return error


@pytest.fixture
def reader(api_client_for):
    return api_client_for("customers:read", "orders:read", "catalog:read")


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/customers?q=%00",
        "/api/v1/customers?identity=email:a%00b@example.com",
        "/api/v1/orders/A%00B",
        "/api/v1/returns/?location=%00",
        "/api/v1/carts/?identity=cookie:a%00b",
        "/api/v1/products?q=a%00",
    ],
)
def test_a_nul_in_the_path_or_query_is_refused_in_the_error_format(reader, url):
    error = error_of(reader.get(url))
    assert error["code"] == "invalid"
    assert "NUL" in " ".join(sum(error["fields"].values(), []))


def test_a_nul_in_a_query_parameter_names_the_parameter(reader):
    error = error_of(reader.get("/api/v1/customers", {"page": "1", "q": "a\x00"}))
    assert list(error["fields"]) == ["q"]


def test_a_nul_in_a_staff_page_query_is_a_plain_400_page(client, staff_in_role):
    client.force_login(staff_in_role("Support agent"))
    response = client.get("/customers/?q=%00")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert client.get("/customers/?q=ana").status_code == 200


def test_a_nul_in_a_trait_value_names_the_field(api_client_for):
    writer = api_client_for("customers:write")
    body = {
        "identities": [{"kind": "email", "value": "ana@example.com"}],
        "traits": {"first_name": "A\u0000na"},
    }
    error = error_of(post_json(writer, "/api/v1/identify", body))
    assert list(error["fields"]) == ["traits.first_name"]


def test_a_nul_in_a_json_key_names_the_field(api_client_for):
    writer = api_client_for("catalog:write")
    body = {**PRODUCT, "attributes": {"mat\u0000erial": "mesh"}}
    error = error_of(post_json(writer, "/api/v1/products", body))
    assert error["code"] == "invalid"
    assert list(error["fields"]) == ["attributes.mat\x00erial"]


def test_an_escaped_backslash_before_u0000_is_plain_text(api_client_for):
    writer = api_client_for("catalog:write")
    body = {**PRODUCT, "description": "a \\u0000 written out"}
    response = post_json(writer, "/api/v1/products", body)
    assert response.status_code == 201, response.content
    assert response.json()["description"] == "a \\u0000 written out"


@pytest.mark.parametrize(
    ("scope", "path"),
    [
        ("catalog:write", "/api/v1/products"),  # DRF's parser
        ("customers:write", "/api/v1/identify"),  # msgspec
        ("customers:write", "/api/v1/batch"),
        ("inventory:write", "/api/v1/stock/movements"),
    ],
)
def test_json_nested_without_end_is_refused(api_client_for, scope, path):
    writer = api_client_for(scope)
    error = error_of(post_json(writer, path, "[" * DEEP + "]" * DEEP))
    assert error["code"] == "malformed_request"
    assert "64" in error["message"]


@pytest.mark.parametrize(
    ("document", "too_deep"),
    [
        ("[" * 64 + "]" * 64, False),
        ("[" * 65 + "]" * 65, True),
        ("{" + '"a":{' * 64 + "}" * 65, True),
        ("[" * 60 + json.dumps("[[[[[[[[[[" * 10) + "]" * 60, False),
        ("[" * 60 + json.dumps("]]]]]]]]]]" * 10) + "[" * 10 + "]" * 70, True),
        ("[" * 60 + json.dumps('a \\" [[[[[[ \\\\') + "]" * 60, False),
        ("[" * 60 + json.dumps('" ]]]]]]]]]]]]') + "[" * 10 + "]" * 70, True),
        ("[" * 70 + '"' + "]" * 70, True),  # malformed: refused either way
    ],
)
def test_nesting_depth_counts_brackets_outside_strings_only(document, too_deep):
    assert is_nested_too_deep(document.encode()) is too_deep


def test_json_nested_inside_a_string_is_only_text(api_client_for):
    writer = api_client_for("catalog:write")
    body = {**PRODUCT, "description": "[" * 100 + "{" * 100}
    assert post_json(writer, "/api/v1/products", body).status_code == 201


@pytest.mark.parametrize("currency", ["4", "XYZ", "usd", "GBP"])
def test_a_channel_in_an_unknown_currency_is_refused(api_client_for, currency):
    writer = api_client_for("channels:write")
    body = {"code": "kiosk-tabriz", "name": "Kiosk Tabriz", "kind": "store", "currency": currency}
    error = error_of(post_json(writer, "/api/v1/channels", body))
    assert list(error["fields"]) == ["currency"]


def test_a_channel_in_a_project_currency_is_created(api_client_for):
    writer = api_client_for("channels:write")
    body = {"code": "kiosk-baku", "name": "Kiosk Baku", "kind": "store", "currency": "AZN"}
    assert post_json(writer, "/api/v1/channels", body).status_code == 201
