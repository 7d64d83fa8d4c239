"""Factories for campaigns' rows, shared by the tests and `seed_demo`."""

from decimal import Decimal

import factory
from django.utils import timezone

from campaigns.models import (
    Campaign,
    CampaignMessage,
    CampaignVariant,
    CodeKind,
    CouponCode,
    CouponPool,
    DiscountKind,
    MessageTemplate,
    Segment,
)
from customers.factories import CustomerFactory


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment

    name = factory.Sequence(lambda n: f"Segment {n}")
    rules = factory.LazyFunction(dict)


class MessageTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MessageTemplate

    name = factory.Sequence(lambda n: f"template-{n}")
    channel_kind = "email"
    subject = "Hello {{ first_name }}"
    text = "Hello {{ first_name }}, new shoes are in."
    html = '<p>Hello {{ first_name }}, <a href="https://shop.example.com/shoes">see them</a>.</p>'


class CouponPoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CouponPool
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Pool {n}")
    code_kind = CodeKind.SHARED
    prefix = factory.Sequence(lambda n: f"SAVE{n}")
    discount_kind = DiscountKind.PERCENTAGE
    discount_value = Decimal("10")
    max_uses_per_customer = 1

    @factory.post_generation
    def shared_code(self, create, extracted, **kwargs):
        if create and self.code_kind == CodeKind.SHARED:
            CouponCode.objects.get_or_create(pool=self, code=self.prefix)


class CouponCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CouponCode

    pool = factory.SubFactory(CouponPoolFactory, code_kind=CodeKind.UNIQUE)
    code = factory.Sequence(lambda n: f"CODE-{n:06d}")


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Campaign {n}")
    segment = factory.SubFactory(SegmentFactory)
    channel = None
    purpose = "marketing"

    @factory.post_generation
    def templates(self, create, extracted, **kwargs):
        """`CampaignFactory(templates=[t1, t2])` makes variants A, B; default one variant."""
        if not create:
            return
        if extracted is None:
            extracted = [MessageTemplateFactory()]
        for index, template in enumerate(extracted):
            CampaignVariant.objects.create(campaign=self, name=chr(65 + index), template=template)


class CampaignMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CampaignMessage

    campaign = factory.SubFactory(CampaignFactory)
    customer = factory.SubFactory(CustomerFactory)
    purpose = "marketing"
    status = "sent"
    idempotency_key = factory.Sequence(lambda n: f"factory-message-{n}")
    sent_at = factory.LazyFunction(timezone.now)
    claimed_at = factory.LazyFunction(timezone.now)
