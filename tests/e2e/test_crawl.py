"""Every kind of page each demo login can reach, in English and in Persian, in the real browser.

The demo data is loaded once; then for the admin and each role's login the crawl follows every
same-site link from the home page breadth-first, a few samples of each page kind (a URL
pattern), and submits each kind's main form once. It fails, with one readable list, on a
server error, a broken link, an uncaught JavaScript error or console error, a static file that
does not load (the favicon included), a page slower than two seconds, a download that does not
answer 200, a form whose answer is an error, a GET request that writes to the database, a
Persian page that names a Gregorian month, a demo story page missing or never opened, and a
crawl over the issue's eight minutes.

A page's main form is what a user sends first: the POST forms that change stock, prices or
orders (a transfer request, a stock count, a channel's prices, a line added to an open order,
a return or exchange at the counter) are filled with values read from the demo data and must
answer with their success (the redirect and message, or the count's results); other pages send
their first GET form (a search, a filter).

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
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import connections
from django.db.backends.signals import connection_created
from django.db.models import F
from django.urls import Resolver404, URLResolver, get_resolver, resolve

from campaigns.models import Campaign, Referral
from catalog.models import ProductVariant, VariantListing
from core.demo_data import DEMO_ADMIN, DEMO_PASSWORD
from core.review_links import review_url
from core.roles import ROLES
from customers.models import Customer, CustomerMerge
from inventory.models import Location, LocationKind, StockLevel
from inventory.selectors import units_for_channel
from orders.models import OPEN_STATUSES, Exchange, LineStatus, Order, OrderLine, Replacement, Return
from orders.services.returns import RETURNABLE
from support.models import Message, Review
from tests.e2e.conftest import ARTIFACTS
from tests.gregorian_months import gregorian_months_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Samples of each page kind: Persian runs the same views, so one sample shows its layout.
SAMPLES_PER_KIND = {"en": 2, "fa": 1}
LANGUAGES = list(SAMPLES_PER_KIND)
SLOW_SECONDS = 2.0
# The whole crawl, demo loading included, in CI (issue 15).
CRAWL_BOUND_SECONDS = 8 * 60
FORM_TIMEOUT_MS = 5_000
# Links the crawl does not follow: the partner API, the language switch and Django admin
# (crawled on its own), and the public links in sent messages, which record an open or a
# click or unsubscribe someone by design.
SKIPPED_PREFIXES = ("/api/", "/i18n/", "/admin/", "/static/", "/media/", "/accounts/logout/")
SKIPPED_KINDS = {"campaigns:open-pixel", "campaigns:click", "campaigns:unsubscribe", "healthz"}
DOWNLOAD_KINDS = {"catalog:export", "catalog:feed-file", "campaigns:segment-hashed-audience"}
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
# The listeners watch_browser put on each page, to take them off when its session ends.
WATCHERS = {}
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
    opened: set = field(default_factory=set)
    # The story page being tried by a role that may not be allowed to open it.
    probing: str | None = None

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
    """{story: the page it is told on} (None where the demo lacks it), so each is sampled
    whatever the links show first: Sara's conversation with the emailed receipt, her profile,
    the orders of a return, an exchange and a replacement and the new orders of the last two,
    a profile that absorbed another, an open order (it links to its edit page), the A/B
    campaign with its result. They are visited besides the samples the links give."""
    stories = {}
    sara_message = Message.objects.filter(attachments__0__filename="receipt.pdf").first()
    stories["conversation with an emailed attachment"] = sara_message and (
        f"/support/c/{sara_message.conversation_id}/"
    )
    stories["Sara's profile"] = sara_message and (
        f"/customers/{sara_message.conversation.customer.public_id}/"
    )
    for name, model in (
        ("a return", Return),
        ("an exchange", Exchange),
        ("a replacement", Replacement),
    ):
        row = model.objects.select_related("order").order_by("pk").first()
        stories[f"order with {name}"] = row and f"/orders/{row.order.number}/"
        if model is not Return:
            stories[f"{name}'s new order"] = row and f"/orders/{row.new_order.number}/"
    merge = CustomerMerge.objects.order_by("pk").first()
    survivor = merge and Customer.objects.filter(pk=merge.survivor_id).first()
    stories["merged profile"] = survivor and f"/customers/{survivor.public_id}/"
    open_order = Order.objects.filter(status__in=OPEN_STATUSES).order_by("pk").first()
    stories["open order"] = open_order and f"/orders/{open_order.number}/"
    campaign = Campaign.objects.exclude(ab_result={}).order_by("pk").first()
    stories["A/B campaign with a result"] = campaign and f"/campaigns/campaigns/{campaign.pk}/"
    # The public review page of a one-star review (the customer's own signed link).
    review = Review.objects.filter(rating=1).order_by("pk").first()
    stories["a customer's review page"] = (
        review and urlsplit(review_url(review.customer.public_id, review.order_number)).path
    )
    # The loyalty programme with its referral report.
    stories["loyalty and referrals"] = "/campaigns/loyalty/" if Referral.objects.exists() else None
    return stories


@dataclass
class MainForm:
    """A POST form as a user sends it: the values typed or chosen (by field name), and what
    its success looks like (the path it redirects to, or None when it answers in place, and
    what the answering page then shows)."""

    values: dict
    redirect: str | None
    shows: tuple
    url: str | None = None  # another page of the kind to send it from


SUCCESS = ".messages .success"


def available(levels):
    """Stock levels with a unit to spare beyond reservations and safety stock."""
    return levels.filter(
        location__is_active=True, on_hand__gte=F("reserved") + F("safety_stock") + 1
    )


def transfer_form(page, path, language):
    """One unit of a SKU a location holds, to another location."""
    level = available(StockLevel.objects.select_related("variant")).order_by("pk").first()
    if level is None:
        return None
    to = Location.objects.active().exclude(pk=level.location_id).order_by("code").first()
    return MainForm(
        {
            "from_location": str(level.location_id),
            "to_location": str(to.pk),
            "lines": f"{level.variant.sku} 1",
            "reference": "crawl",
        },
        "/inventory/transfers/",
        (SUCCESS,),
    )


def count_form(page, path, language):
    """A shelf counted as the books say it holds: stock recorded, nothing changed."""
    level = (
        StockLevel.objects.filter(location__is_active=True, on_hand__gte=0)
        .select_related("variant")
        .order_by("pk")
        .first()
    )
    if level is None:
        return None
    return MainForm(
        {"location": str(level.location_id), "lines": f"{level.variant.sku} {level.on_hand}"},
        None,
        (SUCCESS, f'[data-table="count-results"] [data-sku="{level.variant.sku}"]'),
    )


def prices_form(page, path, language):
    """The first variant's price on the channel the form shows; a compare-at price twice
    it where there is none (a change the rules accept)."""
    table = page.locator("#prices table.price-form")
    row = table.locator("tbody tr[data-sku]").first
    if not row.count():
        return None
    channel = table.get_attribute("data-channel")
    variant = ProductVariant.objects.get(sku=row.get_attribute("data-sku"))
    listing = VariantListing.objects.filter(variant=variant, listing__channel__code=channel).first()
    price = listing.price.amount if listing and listing.price else None
    values = {f"price_{variant.pk}": f"{price or 120:f}"}
    if not (listing and listing.compare_at_price):
        values[f"compare_at_price_{variant.pk}"] = f"{(price or 120) * 2:f}"
    return MainForm(values, path, (f"{SUCCESS}, .messages .info",))


def order_edit_form(page, path, language):
    """One unit added to an open shipped order, asked through the order's own channel (its
    prices, its currency), of the SKU listed there with most stock for that channel: this
    page's order if it can take one (an order of a channel no location serves cannot), else
    the first that can, whose edit page is then opened."""
    number = path.strip("/").split("/")[1]
    orders = Order.objects.filter(status__in=OPEN_STATUSES, fulfilment_method="ship")
    for order in [*orders.filter(number=number), *orders.order_by("pk")[:20]]:
        listed = {
            vl.variant.pk: vl.variant
            for vl in VariantListing.objects.filter(
                listing__channel=order.channel, variant__is_active=True
            ).select_related("variant", "listing")[:200]
            if vl.price and vl.price.currency.code == order.currency
        }
        units = units_for_channel(list(listed.values()), order.channel)
        best = max(listed, key=lambda pk: units.get(pk, 0), default=None)
        if best is not None and units.get(best, 0) >= 1:
            edit = f"/orders/{order.number}/edit/"
            return MainForm(
                {"sku": listed[best].sku, "quantity": "1", "channel": order.channel.code},
                edit,
                (SUCCESS,),
                url=None if edit == path else edit,
            )
    return None


def counter_return_form(page, path, language):
    """One unit of a fulfilled line back at a store: refunded in English, exchanged for the
    same SKU in Persian where a store holds one (a faulty pair swapped), so both answers are
    seen."""
    lines = (
        OrderLine.objects.filter(
            status=LineStatus.FULFILLED,
            quantity__gt=F("quantity_returned"),
            order__status__in=RETURNABLE,
            variant__isnull=False,
        )
        .select_related("order")
        .order_by("-pk")
    )
    stores = Location.objects.active().filter(kind=LocationKind.STORE).order_by("code")
    candidates = list(lines[:50])
    if not candidates or not stores.exists():
        return None
    line, store, new_sku = candidates[0], stores.first(), ""
    for candidate in candidates if language != "en" else ():
        level = (
            available(StockLevel.objects.filter(variant_id=candidate.variant_id))
            .filter(location__in=stores)
            .select_related("location")
            .first()
        )
        if level is not None:
            line, store, new_sku = candidate, level.location, candidate.sku
            break
    return MainForm(
        {
            "order": line.order.number,
            "sku": line.sku,
            "quantity": "1",
            "location": store.code,
            "new_sku": new_sku,
            "note": "crawl",
        },
        f"/orders/{line.order.number}/",
        (SUCCESS,),
    )


# The POST main forms, by page kind: the form, and its values from the demo data as it is
# when the form is sent (each session takes a unit somewhere, so none runs out).
POST_FORMS = {
    "inventory:transfers": ("main form[method=post]:has(textarea[name=lines])", transfer_form),
    "inventory:count-entry": ("main form[method=post]:has(textarea[name=lines])", count_form),
    "catalog:product-detail": ("#prices form[method=post]", prices_form),
    "orders:order-edit": (
        "main form[method=post]:has(input[name=do][value=add])",
        order_edit_form,
    ),
    "orders:counter-return": ("main form[method=post]:has(input[name=order])", counter_return_form),
}


def watch_browser(page, crawl, who):
    """Record every uncaught error, console error and failed same-site request of the page."""

    def on_page_error(error):
        crawl.fail(*who, page.url, f"JavaScript error: {error}")

    def on_console(message):
        if crawl.probing and message.location.get("url") == crawl.probing:
            return  # a story page of another role's work: its 403 is expected, not an error
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

    listeners = {
        "pageerror": on_page_error,
        "console": on_console,
        "requestfailed": on_request_failed,
        "response": on_response,
    }
    for event, listener in listeners.items():
        page.on(event, listener)
    WATCHERS[page] = listeners
    if not getattr(page, "_crawl_routed", False):
        # Only the live server is asked: an external image gets a pixel, not the network.
        page.route(
            re.compile(r"^(?!" + re.escape(crawl.base) + ")https?://"),
            lambda route: route.fulfill(status=200, content_type="image/png", body=PIXEL),
        )
        page._crawl_routed = True


def unwatch_browser(page):
    """Stop recording for this session: the next one (another language) records its own."""
    for event, listener in WATCHERS.pop(page, {}).items():
        page.remove_listener(event, listener)


def log_in(page, crawl, who, username, password):
    """Log in as a user does; the home page it lands on is open: (its seconds, status)."""
    page.goto(f"{crawl.base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    started = time.monotonic()
    with page.expect_navigation(url=f"{crawl.base}/") as navigation:
        page.click("button[type=submit]")
    return time.monotonic() - started, navigation.value.status


def switch_language(page, crawl, who, language):
    """The switch a user clicks: the select in the top bar submits the set_language form and
    the home page comes back in that language, open: (its seconds, status)."""
    if page.url != f"{crawl.base}/":
        page.goto(f"{crawl.base}/", wait_until="load")
    started = time.monotonic()
    with page.expect_navigation() as navigation:
        page.select_option("#language-select", language)
    seconds = time.monotonic() - started
    if page.get_attribute("html", "lang") != language:
        crawl.fail(*who, page.url, "the language switch did not change the page language")
    return seconds, navigation.value.status


def submit_post_form(page, crawl, who, form, main_form):
    """Fill and send a POST main form; its answer must be its success: the redirect it
    promises (or 200 in place) and what the answering page shows. True if it was sent."""
    for name, value in main_form.values.items():
        field_ = form.locator(f"[name={name}]").first
        if field_.evaluate("element => element.tagName") == "SELECT":
            field_.select_option(value)
        else:
            field_.fill(value)
    # The navigation ends on the answering page: the POST's own answer, or the page it
    # redirected to.
    with page.expect_navigation(wait_until="load") as navigation:
        form.locator("button[type=submit], button:not([type])").first.click()
    final = navigation.value
    posted = final.request.redirected_from or final.request
    status = posted.response().status if posted.response() else 0
    sent = f"{posted.method} {urlsplit(posted.url).path}"
    if main_form.redirect is None:
        if status != 200 or posted is not final.request:
            crawl.fail(*who, posted.url, f"{sent} answered {status}, not 200 in place")
            return True
    else:
        location = urlsplit(final.url).path
        if status not in (302, 303) or location != main_form.redirect:
            crawl.fail(
                *who,
                posted.url,
                f"{sent} answered {status} ({location}), not a redirect to"
                f" {main_form.redirect}: {page_errors(page)}",
            )
            return True
    for selector in main_form.shows:
        if not page.locator(selector).count():
            crawl.fail(
                *who, page.url, f"{sent}: the answer does not show {selector}: {page_errors(page)}"
            )
    return True


def page_errors(page):
    """The errors a refused form shows, for the report."""
    errors = page.locator(".messages .error, .errorlist, .error").all_inner_texts()
    return "; ".join(text.strip() for text in errors if text.strip())[:300] or "no error shown"


def submit_main_form(page, crawl, who, kind, path):
    """A user's first click on the page: the POST form that changes stock, prices or an
    order (POST_FORMS), the reply box, the segment count, the template preview, regenerating
    a feed, else the first GET form (search, filters) in the page. The answer must not be an
    error. True if a form was sent."""
    base = crawl.base
    if kind in POST_FORMS:
        selector, values_for = POST_FORMS[kind]
        form = page.locator(selector).first
        if not form.count():
            return False  # a role that may not send it is not shown it
        main_form = values_for(page, path, who[1])
        if main_form is None:
            crawl.fail(*who, page.url, "main form: the demo holds no values to send it with")
            return False
        if main_form.url:
            page.goto(base + main_form.url, wait_until="load")
            form = page.locator(selector).first
        return submit_post_form(page, crawl, who, form, main_form)
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


def crawl_site(page, crawl, who, start_urls, home):
    """Breadth-first from the home page, which is open already (the login or the language
    switch landed on it: `home` is its (seconds, status)), so it is not loaded again."""
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
        # A chart's numbers as CSV (`?format=csv`) share their page's URL pattern.
        is_csv = "format=csv" in urlsplit(url).query
        if kind in DOWNLOAD_KINDS or is_csv:
            per_kind[kind] += 1
            crawl.kinds.add(kind)
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
        if url == base + "/" and home is not None and page.url == url:
            (seconds, status), home = home, None
        else:
            crawl.probing = None if linked else url
            started = time.monotonic()
            response = page.goto(url, wait_until="load")
            seconds = time.monotonic() - started
            status = response.status if response else 0
            crawl.probing = None
        if status == 403 and not linked:
            continue  # a story page of another role's work
        per_kind[kind] += 1
        crawl.kinds.add(kind)
        crawl.visited[who] += 1
        crawl.timings.append((seconds, path, *who))
        if status >= 400:
            crawl.fail(*who, url, f"answered {status}")
            continue
        crawl.opened.add(path)
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
        # The links first: the form may leave the page, which is then not loaded again.
        links = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        queue.extend((link, True) for link in links)
        if kind not in forms_done:
            forms_done.add(kind)
            try:
                crawl.forms[who] += submit_main_form(page, crawl, who, kind, path)
            except Exception as error:  # noqa: BLE001 (collected, reported at the end)
                crawl.fail(*who, url, f"main form: {type(error).__name__}: {str(error)[:200]}")


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
    stories = story_urls()
    missing = [story for story, url in stories.items() if url is None]
    assert not missing, f"the demo lacks these story pages: {missing}"
    start_urls = list(dict.fromkeys(stories.values()))

    crawl = Crawl(base=live_server.url)
    with ServerWatch() as server:
        for username, password in demo_logins():
            # One login a user: the languages follow each other in the same session, switched
            # as a user does (a login is a form, a redirect and the heaviest page, the home).
            context = browser.new_context(viewport={"width": 1280, "height": 860})
            page = context.new_page()
            page.set_default_timeout(15_000)
            for language in LANGUAGES:
                who = (username, language)
                session_started = time.monotonic()
                watch_browser(page, crawl, who)
                try:
                    if language == LANGUAGES[0]:
                        home = log_in(page, crawl, who, username, password)
                    if language != settings.LANGUAGE_CODE:
                        home = switch_language(page, crawl, who, language)
                    crawl_site(page, crawl, who, start_urls, home)
                    if language == settings.LANGUAGE_CODE:
                        crawl_admin(page, crawl, who, changelists_too=username == DEMO_ADMIN[0])
                except Exception as error:  # noqa: BLE001 (collected, reported at the end)
                    crawl.fail(*who, page.url, f"crawl stopped: {type(error).__name__}: {error}")
                finally:
                    unwatch_browser(page)
                    crawl.seconds[who] = time.monotonic() - session_started
            context.close()

    for story, url in stories.items():
        if url not in crawl.opened:
            crawl.fail("crawl", "-", crawl.base + url, f"story page never opened: {story}")
    for path, messages in server.errors.items():
        for message in dict.fromkeys(messages):
            crawl.fail("server", "-", crawl.base + path, f"server logged: {message}")
    for path, writes in server.get_writes.items():
        crawl.fail("server", "-", crawl.base + path, f"GET wrote to the database: {sorted(writes)}")

    total = time.monotonic() - started
    if total > CRAWL_BOUND_SECONDS:
        crawl.fail(
            "crawl", "-", crawl.base + "/", f"took {total:.0f} s, over {CRAWL_BOUND_SECONDS} s"
        )
    summary = [
        f"crawl: {total:.0f} s in all (bound {CRAWL_BOUND_SECONDS} s), {seeded:.0f} s of it"
        f" loading the demo; per session (login and language):"
    ]
    for who, seconds in sorted(crawl.seconds.items()):
        summary.append(
            f"  {who[0]:<20} {who[1]}  {crawl.visited[who]:>4} pages"
            f"  {crawl.forms[who]:>3} forms sent  {seconds:5.0f} s"
        )
    unvisited = sorted(staff_page_kinds() - crawl.kinds - SKIPPED_KINDS)
    summary.append(f"page kinds visited: {len(crawl.kinds)}; never linked by GET: {unvisited}")
    summary.append(f"story pages: {stories}")
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
