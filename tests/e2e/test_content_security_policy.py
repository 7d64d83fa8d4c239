"""Every staff page, the admin and the API docs work under the Content-Security-Policy: a
real browser loads each one and no script, style or handler is refused."""

import pytest
from django.core.management import call_command

from catalog.models import Product
from core.demo_data import DEMO_ADMIN
from customers.models import Customer
from orders.models import Order
from support.models import Conversation

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


class Violations:
    """CSP refusals the browser reports on a page, from its console and its
    securitypolicyviolation events."""

    SCRIPT = """() => { window.__cspViolations = window.__cspViolations || [];
        document.addEventListener('securitypolicyviolation', e =>
            window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI)); }"""

    def __init__(self, page):
        self.page = page
        self.console = []
        page.on("console", self._console)
        page.add_init_script(f"({self.SCRIPT})()")

    def _console(self, message):
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.console.append(text)

    def collected(self):
        try:
            events = self.page.evaluate("window.__cspViolations || []")
        except Exception:  # noqa: BLE001 (a page without a window, e.g. a download)
            events = []
        return self.console + events


def visit(page, violations, url, *, ready=None):
    response = page.goto(url)
    assert response.ok, (url, response.status)
    assert "default-src 'self'" in response.headers["content-security-policy"], url
    page.wait_for_load_state("networkidle")
    if ready:
        page.wait_for_selector(ready)
    found = violations.collected()
    assert not found, (url, found)
    return response


def test_staff_pages_admin_and_api_docs_load_without_a_csp_violation(page, live_server):
    call_command("seed_demo", "--size", "small", "--seed", "5", verbosity=0)
    base = live_server.url
    violations = Violations(page)

    page.goto(f"{base}/accounts/login/")
    assert not violations.collected()
    page.fill("#id_username", DEMO_ADMIN[0])
    page.fill("#id_password", DEMO_ADMIN[1])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")

    nav = [a.get_attribute("href") for a in page.locator(".mainnav a").all()]
    assert len(nav) >= 6, nav
    for href in nav:
        visit(page, violations, base + href)

    sara = Customer.objects.filter(first_name="Sara", last_name="Rahimi").first()
    visit(page, violations, f"{base}/customers/?q=sara")
    visit(page, violations, f"{base}/customers/{sara.public_id}/")
    page.locator("[data-channel]").first.click()  # the htmx timeline filter
    page.wait_for_load_state("networkidle")
    assert not violations.collected()

    visit(page, violations, f"{base}/catalog/products/")
    product = Product.objects.filter(media__isnull=False).first()
    visit(page, violations, f"{base}/catalog/products/{product.pk}/")
    visit(page, violations, f"{base}/catalog/feeds/")
    visit(page, violations, f"{base}/orders/")
    visit(page, violations, f"{base}/orders/{Order.objects.first().number}/")
    visit(page, violations, f"{base}/orders/counter/")
    visit(page, violations, f"{base}/inventory/ledger/")

    visit(page, violations, f"{base}/support/")
    conversation = Conversation.objects.filter(customer=sara).first()
    visit(page, violations, f"{base}/support/c/{conversation.pk}/")
    page.fill("#composer-text", "Thank you, we are on it.")
    page.click("[data-action=send]")  # htmx swaps the conversation in place
    page.wait_for_load_state("networkidle")
    assert not violations.collected()

    visit(page, violations, f"{base}/campaigns/segments/new/")
    visit(page, violations, f"{base}/campaigns/templates/new/")
    # The live preview is the email's own HTML in a sandboxed srcdoc iframe, which inherits
    # the page's policy: its inline styles must still apply (put in place as htmx swaps it).
    page.evaluate(
        """() => { document.querySelector('#preview').innerHTML =
            '<iframe sandbox="" srcdoc="<p id=&quot;x&quot; style=&quot;color: rgb(204, 0, 0)' +
            '&quot;>Hello</p><style>p { font-weight: 700 }</style>"></iframe>'; }"""
    )
    frame = page.frame_locator("#preview iframe").locator("#x")
    assert frame.evaluate("e => getComputedStyle(e).color") == "rgb(204, 0, 0)"
    assert frame.evaluate("e => getComputedStyle(e).fontWeight") == "700"
    assert not violations.collected()

    # The language picker's script submits a form: wait for that navigation to finish, or the
    # next goto races it (net::ERR_ABORTED).
    with page.expect_navigation():
        page.select_option("#language-select", "fa")
    assert page.get_attribute("html", "dir") == "rtl"
    with page.expect_navigation():
        page.select_option("#language-select", "en")

    visit(page, violations, f"{base}/admin/")
    visit(page, violations, f"{base}/admin/support/message/")
    message = conversation.messages.first()
    visit(page, violations, f"{base}/admin/support/message/{message.pk}/change/")
    visit(page, violations, f"{base}/admin/catalog/product/")
    visit(page, violations, f"{base}/admin/catalog/product/{product.pk}/change/")
    visit(page, violations, f"{base}/admin/auth/user/add/")

    visit(page, violations, f"{base}/api/docs/", ready=".swagger-ui .info")
    # The operations are drawn (scripts ran under the policy). Past about 120 operations
    # Swagger UI draws only those near the viewport (scrolling draws the next ones), so the
    # first screen holds some 9 to 12 of them, not the whole list.
    page.locator(".swagger-ui .opblock").nth(5).wait_for(timeout=20_000)
    first_screen = page.locator(".swagger-ui .opblock").count()
    page.mouse.wheel(0, 4000)
    page.wait_for_timeout(500)
    assert first_screen > 5 and page.locator(".swagger-ui .opblock").count() > 5
