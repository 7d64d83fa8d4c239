"""Paging parameters are checked, not silently replaced by the default: a partner who
sends a wrong page_size learns so from a 400 naming it."""

import pytest

from core.factories import ChannelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(api_client_for):
    ChannelFactory.create_batch(3)
    return api_client_for("channels:read")


@pytest.mark.parametrize("value", ["", "abc", "0", "-1", "2.5", "true", "٣"])
def test_a_page_size_that_is_not_a_positive_whole_number_is_a_400_naming_it(reader, value):
    response = reader.get("/api/v1/channels", {"page_size": value})
    assert response.status_code == 400, (value, response.content)
    assert list(response.json()["error"]["fields"]) == ["page_size"]


def test_a_page_size_is_honoured_and_cut_to_the_maximum(reader):
    assert len(reader.get("/api/v1/channels", {"page_size": "2"}).json()["results"]) == 2
    response = reader.get("/api/v1/channels", {"page_size": "100000"})
    assert response.status_code == 200
    assert response.json()["count"] == len(response.json()["results"])


def test_the_cursor_lists_check_page_size_too(api_client_for):
    reader = api_client_for("inventory:read")
    response = reader.get("/api/v1/stock/movements", {"page_size": "many"})
    assert response.status_code == 400
    assert "page_size" in response.json()["error"]["fields"]


def test_too_many_query_fields_is_the_api_error_object_not_an_html_page(reader, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    response = reader.get("/api/v1/channels?" + "&".join(f"x={i}" for i in range(20)))
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "malformed_request"
