"""The orders partner API: idempotent creation, errors naming the field, scopes, filters,
status moves and edits through the door, returns at a store for a web order."""

import pytest

from catalog.factories import VariantListingFactory
from core.factories import ChannelFactory
from customers.models import Customer, Event
from customers.services import recompute_lifetime_figures
from inventory.factories import WarehouseFactory, receive_stock
from inventory.models import StockMovement
from orders.factories import placed_order
from orders.models import Order
from tests.orders.conftest import level
from tests.query_counts import assert_queries_do_not_grow

ADDRESS = {"name": "Ali", "address": "1 Street", "city": "Tehran", "country": "IR"}


def order_body(shop, **changes):
    body = {
        "channel": "web",
        "customer": {"identities": [{"kind": "email", "value": "ali@example.com"}]},
        "lines": [{"sku": shop.sku("black"), "quantity": 1}],
        "shipping": ADDRESS,
    }
    body.update(changes)
    return body


@pytest.fixture
def client(api_client_for):
    return api_client_for("orders:write", "customers:write")


def test_same_external_id_gives_the_same_order_once(shop, client):
    first = client.post("/api/v1/orders/", order_body(shop, external_id="mp-1"), format="json")
    again = client.post("/api/v1/orders/", order_body(shop, external_id="mp-1"), format="json")
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["number"] == again.json()["number"]
    assert Order.objects.count() == 1
    assert level(shop.variant("black"), shop.warehouse) == (10, 1)
    assert Event.objects.filter(name="order_completed").count() == 1


def test_idempotency_key_replays_the_answer(shop, client):
    headers = {"HTTP_IDEMPOTENCY_KEY": "key-42"}
    first = client.post("/api/v1/orders/", order_body(shop), format="json", **headers)
    again = client.post("/api/v1/orders/", order_body(shop), format="json", **headers)
    assert first.status_code == 201
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["number"] == first.json()["number"]
    assert Order.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"lines": [{"sku": "NOPE", "quantity": 1}]}, "lines.0.sku", "unknown_variant"),
        ({"lines": [{"sku": "X", "quantity": 0}]}, "lines.0.quantity", "invalid"),
        ({"lines": []}, "lines", "invalid"),
        ({"shipping": {}}, "shipping.address", "order_error"),
        ({"colour": "red"}, "colour", "invalid"),
        ({"channel": "nowhere"}, "channel", "unknown_channel"),
        ({"fulfilment_method": "pickup_in_store"}, "lines.0.store", "order_error"),
        ({"store": "no-such-store", "fulfilment_method": "in_store"}, "store", "unknown_location"),
        (
            {"customer": {"identities": [{"kind": "email", "value": "not-an-email"}]}},
            None,
            "invalid",
        ),
        ({"coupon_code": "ANY"}, "coupon_code", "coupon_refused"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field(shop, client, change, field, code, no_coupon_handler):
    answer = client.post("/api/v1/orders/", order_body(shop, **change), format="json")
    assert 400 <= answer.status_code < 500, answer.content
    error = answer.json()["error"]
    assert error["code"] == code, error
    if field:
        assert field in error["fields"], error
    assert Order.objects.count() == 0


def test_not_enough_stock_is_a_409_and_nothing_is_kept(shop, client):
    answer = client.post(
        "/api/v1/orders/",
        order_body(
            shop,
            lines=[
                {"sku": shop.sku("black"), "quantity": 1},
                {"sku": shop.sku("red"), "quantity": 11},
            ],
        ),
        format="json",
    )
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "insufficient_stock"
    assert Order.objects.count() == 0
    assert level(shop.variant("black"), shop.warehouse) == (10, 0)


def test_scopes(shop, api_client_for):
    reader = api_client_for("orders:read")
    assert reader.get("/api/v1/orders/").status_code == 200
    answer = reader.post("/api/v1/orders/", order_body(shop), format="json")
    assert answer.status_code == 403 and "orders:write" in answer.json()["error"]["message"]
    assert api_client_for("catalog:read").get("/api/v1/orders/").status_code == 403


def test_status_updates_follow_the_state_machine(shop, client):
    number = client.post("/api/v1/orders/", order_body(shop), format="json").json()["number"]
    answer = client.post(f"/api/v1/orders/{number}/status", {"status": "completed"}, format="json")
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["code"] == "illegal_transition"
    assert "from placed to completed" in error["message"] and "status" in error["fields"]
    assert (
        client.post(
            f"/api/v1/orders/{number}/status", {"status": "confirmed"}, format="json"
        ).json()["status"]
        == "confirmed"
    )
    assert (
        client.post(
            f"/api/v1/orders/{number}/status",
            {"status": "cancelled", "note": "fraud"},
            format="json",
        ).json()["status"]
        == "cancelled"
    )
    assert level(shop.variant("black"), shop.warehouse) == (10, 0)
    assert client.get("/api/v1/orders/W-1").status_code == 404


def test_phone_edit_through_the_api(shop, client):
    order = client.post("/api/v1/orders/", order_body(shop), format="json").json()
    number = order["number"]
    answer = client.post(
        f"/api/v1/orders/{number}/lines",
        {"sku": shop.sku("red"), "quantity": 1, "channel": "phone"},
        format="json",
    )
    assert answer.status_code == 201 and answer.json()["total"] == "240.00"
    red_line = [line for line in answer.json()["lines"] if line["sku"] == shop.sku("red")][0]
    answer = client.patch(
        f"/api/v1/orders/{number}/lines/{red_line['id']}",
        {"sku": shop.sku("white"), "channel": "phone"},
        format="json",
    )
    assert answer.status_code == 200
    assert level(shop.variant("red"), shop.warehouse) == (10, 0)
    assert level(shop.variant("white"), shop.warehouse) == (10, 1)
    white_line = [line for line in answer.json()["lines"] if line["sku"] == shop.sku("white")][0]
    answer = client.delete(f"/api/v1/orders/{number}/lines/{white_line['id']}?channel=phone")
    assert answer.status_code == 200 and answer.json()["total"] == "120.00"
    assert level(shop.variant("white"), shop.warehouse) == (10, 0)


def test_phone_edits_move_the_customers_lifetime_spend_with_the_order_total(shop, client):
    order = client.post("/api/v1/orders/", order_body(shop), format="json").json()
    number, currency = order["number"], order["currency"]
    customer = Customer.objects.get(identities__value="ali@example.com")
    assert customer.lifetime_spend == {currency: "120.00"}

    client.post(
        f"/api/v1/orders/{number}/lines",
        {"sku": shop.sku("red"), "quantity": 2, "channel": "phone"},
        format="json",
    )
    customer.refresh_from_db()
    assert customer.lifetime_spend == {currency: "360.00"}

    lines = client.get(f"/api/v1/orders/{number}").json()["lines"]
    red = next(line for line in lines if line["sku"] == shop.sku("red"))
    client.delete(f"/api/v1/orders/{number}/lines/{red['id']}?channel=phone")
    customer.refresh_from_db()
    assert customer.lifetime_spend == {currency: "120.00"}
    assert customer.orders_count == 1
    rebuilt = recompute_lifetime_figures(Customer.objects.get(pk=customer.pk), save=False)
    assert rebuilt.lifetime_spend == customer.lifetime_spend


def test_list_filters_and_query_count(shop, client, customer):
    client.post("/api/v1/orders/", order_body(shop), format="json")
    client.post(
        "/api/v1/orders/",
        order_body(
            shop,
            channel="store",
            fulfilment_method="in_store",
            store="store-tajrish",
            lines=[
                {"sku": shop.sku("red"), "quantity": 1},
                {"sku": shop.sku("white"), "quantity": 1},
            ],
        ),
        format="json",
    )
    client.post(
        "/api/v1/orders/",
        order_body(
            shop,
            lines=[
                {
                    "sku": shop.sku("red"),
                    "quantity": 1,
                    "fulfilment_method": "pickup_in_store",
                    "store": "store-vanak",
                }
            ],
        ),
        format="json",
    )
    answer = client.get("/api/v1/orders/")
    assert answer.json()["count"] == 3
    assert [
        o["channel"] for o in client.get("/api/v1/orders/?channel=store").json()["results"]
    ] == ["store"]

    def add_orders(n):
        for index in range(n):
            colour = ("black", "white", "red")[index % 3]
            placed_order(customer, shop.channels["web"], [(shop.sku(colour, "39"), 1)])

    def order_list():
        assert client.get("/api/v1/orders/").status_code == 200

    assert_queries_do_not_grow(add_orders, order_list, at_most=12)
    assert client.get("/api/v1/orders/?status=fulfilled").json()["count"] == 1
    assert client.get("/api/v1/orders/?method=pickup_in_store").json()["count"] == 1
    assert client.get("/api/v1/orders/?store=store-vanak").json()["count"] == 1
    assert client.get("/api/v1/orders/?store=store-tajrish").json()["count"] == 1
    assert client.get("/api/v1/orders/?status=bogus").status_code == 400


def test_return_at_a_store_for_a_web_order_refunds_and_restocks(shop, client):
    number = client.post(
        "/api/v1/orders/", order_body(shop, payment_status="paid"), format="json"
    ).json()["number"]
    early = client.post(
        "/api/v1/returns/",
        {
            "order": number,
            "channel": "store",
            "location": "store-vanak",
            "receive": True,
            "lines": [{"sku": shop.sku("black"), "quantity": 1, "reason": "size"}],
        },
        format="json",
    )
    assert early.status_code == 409 and early.json()["error"]["code"] == "return_refused"
    client.post(f"/api/v1/orders/{number}/fulfilments", {}, format="json")
    answer = client.post(
        "/api/v1/returns/",
        {
            "order": number,
            "channel": "store",
            "location": "store-vanak",
            "receive": True,
            "lines": [{"sku": shop.sku("black"), "quantity": 1, "reason": "size"}],
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["status"] == "received" and body["location"] == "store-vanak"
    assert body["refund_amount"] == "120.00" and body["lines"][0]["restock"] is True
    assert level(shop.variant("black"), shop.store2) == (3, 0)
    order = client.get(f"/api/v1/orders/{number}").json()
    assert order["refunded"] == "120.00" and order["payment_status"] == "refunded"
    refund = Event.objects.get(name="order_refunded")
    assert refund.channel.code == "store"
    assert refund.properties == {"order_id": number, "total": "120.00", "currency": "USD"}
    # Nothing left to return.
    again = client.post(
        "/api/v1/returns/",
        {
            "order": number,
            "channel": "store",
            "lines": [{"sku": shop.sku("black"), "quantity": 1, "reason": "size"}],
        },
        format="json",
    )
    assert again.status_code == 409 and "lines.0.quantity" in again.json()["error"]["fields"]


def test_defective_return_goes_to_the_damaged_state(shop, client):
    number = client.post("/api/v1/orders/", order_body(shop), format="json").json()["number"]
    client.post(f"/api/v1/orders/{number}/fulfilments", {}, format="json")
    answer = client.post(
        "/api/v1/returns/",
        {
            "order": number,
            "channel": "web",
            "lines": [{"sku": shop.sku("black"), "quantity": 1, "reason": "defect"}],
        },
        format="json",
    )
    assert answer.json()["status"] == "requested"
    ret = answer.json()["number"]
    answer = client.post(f"/api/v1/returns/{ret}/receive", {"location": "wh-main"}, format="json")
    assert answer.status_code == 200 and answer.json()["lines"][0]["restock"] is False
    assert level(shop.variant("black"), shop.warehouse) == (9, 0)  # came back, not sellable
    reasons = sorted(StockMovement.objects.filter(reference=ret).values_list("reason", "quantity"))
    assert reasons == [("damage", -1), ("return", 1)]
    again = client.post(f"/api/v1/returns/{ret}/receive", {"location": "wh-main"}, format="json")
    assert again.status_code == 409


def test_carts_api_read_write(shop, client):
    cart = client.post(
        "/api/v1/carts/",
        {"identities": [{"kind": "cookie", "value": "abc"}], "channel": "web"},
        format="json",
    ).json()
    answer = client.post(
        f"/api/v1/carts/{cart['id']}/lines", {"sku": shop.sku("red"), "quantity": 2}, format="json"
    )
    assert answer.json()["total"] == "240.00" and answer.json()["lines"][0]["channel"] == "web"
    found = client.get("/api/v1/carts/?identity=cookie:abc").json()
    assert [c["id"] for c in found["results"]] == [cart["id"]]
    bad = client.post(
        f"/api/v1/carts/{cart['id']}/lines", {"sku": "NOPE", "quantity": 1}, format="json"
    )
    assert bad.status_code == 400 and "sku" in bad.json()["error"]["fields"]


def test_exchange_across_currencies_is_refused(shop, client):
    market = ChannelFactory(code="marketplace", kind="marketplace", currency="IRR")
    WarehouseFactory(code="wh-market", channels=[market])
    receive_stock(shop.variant("black"), market.stock_locations.get(), 5)
    VariantListingFactory(variant=shop.variant("black"), channel=market, amount=5000000)
    number = client.post(
        "/api/v1/orders/", order_body(shop, channel="marketplace"), format="json"
    ).json()["number"]
    client.post(f"/api/v1/orders/{number}/fulfilments", {}, format="json")
    answer = client.post(
        "/api/v1/returns/exchanges",
        {
            "order": number,
            "channel": "store",
            "location": "store-tajrish",
            "return_lines": [{"sku": shop.sku("black"), "quantity": 1, "reason": "size"}],
            "new_lines": [{"sku": shop.sku("black", "39"), "quantity": 1}],
        },
        format="json",
    )
    assert answer.status_code == 409, answer.json()
    assert (
        answer.json()["error"]["code"] == "return_refused"
        and "channel" in answer.json()["error"]["fields"]
    )
    assert Order.objects.count() == 1
