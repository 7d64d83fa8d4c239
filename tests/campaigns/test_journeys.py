"""Each shipped journey end to end: triggered from the timeline, advanced by the beat task,
sent through the providers; the abandoned cart exits when the order happens in a store."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import CampaignMessage, CouponCode, JourneyRun
from campaigns.services.defaults import install_defaults
from campaigns.services.journeys import advance_run, run_journeys
from campaigns.tasks import advance_journeys
from customers.factories import IdentityFactory
from customers.services import record_consent, record_event, resolve_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def journeys(channels):
    return {j.key: j for j in install_defaults()["journeys"]}


def tick(now=None):
    """One beat tick, `now` shifted to jump over waits."""

    if now is None:
        return advance_journeys()
    return run_journeys(now=now)


def messages_of(customer, journey_key):
    return CampaignMessage.objects.filter(
        customer=customer, journey_step__journey__key=journey_key
    ).select_related("channel", "coupon_code")


CART = {
    "cart_id": "cart-77",
    "total": 240,
    "currency": "USD",
    "products": [{"sku": "ARIA-BLA-38", "quantity": 2, "price": 120}],
}


def test_welcome_email_then_sms_with_a_unique_first_purchase_coupon(journeys, channels):
    sara = resolve_customer(
        [{"kind": "email", "value": "Sara@Example.com"}], traits={"first_name": "Sara"}
    )
    assert tick()["started"] == 1
    (welcome,) = messages_of(sara, "welcome")
    assert welcome.channel.kind == "email" and welcome.to == "sara@example.com"
    # welcome is marketing: no marketing consent yet, so the email is held back by consent
    assert welcome.status == "suppressed"
    # she consents and adds a phone later: the run waits for it, then sends the SMS
    record_consent(sara, channel_kind="sms", purpose="marketing", granted=True)
    tick()
    assert messages_of(sara, "welcome").count() == 1
    resolve_customer(
        [{"kind": "email", "value": "sara@example.com"}, {"kind": "phone", "value": "09121234567"}]
    )
    noon = timezone.now().replace(hour=12) + timedelta(days=1)
    tick(now=noon)
    sms = messages_of(sara, "welcome").get(channel__kind="sms")
    assert sms.status == "sent" and sms.to == "+989121234567"
    code = sms.coupon_code
    assert code.customer_id == sara.pk and code.pool.prefix == "WELCOME"
    assert code.code.startswith("WELCOME-")
    run = JourneyRun.objects.get(customer=sara, journey__key="welcome")
    assert run.status == "completed"
    # the same identity seen again starts nothing new
    tick(now=noon)
    assert JourneyRun.objects.filter(customer=sara, journey__key="welcome").count() == 1
    assert CouponCode.objects.filter(customer=sara).count() == 1


def test_abandoned_cart_email_lists_the_carts_items_after_the_wait(
    journeys, channels, person, smtp_server
):
    customer = person("cart@example.com", consent=["email"])
    record_event(customer, "cart_abandoned", channel="web", properties=CART)
    tick()
    assert not messages_of(customer, "abandoned-cart").exists()  # still waiting an hour
    later = timezone.now().replace(hour=12) + timedelta(days=1)
    tick(now=later)
    (message,) = messages_of(customer, "abandoned-cart")
    assert message.status == "sent"
    received = smtp_server.wait_for(2)  # the welcome email, then the cart
    (body,) = [
        m.original_content.decode() for m in received if b"left something" in m.original_content
    ]
    assert "2 x ARIA-BLA-38" in body and "240 USD" in body


def test_abandoned_cart_exits_when_she_buys_in_a_store(journeys, channels, person, smtp_server):
    customer = person("store@example.com", consent=["email"])
    record_event(customer, "cart_abandoned", channel="web", properties=CART)
    tick()
    record_event(
        customer,
        "order_completed",
        channel="store",
        properties={
            "order_id": "S-1",
            "total": 240,
            "currency": "USD",
            "fulfilment": "in_store",
            "products": CART["products"],
        },
    )
    later = timezone.now().replace(hour=12) + timedelta(days=1)
    tick(now=later)
    assert not messages_of(customer, "abandoned-cart").exists()
    run = JourneyRun.objects.get(customer=customer, journey__key="abandoned-cart")
    assert run.status == "exited" and "order_completed (store)" in run.exit_reason
    assert smtp_server.wait_for(1, timeout=0.5) == [] or all(
        "cart" not in m.original_content.decode().lower() for m in smtp_server.messages
    )


def test_abandoned_cart_exit_is_checked_right_before_the_send(journeys, channels, person):
    """The order is recorded after the poller ran: the send step still sees it."""
    customer = person("race@example.com", consent=["email"])
    record_event(customer, "cart_abandoned", channel="web", properties=CART)
    tick()
    run = JourneyRun.objects.get(customer=customer, journey__key="abandoned-cart")
    record_event(
        customer, "order_completed", channel="store", properties={"order_id": "S-2", "total": 1}
    )

    advance_run(run.pk, now=timezone.now() + timedelta(hours=2))
    run.refresh_from_db()
    assert run.status == "exited" and not messages_of(customer, "abandoned-cart").exists()


def test_receipt_goes_on_the_channel_she_asked_for(journeys, channels, person):
    customer = person("r@example.com")
    IdentityFactory(customer=customer, kind="messenger", value="psid-42")
    record_event(
        customer,
        "order_completed",
        channel="web",
        properties={
            "order_id": "W-9",
            "total": 120,
            "currency": "USD",
            "receipt_channel": "messenger",
            "products": [{"sku": "ARIA-RED-39", "quantity": 1, "price": 120}],
        },
    )
    tick()
    (receipt,) = messages_of(customer, "receipt")
    assert receipt.channel.kind == "messenger" and receipt.to == "psid-42"
    assert receipt.purpose == "transactional" and receipt.status == "sent"
    other = person("plain@example.com")
    record_event(
        other, "order_completed", channel="store", properties={"order_id": "S-9", "total": 5}
    )
    tick()
    (plain,) = messages_of(other, "receipt")
    assert plain.channel.kind == "email" and plain.status == "sent"


def test_review_request_a_week_after_the_purchase(journeys, channels, person):
    customer = person("rev@example.com", consent=["email"])
    record_event(
        customer, "order_completed", channel="web", properties={"order_id": "W-1", "total": 10}
    )
    tick()
    assert not messages_of(customer, "review-request").exists()
    tick(now=timezone.now().replace(hour=12) + timedelta(days=8))
    (review,) = messages_of(customer, "review-request")
    assert review.status == "sent"


def test_win_back_after_90_days_without_an_order(journeys, channels, person):
    loyal = person("loyal@example.com", consent=["email"])
    lapsed = person("lapsed@example.com", consent=["email"])
    start = timezone.now() - timedelta(days=100)
    for customer, order_id in ((loyal, "L-1"), (lapsed, "P-1")):
        record_event(
            customer,
            "order_completed",
            channel="store",
            occurred_at=start,
            properties={"order_id": order_id, "total": 50},
        )
    record_event(
        loyal,
        "order_completed",
        channel="web",
        occurred_at=timezone.now() - timedelta(days=20),
        properties={"order_id": "L-2", "total": 50},
    )
    tick(now=timezone.now().replace(hour=12))
    (win_back,) = messages_of(lapsed, "win-back")
    assert win_back.status == "sent" and win_back.coupon_code.pool.prefix == "WINBACK"
    assert not messages_of(loyal, "win-back").exists()
    first, second = JourneyRun.objects.filter(customer=loyal, journey__key="win-back").order_by(
        "started_at"
    )
    assert first.status == "exited" and "order_completed (web)" in first.exit_reason
    assert second.status == "active"  # waits for 90 days after the newer order
