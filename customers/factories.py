"""Factories for customers' rows, shared by the tests and `seed_demo`."""

import factory
from django.utils import timezone

from customers.models import (
    Consent,
    ConsentPurpose,
    ConsentStatus,
    Customer,
    Event,
    Identity,
    IdentityKind,
    MergeCandidate,
)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    is_anonymous = False
    created_at = factory.LazyFunction(timezone.now)
    first_seen_at = factory.LazyAttribute(lambda o: o.created_at)
    last_seen_at = factory.LazyAttribute(lambda o: o.created_at)


class AnonymousCustomerFactory(CustomerFactory):
    first_name = ""
    last_name = ""
    is_anonymous = True


class IdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Identity

    customer = factory.SubFactory(CustomerFactory)
    kind = IdentityKind.EMAIL
    value = factory.Sequence(lambda n: f"person{n}@example.com")
    is_verified = False


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    customer = factory.SubFactory(CustomerFactory)
    name = "page_viewed"
    channel = None
    occurred_at = factory.LazyFunction(timezone.now)
    received_at = factory.LazyFunction(timezone.now)
    properties = factory.LazyFunction(dict)
    source = "factory"
    message_id = factory.Sequence(lambda n: f"factory-{n}")


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consent

    customer = factory.SubFactory(CustomerFactory)
    channel_kind = "email"
    purpose = ConsentPurpose.MARKETING
    status = ConsentStatus.GRANTED
    source = "factory"


class MergeCandidateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MergeCandidate

    customer = factory.SubFactory(CustomerFactory)
    other = factory.SubFactory(CustomerFactory)
    reason = "both hold verified email"


def customer_with(*identities, **fields):
    """`customer_with(("email", "a@b.c", True), ("cookie", "c-1"))`: a known customer (or an
    anonymous one if every identity is a cookie/device) holding these normalised identities."""
    anonymous = all(kind in ("cookie", "device") for kind, *_rest in identities)
    factory_class = AnonymousCustomerFactory if anonymous else CustomerFactory
    customer = factory_class(**fields)
    for kind, value, *rest in identities:
        IdentityFactory(
            customer=customer, kind=kind, value=value, is_verified=bool(rest and rest[0])
        )
    return customer
