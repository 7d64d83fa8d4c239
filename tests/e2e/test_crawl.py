"""Every kind of page each demo login can reach, in English and in Persian, in the real browser.

The demo data is loaded once; then for the admin and each role's login the crawl follows every
same-site link from the home page breadth-first, a few samples of each page kind (a URL
pattern), and submits each kind's main form once. It fails, with one readable list, on a
server error, a broken link, an uncaught JavaScript error or console error, a static file that
does not load (the favicon included), a page slower than two seconds, a download that does not
answer 200, a form whose answer is an error, a GET request that writes to the database, and
a Persian page that names a Gregorian month.

The Django admin is crawled in English only: every login opens its index, the superuser every
changelist (a role's changelists are the same pages). Downloads (the catalogue exports, feed
files) are fetched, not opened, once each: a whole catalogue takes seconds to build.
"""

import logging
import re
import threading
import time
import traceback
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import connections
from django.db.backends.signals import connection_created
from django.urls import Resolver404, URLResolver, get_resolver, resolve

from campaigns.models import Campaign
from core.demo_data import DEMO_ADMIN, DEMO_PASSWORD
from core.roles import ROLES
from customers.models import Customer, CustomerMerge
from orders.models import OPEN_STATUSES, Exchange, Order, Replacement, Return
from support.models import Message
from tests.e2e.conftest import ARTIFACTS
from tests.gregorian_months import gregorian_months_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Samples of each page kind: Persian runs the same views, so one sample shows its layout.
SAMPLES_PER_KIND = {"en": 2, "fa": 1}
LANGUAGES = list(SAMPLES_PER_KIND)
SLOW_SECONDS = 2.0
FORM_TIMEOUT_MS = 5_000
# Links the crawl does not follow: the partner API, the language switch and Django admin
# (crawled on its own), and the public links in sent messages, which record an open or a
# click or unsubscribe someone by design.
SKIPPED_PREFIXES = ("/api/", "/i18n/", "/admin/", "/static/", "/media/", "/accounts/logout/")
SKIPPED_KINDS = {"campaigns:open-pixel", "campaigns:click", "campaigns:unsubscribe", "healthz"}
DOWNLOAD_KINDS = {"catalog:export", "catalog:feed-file"}
# Tables a GET may write to: the session a login keeps, and the agent's notifications about
# a conversation, marked read when the agent opens it (as opening an email does).
# Reading a customer's page or conversation is itself recorded (core.AuditEntry).
WRITES_ALLOWED_ON_GET = ("django_session", "support_agentnotification", "core_auditentry")
# What a user types into a form's empty fields: a name to search, a place to find stores near.
DEMO_VALUES = {"q": "Sara", "lat": "35.70", "lng": "51.41"}
# A one-pixel PNG: what an external image (a product photo on a CDN) gets, offline.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)
WRITE_SQL = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b(?:\s+INTO|\s+FROM)?\s+\"?(\w+)", re.I)


@dataclass
class Crawl:
    base: str
    failures: list = field(default_factory=list)
    visited: Counter = field(default_factory=Counter)
    seconds: Counter = field(default_factory=Counter)
    downloads: set = field(default_factory=set)
    kinds: set = field(default_factory=set)
    forms: Counter = field(default_factory=Counter)
    timings: list = field(default_factory=list)

    def fail(self, role, language, url, problem):
        path = url.removeprefix(self.base) or "/"
        entry = (path, role, language, problem)
        if entry not in self.failures:
            self.failures.append(entry)


class ServerWatch:
    """What the live server does behind the pages: the errors it logs, and any write to the
    database made while answering a GET."""

    def __init__(self):
        self.local = threading.local()
        self.errors = defaultdict(list)
        self.get_writes = defaultdict(set)

    def request_started(self, sender, environ, **kwargs):
        self.local.request = (environ.get("REQUEST_METHOD"), environ.get("PATH_INFO", ""))

    def request_finished(self, sender, **kwargs):
        self.local.request = None

    def connection_created(self, sender, connection, **kwargs):
        if self.watch_writes not in connection.execute_wrappers:
            connection.execute_wrappers.append(self.watch_writes)

    def watch_writes(self, execute, sql, params, many, context):
        request = getattr(self.local, "request", None)
        if request and request[0] in ("GET", "HEAD"):
            match = WRITE_SQL.match(sql)
            if match and match.group(2) not in WRITES_ALLOWED_ON_GET:
                self.get_writes[request[1]].add(f"{match.group(1).upper()} {match.group(2)}")
        return execute(sql, params, many, context)

    def emit(self, record):
        path = getattr(getattr(record, "request", None), "path", "")
        if record.exc_info:
            last = traceback.format_exception_only(*record.exc_info[:2])[-1].strip()
        else:
            last = record.getMessage()
        self.errors[path].append(last[:300])

    def __enter__(self):
        handler = logging.Handler(level=logging.ERROR)
        handler.emit = self.emit
        self.handler = handler
        logging.getLogger("django.request").addHandler(handler)
        request_started.connect(self.request_started)
        request_finished.connect(self.request_finished)
        connection_created.connect(self.connection_created)
        for connection in connections.all(initialized_only=True):
            self.connection_created(None, connection)
        return self

    def __exit__(self, *exc):
        logging.getLogger("django.request").removeHandler(self.handler)
        request_started.disconnect(self.request_started)
        request_finished.disconnect(self.request_finished)
        connection_created.disconnect(self.connection_created)
        for connection in connections.all(initialized_only=True):
            if self.watch_writes in connection.execute_wrappers:
                connection.execute_wrappers.remove(self.watch_writes)


def kind_of(path):
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.view_name or match.route


def staff_page_kinds(resolver=None, namespace=""):
    """Every named URL pattern of the staff pages (not the admin, the API or i18n)."""
    resolver = resolver or get_resolver()
    kinds = set()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            if str(pattern.pattern).startswith(("admin/", "api/", "i18n/")):
                continue
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            kinds |= staff_page_kinds(pattern, inner)
        elif pattern.name and not str(pattern.pattern).startswith(("admin/", "api/")):
            kinds.add(namespace + pattern.name)
    return kinds


def demo_logins():
    logins = [DEMO_ADMIN]
    logins += [(role.lower().replace(" ", "_"), DEMO_PASSWORD) for role in ROLES]
    return logins


def story_urls():
    """The pages the stories are told on, so each is sampled whatever the links show first:
    Sara's conversation with the emailed receipt, her profile, an order with a return, an
    exchange and a replacement, an open order, a profile that absorbed another, the A/B
    campaign. They are visited besides the samples the links give."""
    sara_message = Message.objects.filter(attachments__0__filename="receipt.pdf").first()
    urls = []
    if sara_message:
        urls.append(f"/support/c/{sara_message.conversation_id}/")
        urls.append(f"/customers/{sara_message.conversation.customer.public_id}/")
    for model in (Return, Exchange, Replacement):
        row = model.objects.select_related("order").order_by("pk").first()
        if row is not None:
            urls.append(f"/orders/{row.order.number}/")
            if hasattr(row, "new_order"):
                urls.append(f"/orders/{row.new_order.number}/")
    merge = CustomerMerge.objects.order_by("pk").first()
    if merge is not None:
        survivor = Customer.objects.filter(pk=merge.survivor_id).first()
        if survivor is not None:
            urls.append(f"/customers/{survivor.public_id}/")
    open_order = Order.objects.filter(status__in=OPEN_STATUSES).order_by("pk").first()
    if open_order is not None:
        urls.append(f"/orders/{open_order.number}/")  # it links to its edit page
    campaign = Campaign.objects.exclude(ab_result={}).order_by("pk").first()
    if campaign is not None:
        urls.append(f"/campaigns/campaigns/{campaign.pk}/")
    return list(dict.fromkeys(urls))


def watch_browser(page, crawl, who):
    """Record every uncaught error, console error and failed same-site request of the page."""

    def on_page_error(error):
        crawl.fail(*who, page.url, f"JavaScript error: {error}")

    def on_console(message):
        if message.type == "error":
            crawl.fail(*who, page.url, f"console error: {message.text[:300]}")

    def on_request_failed(request):
        # ERR_ABORTED: the page moved on (a form submitted) before the request finished.
        if request.url.startswith(crawl.base) and "ERR_ABORTED" not in str(request.failure):
            crawl.fail(*who, page.url, f"request failed: {request.url} ({request.failure})")

    def on_response(response):
        path = urlsplit(response.url).path
        static = path.startswith(("/static/", "/media/")) or path == "/favicon.ico"
        if response.url.startswith(crawl.base) and static and response.status >= 400:
            crawl.fail(*who, page.url, f"static file {path} answered {response.status}")

    page.on("pageerror", on_page_error)
    page.on("console", on_console)
    page.on("requestfailed", on_request_failed)
    page.on("response", on_response)
    # Only the live server is asked: an external image gets a pixel, not the network.
    page.route(
        re.compile(r"^(?!" + re.escape(crawl.base) + ")https?://"),
        lambda route: route.fulfill(status=200, content_type="image/png", body=PIXEL),
    )


def log_in(page, crawl, who, username, password, language):
    page.goto(f"{crawl.base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{crawl.base}/")
    if language != settings.LANGUAGE_CODE:
        # The switch a user clicks: the select in the top bar submits the set_language form.
        with page.expect_navigation():
            page.select_option("#language-select", language)
        if page.get_attribute("html", "lang") != language:
            crawl.fail(*who, page.url, "the language switch did not change the page language")


def submit_main_form(page, crawl, who, kind):
    """A user's first click on the page: the reply box, the segment count, the template
    preview, regenerating a feed, else the first GET form (search, filters) in the page. The
    answer must not be an error. True if a form was sent."""
    base = crawl.base
    if kind == "catalog:feed-list":
        trigger = page.locator("main form[method=post] button[type=submit]")
        method = "POST"
    elif kind == "support:conversation" and page.locator("form.support-composer").count():
        form = page.locator("form.support-composer")
        form.locator("textarea[name=text]").fill("Thank you, we are looking into it.")
        trigger = form.locator("button[type=submit]")
        method = "POST"
    elif kind in ("campaigns:segment-new", "campaigns:segment-edit"):
        trigger = page.locator("#segment-form button[type=button]")
        method = "POST"
    elif kind in ("campaigns:template-new", "campaigns:template-edit"):
        field_ = page.locator("#template-form textarea").first
        if not field_.count():
            return False
        with page.expect_response(
            lambda r: r.request.method == "POST", timeout=FORM_TIMEOUT_MS
        ) as info:
            field_.fill((field_.input_value() or "") + " Hello {{ first_name }}")
        check_form_answer(page, crawl, who, info.value)
        return True
    else:
        forms = page.locator("main form[method=get], main form[method=GET]")
        if not forms.count():
            return False
        form = forms.first
        for name, value in DEMO_VALUES.items():
            field_ = form.locator(f"input[name={name}]")
            if field_.count() and not field_.first.input_value():
                field_.first.fill(value)
        trigger = form.locator("button[type=submit], input[type=submit], button:not([type])")
        method = "GET"
    if not trigger.count():
        return False
    with page.expect_response(
        lambda r: (
            r.request.method == method
            and r.url.startswith(base)
            and not urlsplit(r.url).path.startswith("/static/")
        ),
        timeout=FORM_TIMEOUT_MS,
    ) as info:
        trigger.first.click()
    check_form_answer(page, crawl, who, info.value)
    return True


def check_form_answer(page, crawl, who, response):
    page.wait_for_load_state("load")
    if response.status >= 400:
        crawl.fail(*who, response.url, f"{response.request.method} form answered {response.status}")


def crawl_site(page, crawl, who, start_urls):
    base, language = crawl.base, who[1]
    seen, per_kind, forms_done = set(), Counter(), set()
    # (url, linked): the home page and what it links to, and the story pages the role may
    # or may not be allowed to open.
    queue = deque([("/", True), *((url, False) for url in start_urls)])
    while queue:
        url, linked = queue.popleft()
        url = urljoin(base + "/", url).split("#")[0]
        if url in seen or not url.startswith(base + "/"):
            continue
        seen.add(url)
        path = urlsplit(url).path
        if path.startswith(SKIPPED_PREFIXES):
            continue
        kind = kind_of(path)
        if kind is None:
            crawl.fail(*who, url, "link to a page that does not exist (no URL pattern)")
            continue
        if kind in SKIPPED_KINDS or (linked and per_kind[kind] >= SAMPLES_PER_KIND[language]):
            continue
        if not linked and page.request.get(url, max_redirects=0).status == 403:
            continue  # a story page of another role's work
        per_kind[kind] += 1
        crawl.kinds.add(kind)
        # A chart's numbers as CSV (`?format=csv`) share their page's URL pattern.
        is_csv = "format=csv" in urlsplit(url).query
        if kind in DOWNLOAD_KINDS or is_csv:
            fetched = url if is_csv else path
            if fetched in crawl.downloads:
                continue  # a whole catalogue takes seconds to build: each file fetched once
            crawl.downloads.add(fetched)
            started = time.monotonic()
            answer = page.request.get(url)
            seconds = time.monotonic() - started
            crawl.timings.append((seconds, path, *who))
            if answer.status != 200:
                crawl.fail(*who, url, f"download answered {answer.status}")
            continue
        started = time.monotonic()
        response = page.goto(url, wait_until="load")
        seconds = time.monotonic() - started
        crawl.visited[who] += 1
        crawl.timings.append((seconds, path, *who))
        status = response.status if response else 0
        if status >= 400:
            crawl.fail(*who, url, f"answered {status}")
            continue
        if seconds > SLOW_SECONDS:
            crawl.fail(*who, url, f"took {seconds:.1f} s")
        if not page.locator("link[rel~=icon]").count():
            crawl.fail(*who, url, "no favicon link")
        if language == "fa":
            # Persian pages show Jalali dates only (#17): no Gregorian month, in English or
            # transliterated (دسامبر).
            months = gregorian_months_in(page.inner_text("body"))
            if months:
                crawl.fail(*who, url, f"Gregorian month in Persian: {', '.join(months)}")
        if kind not in forms_done:
            forms_done.add(kind)
            try:
                crawl.forms[who] += submit_main_form(page, crawl, who, kind)
            except Exception as error:  # noqa: BLE001 (collected, reported at the end)
                crawl.fail(*who, url, f"main form: {type(error).__name__}: {str(error)[:200]}")
            if page.url.split("#")[0] != url:
                page.goto(url, wait_until="load")
        links = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        queue.extend((link, True) for link in links)


def crawl_admin(page, crawl, who, changelists_too):
    """The admin index in the browser, then every changelist it offers (for the superuser:
    every model; the roles' changelists are the same pages with fewer links)."""
    response = page.goto(f"{crawl.base}/admin/", wait_until="load")
    if response.status >= 400:
        crawl.fail(*who, page.url, f"admin index answered {response.status}")
        return
    if not changelists_too:
        return
    changelists = page.eval_on_selector_all(
        "#content-main table tr th a[href]", "links => links.map(a => a.href)"
    )
    for url in dict.fromkeys(changelists):
        started = time.monotonic()
        answer = page.request.get(url)
        seconds = time.monotonic() - started
        crawl.visited[who] += 1
        crawl.timings.append((seconds, urlsplit(url).path, *who))
        if answer.status >= 400:
            crawl.fail(*who, url, f"admin changelist answered {answer.status}")
        elif seconds > SLOW_SECONDS:
            crawl.fail(*who, url, f"took {seconds:.1f} s")


def test_every_page_kind_each_demo_login_reaches_works_in_english_and_persian(
    browser, live_server, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path)  # where regenerated feeds are written
    started = time.monotonic()
    call_command("seed_demo", "--size", "small", verbosity=0)
    seeded = time.monotonic() - started
    start_urls = story_urls()
    assert len(start_urls) >= 6, f"the demo lacks a story page: {start_urls}"

    crawl = Crawl(base=live_server.url)
    with ServerWatch() as server:
        for username, password in demo_logins():
            for language in LANGUAGES:
                who = (username, language)
                login_started = time.monotonic()
                context = browser.new_context(viewport={"width": 1280, "height": 860})
                page = context.new_page()
                page.set_default_timeout(15_000)
                watch_browser(page, crawl, who)
                try:
                    log_in(page, crawl, who, username, password, language)
                    crawl_site(page, crawl, who, start_urls)
                    if language == settings.LANGUAGE_CODE:
                        crawl_admin(page, crawl, who, changelists_too=username == DEMO_ADMIN[0])
                except Exception as error:  # noqa: BLE001 (collected, reported at the end)
                    crawl.fail(*who, page.url, f"crawl stopped: {type(error).__name__}: {error}")
                finally:
                    context.close()
                    crawl.seconds[who] = time.monotonic() - login_started

    for path, messages in server.errors.items():
        for message in dict.fromkeys(messages):
            crawl.fail("server", "-", crawl.base + path, f"server logged: {message}")
    for path, writes in server.get_writes.items():
        crawl.fail("server", "-", crawl.base + path, f"GET wrote to the database: {sorted(writes)}")

    total = time.monotonic() - started
    summary = [f"crawl: {total:.0f} s in all, {seeded:.0f} s of it loading the demo"]
    for who, count in sorted(crawl.visited.items()):
        summary.append(
            f"  {who[0]:<20} {who[1]}  {count:>4} pages  {crawl.forms[who]:>3} forms tried"
            f"  {crawl.seconds[who]:5.0f} s"
        )
    unvisited = sorted(staff_page_kinds() - crawl.kinds - SKIPPED_KINDS)
    summary.append(f"page kinds visited: {len(crawl.kinds)}; never linked by GET: {unvisited}")
    summary.append("slowest:")
    for seconds, path, username, language in sorted(crawl.timings, reverse=True)[:15]:
        summary.append(f"  {seconds:5.2f} s  {path}  ({username}, {language})")
    report = "\n".join(
        f"  {path}  [{role}, {language}]  {problem}"
        for path, role, language, problem in crawl.failures
    )
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "crawl.txt").write_text("\n".join(summary) + "\nproblems:\n" + report + "\n")
    print("\n" + "\n".join(summary))
    assert not crawl.failures, f"{len(crawl.failures)} problems found by the crawl:\n{report}"
