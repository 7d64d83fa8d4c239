"""Factories for support's rows, shared by the tests and `seed_demo`."""

import factory
from django.utils import timezone

from core.factories import ChannelFactory
from customers.factories import CustomerFactory
from support.models import (
    BusinessHours,
    CannedReply,
    Conversation,
    Direction,
    Message,
    Review,
    SlaPolicy,
    Team,
    TeamMembership,
)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Team {n}")
    channel_kinds = factory.LazyFunction(list)


class TeamMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeamMembership

    team = factory.SubFactory(TeamFactory)
    user = factory.SubFactory("core.factories.StaffUserFactory", roles=["Support agent"])


class BusinessHoursFactory(factory.django.DjangoModelFactory):
    """Monday to Friday, 09:00-17:00, in Tehran unless told otherwise."""

    class Meta:
        model = BusinessHours

    team = factory.SubFactory(TeamFactory)
    time_zone = "Asia/Tehran"
    weekly = factory.LazyFunction(
        lambda: {str(day): [["09:00", "17:00"]] for day in (1, 2, 3, 4, 5)}
    )


class SlaPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SlaPolicy

    team = None
    priority = 2
    first_response_minutes = 60
    next_response_minutes = 120
    resolution_minutes = 8 * 60


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    customer = factory.SubFactory(CustomerFactory)
    subject = factory.Faker("sentence", nb_words=5)
    started_channel = factory.SubFactory(
        ChannelFactory, code="email", kind="email", provider="console"
    )
    last_inbound_channel = factory.SelfAttribute("started_channel")
    channels_used = factory.LazyAttribute(lambda o: [o.started_channel.kind])
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.SelfAttribute("created_at")
    last_message_at = factory.SelfAttribute("created_at")


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    conversation = factory.SubFactory(ConversationFactory)
    direction = Direction.INBOUND
    channel = factory.SelfAttribute("conversation.started_channel")
    text = factory.Faker("paragraph")
    created_at = factory.LazyFunction(timezone.now)


class CannedReplyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CannedReply

    title = factory.Sequence(lambda n: f"Reply {n}")
    shortcut = factory.Sequence(lambda n: f"reply-{n}")
    body = "Hello {first_name}, thank you for writing. {agent_name}"


class ReviewFactory(factory.django.DjangoModelFactory):
    """A review as the review page leaves it (pending); tests of the page itself go through
    the page (support.views_reviews)."""

    class Meta:
        model = Review

    customer = factory.SubFactory(CustomerFactory)
    order_number = factory.Sequence(lambda n: f"W-{900000 + n}")
    sku = factory.Sequence(lambda n: f"REVIEW-SKU-{n}")
    product_id = 1
    product_name = "Aria Runner"
    rating = 4
    text = factory.Sequence(lambda n: f"Review number {n}")
