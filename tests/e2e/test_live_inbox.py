"""The live inbox in a real browser: an agent has the inbox open; a customer's message arrives
through the signed inbound webhook and appears in her list, then in the open conversation,
without a reload; a colleague typing shows as "is replying" and his reply appears. And the
shop's side: a visitor writes in the chat widget on a shop page (a second browser context),
the agent sees it arrive and answers, and the answer appears in the widget, each within 2 s.

Each twice: in the embedded mode (one process, woken in memory) and with Redis and two web
processes (the agent on the test's live server, the colleague, the webhook and the shop on a
gunicorn process of their own: only Redis pub/sub can carry the news across)."""

import json
import os
import socket
import subprocess
import sys
import urllib.request

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from playwright.sync_api import expect

from core import live
from core.services.outbox import sign
from support.models import Message
from tests.campaigns.workers import ROOT, database_url, stop, wait_until
from tests.support.conftest import SECRET, make_channel

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# The promise: on the open page within 2 seconds.
LIVE_MS = 2000
CONNECT_MS = 15000


def post_sms(base, text, message_id, sender="+989121234567"):
    body = json.dumps({"id": message_id, "from": sender, "to": "+98100", "text": text}).encode()
    request = urllib.request.Request(  # noqa: S310 (the live server on loopback)
        f"{base}/api/v1/inbound/sms",
        data=body,
        headers={"Content-Type": "application/json", "X-Omni-Signature": sign(SECRET, body)},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
        assert response.status == 200
    return Message.objects.get(external_id=message_id)


def signed_in_page(browser, base, username):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "demo-pass-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


def listening(page):
    expect(page.locator("[data-live-events][data-live-state=open]")).to_be_attached(
        timeout=CONNECT_MS
    )


@pytest.fixture
def agents(staff_in_role):
    make_channel("sms", "sms", "console")
    maryam = staff_in_role("Support agent", username="maryam")
    reza = staff_in_role("Support agent", username="reza")
    reza.first_name, reza.last_name = "Reza", "Tehrani"
    reza.save()
    return maryam, reza


def the_story(browser, *, agent_base, colleague_base, webhook_base):
    agent = signed_in_page(browser, agent_base, "maryam")
    agent.goto(f"{agent_base}/support/")
    listening(agent)

    first = post_sms(webhook_base, "Where is my parcel?", "SM-live-1")
    conversation = first.conversation
    row = agent.locator(f"#inbox-list tr[data-conversation='{conversation.pk}']")
    expect(row).to_be_visible(timeout=LIVE_MS)
    expect(row).to_contain_text("Where is my parcel?")

    row.locator("a").first.click()
    agent.wait_for_url(f"{agent_base}/support/c/{conversation.pk}/")
    listening(agent)
    post_sms(webhook_base, "It is order W-1001, by the way", "SM-live-2")
    expect(agent.locator(".support-message", has_text="order W-1001")).to_be_visible(
        timeout=LIVE_MS
    )
    # The list pane beside it and the customer panel are still there, in three panes.
    expect(agent.locator(f"#inbox-pane li[data-conversation='{conversation.pk}']")).to_be_visible()
    expect(agent.locator("[data-customer-panel]")).to_be_visible()

    colleague = signed_in_page(browser, colleague_base, "reza")
    colleague.goto(f"{colleague_base}/support/c/{conversation.pk}/")
    listening(colleague)
    colleague.locator("#composer-text").fill("We are checking with the courier")
    typing = agent.locator("[data-typing]")
    expect(typing).to_contain_text("Reza Tehrani", timeout=LIVE_MS)
    expect(typing).to_contain_text("is replying")

    colleague.click("[data-action=send]")
    expect(
        agent.locator(".support-message.direction-outbound", has_text="checking with the courier")
    ).to_be_visible(timeout=LIVE_MS)
    expect(typing).to_have_text("", timeout=LIVE_MS)
    # Nothing was reloaded: the page she opened is the page she has.
    assert agent.evaluate("performance.getEntriesByType('navigation').length") == 1
    # On a phone: one column, the list pane folded away, the page's content no wider than
    # the screen (the shell's top bar is the shell's business).
    agent.set_viewport_size({"width": 400, "height": 860})
    expect(agent.locator("#inbox-pane")).to_be_hidden()
    assert agent.evaluate("document.getElementById('main').scrollWidth") <= 400
    agent.context.close()
    colleague.context.close()


def the_widget_story(browser, *, agent_base, shop_base, colleague_base):
    make_channel("webchat", "web", "", identity_secret="shop-identity")
    agent = signed_in_page(browser, agent_base, "maryam")
    agent.goto(f"{agent_base}/support/")
    listening(agent)

    shop = browser.new_context(locale="fa-IR").new_page()
    shop.goto(f"{shop_base}/support/widget/demo")
    shop.locator(".omni-chat-launcher").click()
    shop.fill(".omni-chat-text", "Is the green scarf back in stock?")
    shop.click(".omni-chat-send")
    expect(shop.locator(".omni-chat-visitor")).to_contain_text("green scarf", timeout=CONNECT_MS)
    conversation = Message.objects.get(channel__code="webchat").conversation
    row = agent.locator(f"#inbox-list tr[data-conversation='{conversation.pk}']")
    expect(row).to_be_visible(timeout=LIVE_MS)

    row.locator("a").first.click()
    agent.wait_for_url(f"{agent_base}/support/c/{conversation.pk}/")
    listening(agent)
    colleague = signed_in_page(browser, colleague_base, "reza")
    colleague.goto(f"{colleague_base}/support/c/{conversation.pk}/")
    listening(colleague)
    colleague.locator("#composer-text").fill("I can take this one")
    expect(agent.locator("[data-typing]")).to_contain_text("Reza Tehrani", timeout=LIVE_MS)

    agent.fill("#composer-text", "Yes, it came back this morning.")
    agent.click("[data-action=send]")
    expect(shop.locator(".omni-chat-agent")).to_contain_text("came back", timeout=LIVE_MS)
    shop.fill(".omni-chat-text", "Then I will come to the Tabriz store")
    shop.click(".omni-chat-send")
    expect(agent.locator(".support-message", has_text="Tabriz store")).to_be_visible(
        timeout=LIVE_MS
    )
    # Nothing was reloaded on either side.
    assert agent.evaluate("performance.getEntriesByType('navigation').length") == 1
    assert shop.evaluate("performance.getEntriesByType('navigation').length") == 1
    for page in (agent, colleague, shop):
        page.context.close()


@pytest.fixture(autouse=True)
def _streams_end_with_the_test():
    live.recent.clear()  # rolled-back tests before this one may have used the same ids
    yield
    live.end_streams()


def test_the_inbox_updates_live_in_the_embedded_mode(browser, live_server, agents, settings):
    settings.LIVE_EVENTS_REDIS_URL = ""
    # Short streams: the browser resumes every few seconds (Last-Event-ID) during the story.
    settings.LIVE_EVENTS_STREAM_SECONDS = 5
    settings.LIVE_EVENTS_HEARTBEAT_SECONDS = 2
    base = live_server.url
    the_story(browser, agent_base=base, colleague_base=base, webhook_base=base)


def test_the_chat_widget_and_the_inbox_talk_live_in_the_embedded_mode(
    browser, live_server, agents, settings
):
    settings.LIVE_EVENTS_REDIS_URL = ""
    settings.LIVE_EVENTS_STREAM_SECONDS = 5
    settings.LIVE_EVENTS_HEARTBEAT_SECONDS = 2
    base = live_server.url
    the_widget_story(browser, agent_base=base, shop_base=base, colleague_base=base)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def second_web_process(redis_url):
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            "gthread",
            "--threads",
            "8",
            "--workers",
            "1",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": database_url(),
            "CONN_MAX_AGE": "0",
            "LIVE_EVENTS_REDIS_URL": redis_url,
            "CACHE_URL": redis_url,  # "is replying" is kept in the shared cache
            "LIVE_EVENTS_STREAM_SECONDS": "20",
            "LIVE_EVENTS_HEARTBEAT_SECONDS": "30",
            "DEBUG": "true",
            "STAFF_SECOND_FACTOR": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_until(lambda: answers(f"{base}/accounts/login/"), 60), stop(process)
        yield base
    finally:
        print(stop(process))  # shown when the test fails


@pytest.fixture
def redis_mode(agents, settings, redis_url, second_web_process):
    """This process on Redis as the other one is: live events and "is replying" shared."""
    _maryam, reza = agents
    # The other process checks passwords with the default hashers, not the tests' fast one.
    reza.password = PBKDF2PasswordHasher().encode("demo-pass-123", "live-inbox-salt")
    reza.save(update_fields=["password"])
    settings.LIVE_EVENTS_REDIS_URL = redis_url
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
    }
    # Long waits here: within the story only a Redis announcement can wake the other pages.
    settings.LIVE_EVENTS_STREAM_SECONDS = 20
    settings.LIVE_EVENTS_HEARTBEAT_SECONDS = 30
    try:
        yield second_web_process
    finally:
        live.stop_subscriber()


@pytest.mark.postgres
@pytest.mark.worker
def test_the_inbox_updates_live_with_redis_across_two_web_processes(
    browser, live_server, redis_mode
):
    the_story(
        browser, agent_base=live_server.url, colleague_base=redis_mode, webhook_base=redis_mode
    )


@pytest.mark.postgres
@pytest.mark.worker
def test_the_chat_widget_and_the_inbox_talk_live_with_redis_across_two_web_processes(
    browser, live_server, redis_mode
):
    # The visitor's widget listens on the other process: only Redis tells it of the agent's
    # reply written here; her messages, written there, reach the agent here.
    the_widget_story(
        browser, agent_base=live_server.url, shop_base=redis_mode, colleague_base=redis_mode
    )
