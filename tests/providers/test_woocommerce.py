"""The WooCommerce connector against a small WooCommerce on loopback
(tests/providers/woocommerce_server.py): webhooks signed as the shop signs them come in
through the real door (`POST /api/v1/providers/<code>/woocommerce`), stock goes out through
inventory's debounced push to the shop's batch endpoints.

The round trip: an order webhook in (order, lines, customer stored), our stock change out
(one batch call with the new stock_quantity), a replayed webhook ignored, a forged signature
refused; and around it the ping, out-of-order updates, status changes, customers, products,
bad input, the shop's 401/429/5xx, and the set-up page."""

import datetime as dt
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.management import call_command
from django.test import Client

from catalog.factories import ProductVariantFactory, VariantListingFactory
from catalog.models import VariantListing
from config.celery import app
from core.factories import ChannelFactory
from core.providers import ProviderError
from core.providers.woocommerce import WooCommerceClient
from core.roles import ADMINISTRATOR
from customers.models import Identity
from inventory.factories import ChannelStockRuleFactory, WarehouseFactory, receive_stock
from inventory.models import StockSyncState
from inventory.selectors import available_to_promise
from inventory.services import sync
from orders.models import Order, OrderStatus, PaymentStatus
from orders.woocommerce.models import OrderLink, ProductLink, WebhookDelivery
from orders.woocommerce.services.catalog import link_variant
from tests.providers.woocommerce_server import (
    WooCommerceServer,
    delivery_headers,
    wc_json,
)
from tests.task_ledger import TaskLedger

SECRET = "whsec-the-shop-signs-with-this"
T0 = dt.datetime(2026, 3, 22, 16, 28, 8)


@pytest.fixture
def shop_server():
    server = WooCommerceServer()
    yield server
    server.close()


@pytest.fixture
def shop(db, shop_server):
    channel = ChannelFactory(
        code="woo-shop",
        name="Woo shop",
        kind="web",
        sells=True,
        currency="USD",
        provider="woocommerce",
        provider_settings={
            "site_url": shop_server.url,
            "consumer_key": shop_server.key,
            "consumer_secret": shop_server.secret,
            "webhook_secret": SECRET,
        },
    )
    ChannelStockRuleFactory(channel=channel, sync_enabled=True)
    return channel


@pytest.fixture
def variant(shop, shop_server):
    listing = VariantListingFactory(channel=shop, price=25)
    variant = listing.variant
    warehouse = WarehouseFactory(code="wh-woo", name="Woo warehouse", channels=[shop])
    receive_stock(variant, warehouse, 10)
    shop_server.add_simple(301, variant.sku, name=variant.product.name, price="25.00", stock=10)
    link_variant(shop, variant, product_id=301)
    return variant


def woo_order(variant, *, order_id=777, status="processing", modified=T0, quantity=2, **extra):
    address = {
        "first_name": "Sara",
        "last_name": "Rahimi",
        "company": "",
        "address_1": "12 Vali-e Asr Street",
        "address_2": "Unit 4",
        "city": "Tehran",
        "state": "THR",
        "postcode": "1966",
        "country": "IR",
    }
    return {
        "id": order_id,
        "parent_id": 0,
        "number": str(order_id),
        "order_key": "wc_order_abc",
        "created_via": "checkout",
        "status": status,
        "currency": "USD",
        "date_created_gmt": T0.isoformat(),
        "date_modified_gmt": modified.isoformat(),
        "customer_id": 42,
        "customer_note": "Ring twice",
        "billing": {**address, "email": "Sara@Example.com", "phone": "+989121234567"},
        "shipping": address,
        "payment_method": "bacs",
        "transaction_id": "tx-777",
        "line_items": [
            {
                "id": 1,
                "name": variant.product.name,
                "product_id": 301,
                "variation_id": 0,
                "quantity": quantity,
                "sku": variant.sku,
                "price": 25,
                "subtotal": "50.00",
                "total": "50.00",
            }
        ],
        "total": "50.00",
        **extra,
    }


def deliver(client, topic, payload, *, secret=SECRET, delivery_id="d-1", code="woo-shop"):
    body = wc_json(payload)
    return client.post(
        f"/api/v1/providers/{code}/woocommerce",
        data=body,
        content_type="application/json",
        **delivery_headers(topic, body, secret, delivery_id=delivery_id),
    )


# --- the round trip ----------------------------------------------------------------------
@pytest.fixture
def worker(transactional_db, monkeypatch):
    """A Celery worker thread on the in-memory broker: the stock push is really queued and
    really waits for its debounce."""
    monkeypatch.setattr(sync, "DEBOUNCE_SECONDS", 1)
    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        app.conf.task_always_eager = True


def wait_for(condition, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


@pytest.fixture
def ledger():
    with TaskLedger() as ledger:
        yield ledger


# PostgreSQL only: the worker thread writes the sync state while the test reads it, and the
# test database of the SQLite run (in memory, shared cache) locks whole tables for that
# ("database table is locked", now and then). The other tests here run on both.
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_round_trip_order_in_stock_out_replay_ignored_forgery_refused(
    ledger, worker, shop, variant, shop_server
):
    client = Client()
    # The receipt of 10 units went out first (debounced, one batch call).
    assert wait_for(lambda: len(shop_server.batches()) == 1)
    shop_server.received.clear()

    # An order webhook in: the order with its line and the customer.
    answer = deliver(client, "order.created", woo_order(variant), delivery_id="d-777")
    assert answer.status_code == 200, answer.content
    assert answer.json()["outcome"] == "applied"
    order = Order.objects.get(channel=shop, external_id="777")
    assert order.number.startswith("W-")
    assert order.status == OrderStatus.CONFIRMED  # processing: paid, to be shipped
    assert order.payment_status == PaymentStatus.PAID
    assert [(line.sku, line.quantity) for line in order.lines.all()] == [(variant.sku, 2)]
    assert order.shipping_address == "12 Vali-e Asr Street, Unit 4"
    assert order.shipping_country == "IR"
    kinds = dict(order.customer.identities.values_list("kind", "value"))
    assert kinds["email"] == "sara@example.com"
    assert kinds["external_id"] == "42"
    assert order.customer.first_name == "Sara"

    # Our stock change out: the two units held leave 8, pushed in one batch call.
    assert wait_for(lambda: len(shop_server.batches()) == 1)
    [(path, body)] = shop_server.batches()
    assert path == "/wp-json/wc/v3/products/batch"
    assert body["update"] == [{"id": 301, "manage_stock": True, "stock_quantity": 8}]
    assert shop_server.products[301]["stock_quantity"] == 8
    assert wait_for(
        lambda: StockSyncState.objects.get(channel=shop, variant=variant).last_units == 8
    )

    # The same delivery replayed: answered, nothing stored twice, no second push.
    replay = deliver(client, "order.created", woo_order(variant), delivery_id="d-777")
    assert replay.status_code == 200
    assert replay.json()["duplicate"] is True
    assert Order.objects.filter(channel=shop).count() == 1
    assert order.lines.count() == 1
    assert WebhookDelivery.objects.filter(channel=shop).count() == 1
    assert available_to_promise(variant, shop)[variant.pk] == 8

    # A forged signature: refused, nothing read.
    forged = deliver(
        client, "order.created", woo_order(variant, order_id=778), secret="not-the-secret"
    )
    assert forged.status_code == 401
    assert forged.json()["error"]["code"] == "invalid_signature"
    assert not Order.objects.filter(external_id="778").exists()
    # Every task published (pushes, debounced ones included) has run: nothing more went out.
    assert ledger.wait_idle(), ledger
    assert len(shop_server.batches()) == 1


# --- webhooks ----------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_ping_sent_when_a_webhook_is_created_is_answered_200(client, shop):
    answer = client.post(
        "/api/v1/providers/woo-shop/woocommerce",
        data="webhook_id=12",
        content_type="application/x-www-form-urlencoded",
    )
    assert answer.status_code == 200
    assert answer.json()["outcome"] == "ping"
    assert not WebhookDelivery.objects.exists()


@pytest.mark.django_db
def test_a_missing_signature_or_secret_is_refused(client, shop, variant):
    body = wc_json(woo_order(variant))
    unsigned = client.post(
        "/api/v1/providers/woo-shop/woocommerce",
        data=body,
        content_type="application/json",
        HTTP_X_WC_WEBHOOK_TOPIC="order.created",
    )
    assert unsigned.status_code == 401
    shop.provider_settings = {**shop.provider_settings, "webhook_secret": ""}
    shop.save()
    assert deliver(client, "order.created", woo_order(variant), secret="").status_code == 401
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_an_update_older_than_the_one_applied_is_ignored(client, shop, variant):
    later = T0 + dt.timedelta(minutes=10)
    assert deliver(client, "order.created", woo_order(variant)).status_code == 200
    completed = woo_order(variant, status="completed", modified=later)
    answer = deliver(client, "order.updated", completed, delivery_id="d-2")
    assert answer.json()["outcome"] == "applied"
    order = Order.objects.get(external_id="777")
    assert order.status == OrderStatus.COMPLETED
    assert order.fulfilments.count() == 1
    # A cancellation written before the completion arrives late: it changes nothing.
    stale = woo_order(variant, status="cancelled", modified=T0 + dt.timedelta(minutes=5))
    answer = deliver(client, "order.updated", stale, delivery_id="d-3")
    assert answer.status_code == 200
    assert answer.json()["outcome"] == "ignored"
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert OrderLink.objects.get(woo_order_id=777).woo_status == "completed"


@pytest.mark.django_db
def test_an_update_before_its_creation_places_the_order_and_cancelling_releases_it(
    client, shop, variant
):
    # order.updated may overtake order.created: the order is placed from it.
    first = deliver(client, "order.updated", woo_order(variant, status="on-hold"))
    assert first.json()["outcome"] == "applied"
    order = Order.objects.get(external_id="777")
    assert order.status == OrderStatus.PLACED
    assert order.payment_status == PaymentStatus.PENDING
    assert available_to_promise(variant, shop)[variant.pk] == 8
    late_created = deliver(
        client, "order.created", woo_order(variant, status="pending"), delivery_id="d-0"
    )
    assert late_created.json()["outcome"] == "ignored"  # same modification date: not newer
    cancelled = woo_order(variant, status="cancelled", modified=T0 + dt.timedelta(hours=1))
    deliver(client, "order.updated", cancelled, delivery_id="d-9")
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert available_to_promise(variant, shop)[variant.pk] == 10


@pytest.mark.django_db
def test_bad_input_is_a_400_naming_the_field_never_a_500(client, shop, variant):
    url = "/api/v1/providers/woo-shop/woocommerce"
    cases = [
        (woo_order(variant, line_items=[{"product_id": 301, "sku": variant.sku}]),
         "line_items.0.quantity"),
        (woo_order(variant, line_items=[{"sku": "NOT-OURS", "quantity": 1}]), "line_items.0.sku"),
        (woo_order(variant, date_modified_gmt="yesterday"), "date_modified_gmt"),
        (woo_order(variant, currency="EUR"), "currency"),
        (woo_order(variant, billing={"email": "not an email"}, customer_id=0), "billing.email"),
        (woo_order(variant, billing="text"), "billing"),
        ({"id": "x"}, "id"),
    ]  # fmt: skip
    for number, (payload, field) in enumerate(cases):
        answer = deliver(client, "order.created", payload, delivery_id=f"bad-{number}")
        assert answer.status_code == 400, (field, answer.content)
        assert field in answer.json()["error"]["fields"], (field, answer.json())
    body = b"[1, 2"
    not_json = client.post(
        url,
        data=body,
        content_type="application/json",
        **delivery_headers("order.created", body, SECRET),
    )
    assert not_json.status_code == 400
    assert "body" in not_json.json()["error"]["fields"]
    assert deliver(client, "order.created", woo_order(variant), code="nope").status_code == 404
    assert not Order.objects.exists()
    # A refused delivery is kept, with why, for staff.
    assert WebhookDelivery.objects.filter(outcome="refused").count() == len(cases)


@pytest.mark.django_db
def test_an_order_the_stock_cannot_hold_is_a_409_and_nothing_is_stored(client, shop, variant):
    answer = deliver(client, "order.created", woo_order(variant, quantity=11))
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "insufficient_stock"
    assert not Order.objects.exists() and not OrderLink.objects.exists()


@pytest.mark.django_db
def test_customer_created_is_one_customer_with_the_shops_id(client, shop):
    customer = {
        "id": 42,
        "email": "Nima@Example.com",
        "first_name": "Nima",
        "last_name": "Ahmadi",
        "username": "nima",
        "billing": {"phone": "+989351234567", "email": "Nima@Example.com"},
        "shipping": {},
    }
    assert deliver(client, "customer.created", customer).json()["outcome"] == "applied"
    identity = Identity.objects.get(kind="external_id", partner="woocommerce:woo-shop")
    assert identity.value == "42"
    assert identity.customer.first_name == "Nima"
    assert set(identity.customer.identities.values_list("kind", flat=True)) == {
        "email",
        "phone",
        "external_id",
    }


@pytest.mark.django_db
def test_product_updated_links_variations_and_writes_price_never_stock(client, shop, shop_server):
    small = ProductVariantFactory(sku="TEE-S")
    large = ProductVariantFactory(sku="TEE-L", product=small.product)
    product = shop_server.add_variable(
        900, "Linen tee (shop name)", [(901, "TEE-S", "19.00", 3), (902, "TEE-L", "21.50", 99)]
    )
    answer = deliver(client, "product.updated", product)
    assert answer.json()["outcome"] == "applied"
    links = dict(
        ProductLink.objects.filter(channel=shop).values_list("variant__sku", "variation_id")
    )
    assert links == {"TEE-S": 901, "TEE-L": 902}
    prices = dict(
        VariantListing.objects.filter(listing__channel=shop).values_list("variant__sku", "price")
    )
    assert prices == {"TEE-S": 19, "TEE-L": 21.5}
    assert small.product.listings.get(channel=shop).title == "Linen tee (shop name)"
    # The shop's 99 units are not ours: no movement, no stock.
    assert available_to_promise([small, large], shop) == {small.pk: 0, large.pk: 0}


# --- stock going out ---------------------------------------------------------------------
@pytest.mark.django_db
def test_variations_go_to_their_own_batch_and_a_busy_shop_is_retried(shop, shop_server):
    tee = VariantListingFactory(channel=shop, variant=ProductVariantFactory(sku="TEE-S")).variant
    warehouse = WarehouseFactory(code="wh-2", name="Second", channels=[shop])
    shop_server.add_variable(900, "Linen tee", [(901, "TEE-S", "19.00", 0)])
    link_variant(shop, tee, product_id=900, variation_id=901)
    receive_stock(tee, warehouse, 4)  # marks the figure pending (its push runs on commit)
    # A busy shop: 429 (with Retry-After), then a 503. Each push fails; the figure stays
    # pending with why, as the task's retry and beat's sweep expect.
    shop_server.fail_next = [(429, {"Retry-After": "1"}), (503, {})]
    with pytest.raises(sync.SyncFailed, match="429"):
        sync.push_pending(shop.pk)
    with pytest.raises(sync.SyncFailed, match="503"):
        sync.push_pending(shop.pk)
    state = StockSyncState.objects.get(channel=shop, variant=tee)
    assert state.pending is True and state.attempts == 2
    result = sync.push_pending(shop.pk)  # the retry
    assert result["status"] == "sent"
    path, body = shop_server.batches()[-1]
    assert path == "/wp-json/wc/v3/products/900/variations/batch"
    assert body["update"] == [{"id": 901, "manage_stock": True, "stock_quantity": 4}]
    assert shop_server.variations[900][901]["stock_quantity"] == 4


@pytest.mark.django_db
def test_a_wrong_key_keeps_the_figures_pending_with_the_shops_error(shop, variant, shop_server):
    shop.provider_settings = {**shop.provider_settings, "consumer_secret": "cs_wrong"}
    shop.save()
    StockSyncState.objects.filter(channel=shop).update(pending=True)
    with pytest.raises(sync.SyncFailed, match="woocommerce_rest_cannot_batch"):
        sync.push_pending(shop.pk)
    state = StockSyncState.objects.get(channel=shop, variant=variant)
    assert state.pending is True
    assert "401" in state.last_error


@pytest.mark.django_db
def test_link_products_command_links_the_shop_by_sku(shop, shop_server, capsys):
    ours = ProductVariantFactory(sku="MUG-1")
    shop_server.add_simple(55, "MUG-1", price="7.00")
    shop_server.add_simple(56, "SOMEONE-ELSES")
    call_command("woocommerce_link_products", "woo-shop")
    assert "1 products linked, 1 without a SKU of ours" in capsys.readouterr().out
    assert ProductLink.objects.get(channel=shop, product_id=55).variant == ours


@pytest.mark.django_db
def test_reading_the_shop_with_a_wrong_key_says_so(shop, shop_server):
    shop.provider_settings = {**shop.provider_settings, "consumer_key": "ck_wrong"}
    with pytest.raises(ProviderError) as refused:
        WooCommerceClient(shop).products()
    assert refused.value.code == "woocommerce_rest_cannot_view"
    assert refused.value.retryable  # fixed by staff, then the figures go out


# --- the set-up page ---------------------------------------------------------------------
@pytest.mark.django_db
def test_setup_page_saves_the_shop_and_shows_the_webhook_to_paste(staff_in_role):
    channel = ChannelFactory(code="woo-new", name="New Woo shop", kind="web", sells=True)
    client = Client()
    client.force_login(staff_in_role(ADMINISTRATOR))
    url = f"/channels/{channel.code}/setup/"
    assert client.post(url, {"provider": "woocommerce", "fields_for": ""}).status_code == 302
    page = client.get(url).content.decode()
    for name in ("site_url", "consumer_key", "consumer_secret", "webhook_secret"):
        assert f'name="{name}"' in page
    assert "/api/v1/providers/woo-new/woocommerce" in page
    assert "X-WC-Webhook-Signature" in page
    # A shop takes orders and stock, not messages: no test message, and what is missing is
    # missing to connect it.
    assert "data-test-message" not in page and "Missing to connect" in page
    key, secret = "ck_" + "a" * 37 + "KEY1", "cs_" + "b" * 37 + "SEC2"
    saved = client.post(
        url,
        {
            "provider": "woocommerce",
            "fields_for": "woocommerce",
            "site_url": "https://shop.example.com",
            "consumer_key": key,
            "consumer_secret": secret,
        },
    )
    assert saved.status_code == 302
    channel.refresh_from_db()
    assert channel.provider_settings["site_url"] == "https://shop.example.com"
    assert channel.provider_settings["consumer_secret"] == secret
    page = client.get(url).content.decode()
    assert key not in page and secret not in page
    assert "KEY1" in page and "SEC2" in page  # masked: the last four characters only
    # The webhook secret: generated once, shown once, then masked.
    generated = client.post(f"{url}inbound-secret")
    assert generated.status_code == 200
    channel.refresh_from_db()
    webhook_secret = channel.provider_settings["webhook_secret"]
    assert webhook_secret in generated.content.decode()
    assert 'data-revealed-secret="webhook_secret"' in generated.content.decode()
    assert webhook_secret not in client.get(url).content.decode()
