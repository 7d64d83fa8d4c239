"""Every response carries a Content-Security-Policy without inline script, a Referrer-Policy
and X-Content-Type-Options: staff pages, the admin, the API and its docs, the feed files."""

import re

import pytest

from catalog.factories import ChannelFeedFactory
from catalog.models import FeedFormat
from catalog.services import feeds
from core.factories import ChannelFactory
from core.models import ChannelKind

pytestmark = pytest.mark.django_db


def directives(response) -> dict:
    header = response.headers["Content-Security-Policy"]
    return {
        part.split()[0]: part.split()[1:] for part in (p.strip() for p in header.split(";")) if part
    }


def assert_hardened(response):
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    script = policy.get("script-src", policy["default-src"])
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    return policy


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(
        django_user_model.objects.create_superuser("root", "root@example.com", "pw-12345678")
    )
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/accounts/login/",
        "/customers/",
        "/catalog/products/",
        "/inventory/",
        "/orders/",
        "/campaigns/",
        "/support/",
        "/admin/",
        "/admin/support/message/",
        "/api/docs/",
    ],
)
def test_staff_pages_and_admin_forbid_inline_script_and_style(admin_client, url):
    response = admin_client.get(url, follow=True)
    assert response.status_code == 200
    policy = assert_hardened(response)
    assert policy["style-src"] == ["'self'"]
    assert "'unsafe-inline'" not in str(policy)


def test_staff_pages_carry_no_inline_script_or_handler(admin_client):
    for url in ("/", "/customers/", "/catalog/products/", "/support/", "/campaigns/"):
        page = admin_client.get(url).content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), url
        assert not re.search(r"\son[a-z]+\s*=", page), url
        assert " style=" not in page, url


def test_api_docs_page_loads_its_script_from_a_url(admin_client):
    page = admin_client.get("/api/docs/").content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert "<style" not in page
    script = re.search(r'<script src="([^"]*script[^"]*)"', page).group(1)
    response = admin_client.get(script.replace("&amp;", "&"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")


def test_partner_api_responses_are_hardened_too(api_client_for):
    response = api_client_for("customers:read").get("/api/v1/customers")
    assert response.status_code == 200
    assert_hardened(response)
    refused = api_client_for().get("/api/v1/customers")
    assert refused.status_code == 403
    assert_hardened(refused)


def test_template_editor_alone_allows_inline_style_for_its_email_preview(admin_client):
    policy = assert_hardened(admin_client.get("/campaigns/templates/new/"))
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["script-src"] == ["'self'"]


def test_printable_catalogue_has_its_own_strict_policy(api_client_for):
    channel = ChannelFactory(code="catalogue", kind=ChannelKind.PRINT_CATALOG)
    feeds.generate_feed(ChannelFeedFactory(channel=channel, format=FeedFormat.CATALOGUE))
    response = api_client_for("catalog:read").get("/api/v1/feeds/catalogue/catalogue.html")
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    policy = directives(response)
    assert policy["default-src"] == ["'none'"]
    assert policy["style-src"] == ["'unsafe-inline'"]
    assert "script-src" not in policy  # default-src 'none': no script at all
