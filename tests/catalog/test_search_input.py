"""Product search takes any text a person can type: tsquery operators, quotes and backslashes
are words to look for, never syntax (a syntax error was a 500 on the API and the staff page)."""

import pytest

from catalog.factories import ProductFactory, ProductVariantFactory

pytestmark = pytest.mark.django_db

TYPED = ["\\", "a:*&|!", "run\\", "'", "''", "!", "(a | b", "<->", "a\\'b", ":*", "&"]


@pytest.fixture
def runner(db):
    product = ProductFactory(name="Aria Runner", description="A light running shoe")
    ProductVariantFactory(product=product, sku="ARIA-RED-38")
    ProductFactory(name="Ceramic mug", description="Holds coffee")
    return product


@pytest.mark.parametrize("query", TYPED)
def test_api_search_with_tsquery_syntax_answers(api_client_for, runner, query):
    response = api_client_for("catalog:read").get("/api/v1/products", {"q": query})
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("query", TYPED)
def test_staff_search_with_tsquery_syntax_answers(client, staff_in_role, runner, query):
    client.force_login(staff_in_role("Support agent"))
    assert client.get("/catalog/products/", {"q": query}).status_code == 200


# Word semantics are PostgreSQL's full-text search (punctuation splits words); the embedded
# SQLite mode looks each typed word up as plain text, so only "answers, never a 500" holds there.
@pytest.mark.postgres
@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("run", ["Aria Runner"]),  # the last word matches as a prefix
        ("aria run!", ["Aria Runner"]),
        ("light shoe", ["Aria Runner"]),
        ("runner:*&|!", ["Aria Runner"]),
        ("runner | mug", []),  # every word must match: `|` is text, not OR
        ("ARIA-RED-38", ["Aria Runner"]),
    ],
)
def test_search_words_are_words_whatever_they_hold(api_client_for, runner, query, found):
    body = api_client_for("catalog:read").get("/api/v1/products", {"q": query}).json()
    assert [product["name"] for product in body["results"]] == found
