"""Store-local marketing: home-store and distance segments, coupons limited to channels or
stores through the real order API, and "your size is back in your store" sent once to the
right customer."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.apps import register_coupon_handler
from campaigns.factories import CouponPoolFactory
from campaigns.models import CampaignMessage, HomeStore, JourneyRun, PendingRestock, Segment
from campaigns.services.defaults import install_defaults
from campaigns.services.journeys import run_journeys
from campaigns.tasks import (
    refresh_home_stores,
    refresh_recent_home_stores,
    tell_size_back_in_store,
)
from catalog.factories import ProductFactory, ProductVariantFactory, VariantListingFactory
from core.factories import ChannelFactory
from customers.factories import ConsentFactory, CustomerFactory, EventFactory, IdentityFactory
from customers.models import Event
from customers.services import erase_customer, export_customer
from inventory.factories import LocationFactory, WarehouseFactory, receive_stock
from inventory.models import MovementReason
from inventory.services.movements import record_movement
from orders.errors import CouponRefused
from orders.factories import placed_order
from tests.core.test_fault_broker_and_cache import broker_at  # noqa: F401 (fixture)
from tests.receivers import free_port

pytestmark = pytest.mark.django_db

# Tajrish (north Tehran) and Vanak, ~6 km apart; Tabriz ~530 km away.
TAJRISH = (35.8045, 51.4340)
VANAK = (35.7570, 51.4100)
TABRIZ = (38.0800, 46.2919)


@pytest.fixture
def town(db):
    channels = {
        code: ChannelFactory(code=code, name=name, kind=kind, **extra)
        for code, name, kind, extra in (
            ("web", "Web shop", "web", {}),
            ("store", "Stores", "store", {}),
            ("email", "Email", "email", {"provider": "smtp"}),
        )
    }
    warehouse = WarehouseFactory(code="wh", name="Warehouse", channels=[channels["web"]])
    tajrish = LocationFactory(
        code="tajrish",
        name="Tajrish store",
        serves_online=False,
        allows_pickup=True,
        latitude=TAJRISH[0],
        longitude=TAJRISH[1],
        channels=[channels["store"]],
    )
    vanak = LocationFactory(
        code="vanak",
        name="Vanak store",
        serves_online=False,
        allows_pickup=True,
        latitude=VANAK[0],
        longitude=VANAK[1],
        channels=[channels["store"]],
    )
    product = ProductFactory(name="Aria Runner")
    shoes = {}
    for size in ("38", "39", "40"):
        variant = ProductVariantFactory(product=product, size=size, sku=f"ARIA-{size}")
        for code in ("web", "store"):
            VariantListingFactory(variant=variant, channel=channels[code], amount=100)
        receive_stock(variant, warehouse, 20)
        shoes[size] = variant
    return channels, warehouse, tajrish, vanak, shoes


def buy_in_store(customer, channels, store, variant, *, when=None):
    order = placed_order(
        customer,
        channels["store"],
        [(variant.sku, 1)],
        fulfilment_method="in_store",
        store=store,
        shipping=None,
    )
    if when is not None:
        order.placed_at = when
        order.save(update_fields=["placed_at"])
    return order


def segment_members(client, rules):
    answer = client.post(
        "/api/v1/campaigns/segments", {"name": str(rules), "rules": rules}, format="json"
    )
    assert answer.status_code == 201, answer.content
    return answer.json()


# --- segments ----------------------------------------------------------------------------


def test_home_store_is_where_she_buys_and_visits_most_the_latest_breaking_a_tie(
    town, api_client_for
):
    channels, _warehouse, tajrish, vanak, shoes = town
    for store in (tajrish, vanak):
        receive_stock(shoes["38"], store, 10)
    now = timezone.now()
    # Two orders in Vanak against one in Tajrish plus two Tajrish visits: Tajrish.
    sara = CustomerFactory(is_anonymous=False)
    buy_in_store(sara, channels, vanak, shoes["38"], when=now - timedelta(days=30))
    buy_in_store(sara, channels, vanak, shoes["38"], when=now - timedelta(days=20))
    buy_in_store(sara, channels, tajrish, shoes["38"], when=now - timedelta(days=40))
    for days, key in ((10, "tajrish"), (5, str(tajrish.pk))):
        EventFactory(
            customer=sara,
            name="store_visited",
            properties={"store_id": key},
            occurred_at=now - timedelta(days=days),
        )
    # One order in each: a tie, and her Vanak order is the latest.
    reza = CustomerFactory(is_anonymous=False)
    buy_in_store(reza, channels, tajrish, shoes["38"], when=now - timedelta(days=9))
    buy_in_store(reza, channels, vanak, shoes["38"], when=now - timedelta(days=2))
    # Online only: no home store.
    CustomerFactory(is_anonymous=False)

    assert refresh_home_stores() == 2
    homes = {
        row.customer_id: (row.store_id, row.purchases, row.visits)
        for row in HomeStore.objects.all()
    }
    assert homes == {sara.pk: (tajrish.pk, 1, 2), reza.pk: (vanak.pk, 1, 0)}

    client = api_client_for("campaigns:write")
    assert segment_members(client, {"home_store": "tajrish"})["count"] == 1
    vanak_segment = segment_members(client, {"home_store": "vanak"})
    assert vanak_segment["count"] == 1
    assert "home store is «vanak»" in vanak_segment["compiled_description"]

    exported = export_customer(reza)["apps"]["campaigns"]["home_store"]
    assert exported["store"] == "vanak" and exported["orders_there"] == 1
    # An erasure forgets where she shops, and the next refresh does not learn it again.
    erase_customer(reza)
    assert not HomeStore.objects.filter(customer=reza).exists()
    assert refresh_home_stores() == 1
    assert not HomeStore.objects.filter(customer=reza).exists()


def test_a_new_order_moves_the_home_store_within_a_minute(town):
    channels, _warehouse, tajrish, vanak, shoes = town
    for store in (tajrish, vanak):
        receive_stock(shoes["38"], store, 10)
    sara = CustomerFactory(is_anonymous=False)
    buy_in_store(sara, channels, tajrish, shoes["38"], when=timezone.now() - timedelta(days=3))
    refresh_home_stores()
    assert HomeStore.objects.get(customer=sara).store == tajrish
    buy_in_store(sara, channels, vanak, shoes["38"])
    buy_in_store(sara, channels, vanak, shoes["38"])
    refresh_recent_home_stores()
    assert list(HomeStore.objects.filter(customer=sara).values_list("store_id", flat=True)) == [
        vanak.pk
    ]


def test_distance_to_a_store_uses_where_she_lives_set_through_identify(town, api_client_for):
    _channels, _warehouse, tajrish, _vanak, _shoes = town
    ingest = api_client_for("customers:write")

    def identify(email, **traits):
        answer = ingest.post(
            "/api/v1/identify",
            {"identities": [{"kind": "email", "value": email}], "traits": traits},
            format="json",
        )
        assert answer.status_code in (200, 201), answer.content
        return answer

    identify("near@example.com", latitude=VANAK[0], longitude=VANAK[1])  # ~6 km
    identify("far@example.com", latitude=TABRIZ[0], longitude=TABRIZ[1])  # ~530 km
    identify("nowhere@example.com", first_name="Nowhere")  # no place: never near
    bad = ingest.post(
        "/api/v1/identify",
        {"identities": [{"kind": "email", "value": "x@example.com"}], "traits": {"latitude": 123}},
        format="json",
    )
    assert bad.status_code == 400
    assert "traits.latitude" in str(bad.json())

    client = api_client_for("campaigns:write")
    assert segment_members(client, {"near_store": "tajrish", "within_km": 10})["count"] == 1
    assert segment_members(client, {"near_store": "tajrish", "within_km": 5})["count"] == 0
    wide = segment_members(client, {"near_store": "tajrish", "within_km": 600})
    assert wide["count"] == 2
    assert "lives within 600 km of «tajrish»" in wide["compiled_description"]
    refused = client.post(
        "/api/v1/campaigns/segments",
        {"name": "bad", "rules": {"near_store": "nowhere-store", "within_km": 5}},
        format="json",
    )
    assert refused.status_code == 400
    assert "near_store" in str(refused.json())
    refused = client.post(
        "/api/v1/campaigns/segments",
        {"name": "bad", "rules": {"near_store": "tajrish", "within_km": -1}},
        format="json",
    )
    assert refused.status_code == 400 and "within_km" in str(refused.json())


def test_segment_builder_offers_the_store_rules_and_says_them_in_words(town, client, staff_in_role):
    channels, _warehouse, tajrish, _vanak, shoes = town
    receive_stock(shoes["38"], tajrish, 5)
    sara = CustomerFactory(is_anonymous=False)
    buy_in_store(sara, channels, tajrish, shoes["38"])
    refresh_home_stores()
    client.force_login(staff_in_role("Marketer"))
    builder = client.get(reverse("campaigns:segment-new")).content.decode()
    assert 'value="home_store"' in builder and 'value="near_store"' in builder
    assert '<option value="tajrish">Tajrish store</option>' in builder
    rules = {"all": [{"home_store": "tajrish"}, {"near_store": "tajrish", "within_km": 3}]}
    count = client.post(
        reverse("campaigns:segment-count"), {"rules": json.dumps({"home_store": "tajrish"})}
    )
    assert b'data-count="1"' in count.content
    saved = client.post(
        reverse("campaigns:segment-new"),
        {"name": "Tajrish locals", "description": "", "rules": json.dumps(rules)},
    )
    assert saved.status_code == 302
    segment = Segment.objects.get(name="Tajrish locals")
    page = client.get(reverse("campaigns:segment-edit", args=[segment.pk])).content.decode()
    assert "home store is «tajrish» and lives within 3 km of «tajrish»" in page
    unknown = client.post(
        reverse("campaigns:segment-count"), {"rules": json.dumps({"home_store": "atlantis"})}
    )
    assert b"No active store has the code" in unknown.content


def test_the_size_back_template_previews_with_product_size_and_store(client, staff_in_role):
    template = install_defaults()["templates"]["size-back-in-store"]
    client.force_login(staff_in_role("Marketer"))
    preview = client.post(
        reverse("campaigns:template-preview"),
        {"channel_kind": "email", "subject": template.subject, "text": template.text},
    )
    assert b"Aria Runner in size 38 is back in stock at Tajrish." in preview.content


# --- coupons limited to channels or stores ------------------------------------------------


def place(client, *, channel, code, sku, store=None, email="c@example.com"):
    body = {
        "channel": channel,
        "customer": {"identities": [{"kind": "email", "value": email}]},
        "lines": [{"sku": sku, "quantity": 1}],
        "coupon_code": code,
    }
    if store:
        body.update(fulfilment_method="in_store", store=store)
    else:
        body["shipping"] = {"address": "1 Street"}
    return client.post("/api/v1/orders/", body, format="json")


def test_a_store_limited_coupon_is_refused_elsewhere_through_the_order_api(town, api_client_for):
    channels, _warehouse, tajrish, vanak, shoes = town
    assert register_coupon_handler() is True
    for store in (tajrish, vanak):
        receive_stock(shoes["38"], store, 10)
    campaigns_api = api_client_for("campaigns:write")
    made = campaigns_api.post(
        "/api/v1/campaigns/coupon-pools",
        {
            "name": "Tajrish opening",
            "code_kind": "shared",
            "prefix": "TAJRISH10",
            "discount_kind": "percentage",
            "discount_value": "10",
            "max_uses_per_customer": None,
            "allowed_channels": ["store"],
            "allowed_stores": ["tajrish"],
        },
        format="json",
    )
    assert made.status_code == 201, made.content
    assert made.json()["allowed_stores"] == ["tajrish"]
    assert made.json()["allowed_channels"] == ["store"]
    unknown = campaigns_api.post(
        "/api/v1/campaigns/coupon-pools",
        {
            "name": "Bad",
            "code_kind": "shared",
            "prefix": "BAD",
            "discount_kind": "percentage",
            "discount_value": "10",
            "allowed_stores": ["atlantis"],
        },
        format="json",
    )
    assert unknown.status_code == 400 and "allowed_stores" in str(unknown.json())

    orders = api_client_for("orders:write")
    online = place(orders, channel="web", code="TAJRISH10", sku="ARIA-38")
    assert online.status_code == 400
    error = online.json()["error"]
    assert "coupon_code" in error["fields"]
    assert "TAJRISH10" in error["message"] and "Stores" in error["message"]

    elsewhere = place(orders, channel="store", code="TAJRISH10", sku="ARIA-38", store="vanak")
    assert elsewhere.status_code == 400
    message = elsewhere.json()["error"]["message"]
    assert "TAJRISH10" in message and "Vanak store" in message and "Tajrish store" in message

    right = place(orders, channel="store", code="TAJRISH10", sku="ARIA-38", store="tajrish")
    assert right.status_code == 201, right.content
    assert Decimal(right.json()["discount"]) == Decimal("10.00")


def test_a_point_of_sale_checks_a_store_limited_code_and_staff_see_the_limits(
    town, api_client_for, admin_client
):
    channels, _warehouse, tajrish, vanak, _shoes = town
    pool = CouponPoolFactory(prefix="TAJ5", name="Tajrish five", discount_value=Decimal("5"))
    pool.allowed_stores.set([tajrish])
    check = api_client_for("campaigns:read")

    def validate(**extra):
        answer = check.post(
            "/api/v1/campaigns/coupons/validate",
            {"code": "TAJ5", "subtotal": "100", "channel": "store", **extra},
            format="json",
        )
        assert answer.status_code == 200, answer.content
        return answer.json()

    assert validate(store="tajrish")["valid"] is True
    refused = validate(store="vanak")
    assert refused["valid"] is False and "TAJ5" in refused["reason"]
    assert "Vanak store" in refused["reason"]
    assert validate()["valid"] is False  # a store-limited code needs the store
    unknown = check.post(
        "/api/v1/campaigns/coupons/validate",
        {"code": "TAJ5", "subtotal": "100", "store": "atlantis"},
        format="json",
    )
    assert unknown.status_code == 400 and "store" in unknown.json()["error"]["fields"]

    listing = admin_client.get(reverse("admin:campaigns_couponpool_changelist")).content.decode()
    assert "Tajrish store" in listing
    form = admin_client.get(reverse("admin:campaigns_couponpool_change", args=[pool.pk]))
    assert b"allowed_stores" in form.content and b"allowed_channels" in form.content
    homes = admin_client.get(reverse("admin:campaigns_homestore_changelist"))
    assert homes.status_code == 200


def test_a_channel_limited_coupon_works_only_in_its_channels(town):
    channels, *_rest = town
    assert register_coupon_handler() is True
    pool = CouponPoolFactory(prefix="WEBONLY", discount_value=Decimal("10"))
    pool.allowed_channels.set([channels["web"]])
    customer = CustomerFactory()
    tajrish = town[2]
    receive_stock(town[4]["39"], tajrish, 2)
    with pytest.raises(CouponRefused, match="WEBONLY cannot be used in Stores.*only in Web shop"):
        placed_order(
            customer,
            channels["store"],
            [("ARIA-39", 1)],
            coupon_code="WEBONLY",
            fulfilment_method="in_store",
            store=tajrish,
            shipping=None,
        )
    order = placed_order(customer, channels["web"], [("ARIA-39", 1)], coupon_code="WEBONLY")
    assert order.discount.amount == Decimal("10.00")


# --- new stock of your size in your store -------------------------------------------------


def shopper(email, *, home, channels, variant):
    customer = CustomerFactory(is_anonymous=False, first_name=email.split("@")[0].title())
    IdentityFactory(customer=customer, kind="email", value=email)
    ConsentFactory(customer=customer, channel_kind="email", purpose="marketing")
    buy_in_store(customer, channels, home, variant, when=timezone.now() - timedelta(days=20))
    return customer


def sent_of(journey_key):
    return CampaignMessage.objects.filter(journey_step__journey__key=journey_key)


def test_restock_of_her_size_in_her_store_is_told_once_and_only_while_in_stock(
    town, smtp_server, django_capture_on_commit_callbacks
):
    channels, _warehouse, tajrish, vanak, shoes = town
    install_defaults()
    size_38, size_39 = shoes["38"], shoes["39"]
    for store in (tajrish, vanak):
        receive_stock(size_38, store, 5)
        receive_stock(size_39, store, 1)
    # Sara (home Tajrish) and Mina (home Vanak) bought 38; Leila (home Tajrish) bought 39.
    sara = shopper("sara@example.com", home=tajrish, channels=channels, variant=size_38)
    mina = shopper("mina@example.com", home=vanak, channels=channels, variant=size_38)
    leila = shopper("leila@example.com", home=tajrish, channels=channels, variant=size_39)
    refresh_home_stores()
    PendingRestock.objects.all().delete()  # the setup's receipts, before anyone waited
    noon = timezone.now().replace(hour=12, minute=0) + timedelta(days=1)  # not at night

    # Size 38 at Tajrish sells out (a sale of everything left), then a receipt brings it back.
    def movement(variant, store, quantity, reason, key):
        # The signal's task is enqueued after the commit (and runs eagerly in tests).
        with django_capture_on_commit_callbacks(execute=True):
            record_movement(
                variant_id=variant.pk,
                location_id=store.pk,
                quantity=quantity,
                reason=reason,
                source="pos",
                idempotency_key=key,
            )

    left = size_38.stock_levels.get(location=tajrish).on_hand
    movement(size_38, tajrish, -left, MovementReason.SALE, "sold-out")
    movement(size_38, tajrish, 4, MovementReason.RECEIPT, "delivery-1")

    told = Event.objects.filter(name="size_back_in_store")
    assert list(told.values_list("customer_id", flat=True)) == [sara.pk]
    properties = told.get().properties
    assert properties["size"] == "38" and properties["store"] == "Tajrish store"
    assert properties["product"] == "Aria Runner"

    run_journeys(now=noon)
    sent = sent_of("size-back-in-store")
    assert [(m.customer_id, m.to, m.status) for m in sent] == [
        (sara.pk, "sara@example.com", "sent")
    ]
    bodies = [m.original_content.decode() for m in smtp_server.wait_for(4)]
    (body,) = [text for text in bodies if "back in stock" in text]
    assert "Aria Runner in size 38 is back in stock at Tajrish store" in body

    # Sold out and back again within the window: nothing more for her.
    movement(size_38, tajrish, -4, MovementReason.SALE, "sold-out-2")
    movement(size_38, tajrish, 2, MovementReason.RECEIPT, "delivery-2")
    run_journeys(now=noon)
    assert told.count() == 1
    assert sent_of("size-back-in-store").count() == 1

    # Size 39 comes back at Tajrish but sells out before the journey sends: no message.
    movement(size_39, tajrish, -1, MovementReason.SALE, "39-sold-out")
    movement(size_39, tajrish, 3, MovementReason.RECEIPT, "39-delivery")
    assert [e.properties["size"] for e in told.filter(customer=leila)] == ["39"]
    movement(size_39, tajrish, -3, MovementReason.SALE, "39-sold-again")
    run_journeys(now=noon)
    assert sent_of("size-back-in-store").count() == 1
    run = JourneyRun.objects.get(journey__key="size-back-in-store", customer=leila)
    assert run.exit_reason == "sold out at the store again"
    assert not told.filter(customer=mina).exists()


def test_with_the_broker_down_a_restock_waits_in_the_database_and_the_sweep_tells_her(
    town, broker_at, django_capture_on_commit_callbacks
):
    channels, _warehouse, tajrish, _vanak, shoes = town
    size_38 = shoes["38"]
    receive_stock(size_38, tajrish, 2)
    sara = shopper("sara@example.com", home=tajrish, channels=channels, variant=size_38)
    refresh_home_stores()
    left = size_38.stock_levels.get(location=tajrish).on_hand
    record_movement(
        variant_id=size_38.pk,
        location_id=tajrish.pk,
        quantity=-left,
        reason=MovementReason.SALE,
        source="pos",
        idempotency_key="sold-out",
    )
    PendingRestock.objects.all().delete()  # the setup's own receipts

    broker_at(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    with django_capture_on_commit_callbacks(execute=True):
        record_movement(
            variant_id=size_38.pk,
            location_id=tajrish.pk,
            quantity=3,
            reason=MovementReason.RECEIPT,
            source="pos",
            idempotency_key="delivery",
        )
    told = Event.objects.filter(name="size_back_in_store")
    assert not told.exists()  # the task was not published
    assert list(PendingRestock.objects.values_list("variant_id", "store_id")) == [
        (size_38.pk, tajrish.pk)
    ]

    broker_at(None)  # back: beat's sweep runs the same task without arguments
    assert tell_size_back_in_store.apply().get() == 1
    assert list(told.values_list("customer_id", flat=True)) == [sara.pk]
    assert not PendingRestock.objects.exists()
    assert tell_size_back_in_store.apply().get() == 0  # nothing twice
