"""Factories for orders' rows, shared by the tests and `seed_demo`.

Orders themselves are made through `place_order` (`placed_order` below), so that stock is
reserved and the timeline written exactly as in production."""

import factory
from django.utils import timezone

from core.factories import ChannelFactory
from customers.factories import CustomerFactory
from orders.models import Cart, CartLine, CartStatus
from orders.services import place_order


class CartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cart

    customer = factory.SubFactory(CustomerFactory)
    channel = factory.SubFactory(ChannelFactory, code="web")
    last_channel = factory.LazyAttribute(lambda o: o.channel)
    status = CartStatus.ACTIVE
    currency = factory.LazyAttribute(lambda o: o.channel.currency)
    created_at = factory.LazyFunction(timezone.now)
    last_activity_at = factory.LazyAttribute(lambda o: o.created_at)


class CartLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CartLine

    cart = factory.SubFactory(CartFactory)
    variant = factory.SubFactory("catalog.factories.ProductVariantFactory")
    quantity = 1
    channel = factory.LazyAttribute(lambda o: o.cart.channel)
    unit_price = factory.LazyAttribute(lambda o: __import__("moneyed").Money(100, o.cart.currency))


DEFAULT_ADDRESS = {
    "name": "Sara Rahimi",
    "phone": "+989121234567",
    "address": "12 Vali-Asr Ave",
    "city": "Tehran",
    "postcode": "1415",
    "country": "IR",
}


def placed_order(customer, channel, lines, **options):
    """An order placed through the service: `lines` as [(sku, quantity), ...] or dicts."""
    items = [
        line if isinstance(line, dict) else {"sku": line[0], "quantity": line[1]} for line in lines
    ]
    options.setdefault("shipping", DEFAULT_ADDRESS)
    return place_order(customer=customer, channel=channel, lines=items, **options).order
