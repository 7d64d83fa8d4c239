"""Orders: placing an order through the partner API (customer resolved, prices read, stock
reserved, coupon-free, timeline and outbox written), the order list through the API with 2,000
orders in the table, and the abandoned-cart sweep over 2,000 quiet carts.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/omni_bench .venv/bin/python bench/orders.py

Targets: creating an order under 150 ms at the median (a checkout must not wait), reading a
page of 50 orders under 100 ms, sweeping 2,000 quiet carts under 20 s (the beat runs every 5
minutes).
"""

import datetime as dt
import time

from _harness import median_ms, report, throwaway_database, timed

ORDERS_BUILT = 2000
CREATES = 40
LIST_REPEAT = 30
CARTS = 2000


def build():
    from catalog.factories import ProductFactory, ProductVariantFactory, VariantListingFactory
    from core.factories import ChannelFactory
    from inventory.factories import WarehouseFactory, receive_stock

    web = ChannelFactory(code="web", kind="web")
    warehouse = WarehouseFactory(code="wh-bench", channels=[web])
    product = ProductFactory(name="Bench shoe")
    variants = []
    for n in range(10):
        variant = ProductVariantFactory(product=product, sku=f"BENCH-{n}")
        VariantListingFactory(variant=variant, channel=web, amount=100)
        receive_stock(variant, warehouse, 100000)
        variants.append(variant)
    return web, variants


def fill_orders(web, variants):
    """The table the list reads: rows written in bulk (the list's cost does not depend on how
    the rows were made)."""
    from customers.factories import CustomerFactory
    from orders.models import Order, OrderLine

    customers = CustomerFactory.create_batch(200)
    price = variants[0].listings.first().price
    orders = Order.objects.bulk_create(
        [
            Order(
                customer=customers[n % 200],
                channel=web,
                number=f"B-{n}",
                subtotal=price,
                discount=price * 0,
                shipping=price * 0,
                total=price,
                refunded=price * 0,
            )
            for n in range(ORDERS_BUILT)
        ],
        batch_size=1000,
    )
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                variant=variants[k],
                sku=variants[k].sku,
                product_name="Bench shoe",
                quantity=1,
                unit_price=price,
                line_total=price,
                fulfilment_method="ship",
                channel=web,
            )
            for order in orders
            for k in (0, 1)
        ],
        batch_size=2000,
    )


def create_orders(client, variants):
    counter = iter(range(10**9))

    def one():
        n = next(counter)
        response = client.post(
            "/api/v1/orders/",
            {
                "external_id": f"bench-{n}",
                "channel": "web",
                "customer": {
                    "identities": [{"kind": "email", "value": f"buyer{n % 500}@example.com"}]
                },
                "lines": [
                    {"sku": variants[n % 10].sku, "quantity": 1},
                    {"sku": variants[(n + 3) % 10].sku, "quantity": 2},
                ],
                "shipping": {"name": "Bench", "address": "1 Street"},
            },
            content_type="application/json",
        )
        assert response.status_code == 201, response.content

    one()
    samples = timed(one, CREATES)
    return samples, one


def main():
    with throwaway_database() as connection:
        from django.test import Client
        from django.utils import timezone

        from core.services.api_keys import create_api_key
        from orders.models import Cart, CartLine
        from orders.services import detect_abandoned_carts

        web, variants = build()
        _key, raw = create_api_key("bench", ["orders:write", "customers:write"])
        client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
        print(f"database: {connection.vendor}")

        created, _one = create_orders(client, variants)
        start = time.perf_counter()
        fill_orders(web, variants)
        print(
            f"     {ORDERS_BUILT} orders in the table (bulk-built in {time.perf_counter() - start:.1f}s)"
        )

        def list_page():
            response = client.get("/api/v1/orders/?page_size=50")
            assert response.status_code == 200 and len(response.json()["results"]) == 50

        list_page()
        listed = timed(list_page, LIST_REPEAT)

        from customers.factories import CustomerFactory

        customers = CustomerFactory.create_batch(CARTS)
        old = timezone.now() - dt.timedelta(hours=3)
        carts = Cart.objects.bulk_create(
            [
                Cart(
                    customer=c, channel=web, last_channel=web, created_at=old, last_activity_at=old
                )
                for c in customers
            ]
        )
        CartLine.objects.bulk_create(
            [
                CartLine(
                    cart=cart,
                    variant=variants[0],
                    quantity=1,
                    unit_price=variants[0].listings.first().price,
                    channel=web,
                )
                for cart in carts
            ]
        )
        start = time.perf_counter()
        swept = detect_abandoned_carts(limit=CARTS)
        sweep = time.perf_counter() - start
        assert swept["abandoned"] == CARTS, swept

        results = [
            report(
                "create an order, POST /api/v1/orders/ (2 lines), median",
                median_ms(created),
                "ms",
                150,
            ),
            report(
                "orders created per second (one client)",
                1 / (sum(created) / len(created)),
                "/s",
                7,
                lower_is_better=False,
            ),
            report(
                f"page of 50 orders, GET /api/v1/orders/ ({ORDERS_BUILT} orders), median",
                median_ms(listed),
                "ms",
                100,
            ),
            report(f"abandoned-cart sweep, {CARTS} quiet carts", sweep, "s", 20),
        ]
        print("all targets met" if all(results) else "some targets missed")
        return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
