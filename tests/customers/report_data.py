"""Small, hand-countable data for the report tests: sale orders placed at a given moment in a
given channel (and store), and timeline events, built straight from the models so a test
places a purchase exactly where the window's edge is."""

from decimal import Decimal
from itertools import count

from djmoney.money import Money

from customers.factories import EventFactory
from orders.models import Order, OrderLine

_numbers = count(1)


def sale(customer, channel, placed_at, lines, *, total="10.00", currency="USD", store=None):
    """`lines`: [(variant, quantity)]."""
    order = Order.objects.create(
        number=f"T-{next(_numbers):06d}",
        customer=customer,
        channel=channel,
        currency=currency,
        total=Money(Decimal(total), currency),
        subtotal=Money(Decimal(total), currency),
        discount=Money(0, currency),
        shipping=Money(0, currency),
        refunded=Money(0, currency),
        store=store,
        placed_at=placed_at,
        status="completed",
    )
    for variant, quantity in lines:
        OrderLine.objects.create(
            order=order,
            variant=variant,
            sku=variant.sku,
            product_name=variant.product.name,
            quantity=quantity,
            unit_price=Money(0, currency),
            line_total=Money(0, currency),
            channel=channel,
        )
    return order


def touch(customer, channel, occurred_at, name="page_viewed", **properties):
    return EventFactory(
        customer=customer,
        channel=channel,
        name=name,
        occurred_at=occurred_at,
        properties=properties,
    )
