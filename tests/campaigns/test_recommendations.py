"""Recommendations through the partner API (the shop, the app and the POS ask the same
door) and in message templates: co-purchases rank first, nothing out of stock, nothing she
bought and kept, never a variant she returned; errors name their field.

The pairs are computed by the beat task itself (campaigns.refresh_product_pairs) from
other customers' timelines built with the customers' event factory; her own purchases and
returns go through orders' services, as a real sale and return would."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.factories import MessageTemplateFactory
from campaigns.models import ProductPairScore
from campaigns.services.coupons import create_pool, issue_code
from campaigns.services.recommendations import (
    BOUGHT_WEIGHT,
    HALF_LIFE_DAYS,
    decay,
    refresh_after_purchases,
)
from campaigns.services.rendering import preview
from campaigns.services.template_context import message_context
from campaigns.tasks import refresh_product_pairs
from catalog.factories import ProductFactory, ProductVariantFactory, VariantListingFactory
from core.factories import ChannelFactory
from customers.factories import CustomerFactory, EventFactory
from customers.services import resolve_customer
from inventory.factories import WarehouseFactory, receive_stock
from orders.factories import placed_order
from orders.services import create_return, fulfil

URL = "/api/v1/customers/{}/recommendations"


@dataclass
class Shop:
    web: object
    warehouse: object
    products: dict  # name -> {size: variant}

    def sku(self, name, size):
        return self.products[name][size].sku


@pytest.fixture
def shop(db):
    web = ChannelFactory(code="web", name="Web shop", kind="web")
    ChannelFactory(code="email", name="Email", kind="email")
    warehouse = WarehouseFactory(code="wh-main", channels=[web])
    stock = {
        "Aria Runner": {"38": 5, "39": 5, "40": 5},
        "Trail Socks": {"S": 0, "M": 4},
        "Rain Jacket": {"M": 3},
        "Wool Cap": {"one": 0},  # out of stock in every size
        "Leather Belt": {"M": 2},
    }
    products = {}
    for name, sizes in stock.items():
        product = ProductFactory(name=name)
        products[name] = {}
        for position, (size, units) in enumerate(sizes.items()):
            variant = ProductVariantFactory(
                product=product,
                size=size,
                position=position,
                sku=f"{name.split()[0].upper()}-{size}",
            )
            VariantListingFactory(variant=variant, channel=web, amount=50)
            if units:
                receive_stock(variant, warehouse, units)
            products[name][size] = variant
    return Shop(web, warehouse, products)


@pytest.fixture
def sara(db):
    return resolve_customer(
        [{"kind": "email", "value": "sara@example.com"}],
        traits={"first_name": "Sara", "last_name": "Rahimi"},
    )


def others_bought(shop, *pairs, times=3):
    """`times` other customers each completed one order holding both SKUs of a pair."""
    for first, second in pairs:
        for _ in range(times):
            EventFactory(
                customer=CustomerFactory(),
                name="order_completed",
                properties={"order_id": "W-1", "products": [{"sku": first}, {"sku": second}]},
            )


def others_viewed(shop, *pairs, times=3):
    for first, second in pairs:
        for _ in range(times):
            customer = CustomerFactory()
            for sku in (first, second):
                EventFactory(customer=customer, name="product_viewed", properties={"sku": sku})


def she_viewed(customer, *skus):
    for sku in skus:
        EventFactory(customer=customer, name="product_viewed", properties={"sku": sku})


def refreshed():
    """The beat task, run as a worker would."""
    return refresh_product_pairs.apply().get()


def ask(client, customer, **params):
    return client.get(URL.format(customer.public_id), {"channel": "web", **params})


@pytest.fixture
def client(api_client_for):
    return api_client_for("customers:read")


def names(response):
    assert response.status_code == 200, response.content
    return [product["name"] for product in response.json()["products"]]


def test_co_purchased_products_rank_before_co_viewed_ones(shop, sara, client):
    others_bought(shop, (shop.sku("Aria Runner", "38"), shop.sku("Leather Belt", "M")))
    others_viewed(shop, (shop.sku("Aria Runner", "39"), shop.sku("Rain Jacket", "M")), times=4)
    she_viewed(sara, shop.sku("Aria Runner", "40"))
    assert refreshed() > 0

    response = ask(client, sara)
    assert names(response) == ["Leather Belt", "Rain Jacket"]
    first, second = response.json()["products"]
    assert first["reason"] == "bought_together" and second["reason"] == "viewed_together"
    assert first["because"] == shop.sku("Aria Runner", "40")
    # The figures of the documented method: three buyers bought both today (min of 1 and 1,
    # weighted 3), four viewers looked at both; her view of today weighs 1.
    assert first["score"] == pytest.approx(3 * BOUGHT_WEIGHT, rel=1e-3)
    assert second["score"] == pytest.approx(4, rel=1e-3)


def test_never_an_out_of_stock_size_nor_a_product_with_none_in_stock(shop, sara, client):
    others_bought(
        shop,
        (shop.sku("Rain Jacket", "M"), shop.sku("Trail Socks", "M")),
        (shop.sku("Rain Jacket", "M"), shop.sku("Wool Cap", "one")),
    )
    she_viewed(sara, shop.sku("Rain Jacket", "M"))
    refreshed()

    response = ask(client, sara)
    assert names(response) == ["Trail Socks"]
    socks = response.json()["products"][0]
    assert [size["sku"] for size in socks["sizes"]] == [shop.sku("Trail Socks", "M")]
    assert socks["sku"] == shop.sku("Trail Socks", "M") and socks["sizes"][0]["available"] == 4


def test_products_she_bought_are_not_recommended(shop, sara, client):
    others_bought(
        shop,
        (shop.sku("Aria Runner", "38"), shop.sku("Rain Jacket", "M")),
        (shop.sku("Aria Runner", "38"), shop.sku("Leather Belt", "M")),
    )
    placed_order(sara, shop.web, [(shop.sku("Rain Jacket", "M"), 1)])
    she_viewed(sara, shop.sku("Aria Runner", "39"))
    refreshed()

    # The jacket goes with the runner she looked at, but she has one.
    assert names(ask(client, sara)) == ["Aria Runner", "Leather Belt"]


def test_a_variant_returned_for_size_comes_back_only_in_other_sizes(shop, sara, client):
    others_bought(shop, (shop.sku("Aria Runner", "38"), shop.sku("Rain Jacket", "M")))
    order = placed_order(sara, shop.web, [(shop.sku("Aria Runner", "38"), 1)])
    fulfil(order)
    create_return(
        order,
        lines=[{"line_id": order.lines.get().pk, "reason": "size"}],
        channel="web",
        location=shop.warehouse,
        receive=True,
    )
    she_viewed(sara, shop.sku("Rain Jacket", "M"))
    refreshed()

    response = ask(client, sara)
    aria = next(p for p in response.json()["products"] if p["name"] == "Aria Runner")
    offered = [size["sku"] for size in aria["sizes"]]
    assert shop.sku("Aria Runner", "38") not in offered
    assert offered == [shop.sku("Aria Runner", "39"), shop.sku("Aria Runner", "40")]


def test_a_product_returned_for_changing_her_mind_is_not_offered_again(shop, sara, client):
    others_bought(shop, (shop.sku("Aria Runner", "38"), shop.sku("Rain Jacket", "M")))
    order = placed_order(sara, shop.web, [(shop.sku("Aria Runner", "38"), 1)])
    fulfil(order)
    create_return(
        order,
        lines=[{"line_id": order.lines.get().pk, "reason": "changed_mind"}],
        channel="web",
        location=shop.warehouse,
        receive=True,
    )
    she_viewed(sara, shop.sku("Rain Jacket", "M"))
    refreshed()

    assert "Aria Runner" not in names(ask(client, sara))


def test_her_usual_size_is_shown_first(shop, sara, client):
    others_bought(shop, (shop.sku("Leather Belt", "M"), shop.sku("Aria Runner", "38")))
    placed_order(sara, shop.web, [(shop.sku("Leather Belt", "M"), 1)])
    other = ProductFactory(name="Old Runner")
    old = ProductVariantFactory(product=other, size="39", sku="OLD-39")
    VariantListingFactory(variant=old, channel=shop.web, amount=40)
    receive_stock(old, shop.warehouse, 1)
    placed_order(sara, shop.web, [("OLD-39", 1)])
    refreshed()

    aria = ask(client, sara).json()["products"][0]
    assert aria["name"] == "Aria Runner"
    assert aria["size"] == "39" and aria["sizes"][0]["size"] == "39"


def test_the_context_product_leads_and_is_left_out(shop, sara, client):
    others_bought(shop, (shop.sku("Wool Cap", "one"), shop.sku("Leather Belt", "M")))
    others_bought(shop, (shop.sku("Aria Runner", "38"), shop.sku("Rain Jacket", "M")))
    she_viewed(sara, shop.sku("Wool Cap", "one"))
    refreshed()

    response = ask(client, sara, context=f"product:{shop.sku('Aria Runner', '39')}")
    assert names(response)[0] == "Rain Jacket"
    assert "Aria Runner" not in names(response)
    assert response.json()["context"] == f"product:{shop.sku('Aria Runner', '39')}"


def test_her_coupon_is_the_offer(shop, sara, client):
    pool = create_pool(
        name="Comeback",
        code_kind="unique",
        prefix="BACK",
        discount_kind="percentage",
        discount_value=Decimal("15"),
        valid_until=timezone.now() + timedelta(days=10),
    )
    code = issue_code(pool, sara)
    offer = ask(client, sara).json()["offer"]
    assert offer["kind"] == "coupon" and offer["code"] == code.code
    assert offer["discount"] == "15%"


def test_no_offer_without_a_coupon(shop, sara, client):
    assert ask(client, sara).json()["offer"] is None


def test_unknown_customer_is_404(shop, client):
    response = client.get(URL.format("00000000-0000-4000-8000-000000000000"), {"channel": "web"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "params, field",
    [
        ({"channel": "nowhere"}, "channel"),
        ({"channel": ""}, "channel"),
        ({"context": "wishlist"}, "context"),
        ({"context": "product:NO-SUCH-SKU"}, "context"),
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
    ],
)
def test_bad_channel_context_or_limit_is_400_naming_the_field(shop, sara, client, params, field):
    response = ask(client, sara, **params)
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == [field]


def test_needs_customers_read(shop, sara, api_client_for):
    assert ask(api_client_for("catalog:read"), sara).status_code == 403


def test_one_request_is_a_few_queries(shop, sara, client, django_assert_max_num_queries):
    others_bought(shop, (shop.sku("Aria Runner", "38"), shop.sku("Leather Belt", "M")))
    she_viewed(sara, shop.sku("Aria Runner", "40"))
    refreshed()
    with django_assert_max_num_queries(14):
        assert names(ask(client, sara)) == ["Leather Belt"]


def test_templates_read_the_same_list_as_plain_values(shop, sara):
    others_bought(shop, (shop.sku("Aria Runner", "38"), shop.sku("Leather Belt", "M")))
    she_viewed(sara, shop.sku("Aria Runner", "40"))
    refreshed()

    values = message_context(sara)["recommendations"]()
    assert values == [
        {
            "sku": shop.sku("Leather Belt", "M"),
            "name": "Leather Belt",
            "size": "M",
            "colour": "black",
            "price": "50.00",
            "currency": "USD",
            "reason": "bought_together",
        }
    ]
    template = MessageTemplateFactory(
        text="{% for p in recommendations %}{{ p.name }} ({{ p.size }}){% endfor %}"
    )
    assert preview(template, sara)["text"] == "Leather Belt (M)"


def test_a_purchase_refreshes_the_pairs(shop, sara):
    assert refresh_after_purchases() is None  # nothing bought yet
    others_bought(shop, (shop.sku("Aria Runner", "38"), shop.sku("Leather Belt", "M")))
    placed_order(sara, shop.web, [(shop.sku("Aria Runner", "39"), 1)])
    assert refresh_after_purchases() > 0
    assert ProductPairScore.objects.filter(
        product=shop.products["Aria Runner"]["38"].product,
        other=shop.products["Leather Belt"]["M"].product,
    ).exists()
    assert refresh_after_purchases() is None  # the same orders again: nothing new


def test_recency_halves_a_signal_every_half_life():
    now = timezone.now()
    assert decay(now, now) == 1
    assert decay(now - timedelta(days=HALF_LIFE_DAYS), now) == pytest.approx(0.5)
