"""In Persian, no page shows a Gregorian month (#17 item 1): every page kind the demo's
administrator reaches from the home page, and the admin's changelists, rendered in fa over the
demo data, name no Gregorian month, in English or in Persian transliteration (دسامبر, ژانویه).
The browser crawl (tests/e2e/test_crawl.py) checks the same on the pages it opens in fa."""

import re
from collections import deque
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.urls import Resolver404, resolve

from core.demo_data import DEMO_ADMIN
from tests.gregorian_months import gregorian_months_in

pytestmark = pytest.mark.django_db

SKIPPED_PREFIXES = ("/api/", "/i18n/", "/static/", "/media/", "/accounts/logout/", "/healthz")
SKIPPED_KINDS = {"campaigns:open-pixel", "campaigns:click", "campaigns:unsubscribe"}
DOWNLOAD_KINDS = {"catalog:export", "catalog:feed-file"}
HREF = re.compile(r'href="(/[^"#]*)')
SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)
MAX_PAGES = 150


def kind_of(path):
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.view_name or match.route


def test_no_page_in_persian_names_a_gregorian_month(client, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    call_command("seed_demo", "--size", "small", verbosity=0)
    username, password = DEMO_ADMIN
    assert client.login(username=username, password=password)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fa"
    queue, seen, kinds, problems = deque(["/", "/admin/"]), set(), set(), []
    visited = 0
    while queue and visited < MAX_PAGES:
        url = queue.popleft()
        path = urlsplit(url).path
        if url in seen or path.startswith(SKIPPED_PREFIXES):
            continue
        seen.add(url)
        kind = kind_of(path)
        if kind is None or kind in SKIPPED_KINDS or kind in DOWNLOAD_KINDS or kind in kinds:
            continue
        if path.startswith("/admin/") and not (
            path == "/admin/" or kind.endswith("_changelist") or kind.endswith("_change")
        ):
            continue
        kinds.add(kind)
        response = client.get(url)
        visited += 1
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        assert 'lang="fa"' in html, url
        months = gregorian_months_in(SCRIPT_OR_STYLE.sub("", html))
        if months:
            problems.append(f"{url}: {', '.join(months)}")
        queue.extend(link.replace("&amp;", "&") for link in HREF.findall(html))
    assert visited > 30, f"only {visited} pages reached"
    assert not problems, "Gregorian months on Persian pages:\n" + "\n".join(problems)
