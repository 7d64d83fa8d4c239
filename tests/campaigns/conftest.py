"""Campaigns fixtures: messaging and selling channels, and a helper for known customers."""

import pytest

from core.factories import ChannelFactory
from core.models import ChannelKind
from customers.factories import ConsentFactory, CustomerFactory, IdentityFactory


@pytest.fixture
def channels(db):
    def make(code, kind, **extra):
        return ChannelFactory(code=code, name=code.title(), kind=kind, **extra)

    return {
        "web": make("web", ChannelKind.WEB),
        "app": make("app", ChannelKind.MOBILE_APP),
        "store": make("store", ChannelKind.STORE),
        "email": make("email", ChannelKind.EMAIL, provider="smtp"),
        "sms": make("sms", ChannelKind.SMS, provider="console"),
        "whatsapp": make("whatsapp", ChannelKind.WHATSAPP, provider="console"),
        "messenger": make("messenger", ChannelKind.MESSENGER, provider="console"),
        "telegram": make("telegram", ChannelKind.TELEGRAM, provider="console"),
    }


@pytest.fixture
def person(db):
    """`person("sara@example.com", phone="+989121234567", consent=["email"])`."""

    def make(email=None, *, phone=None, consent=(), locale="", traits=None, **fields):
        customer = CustomerFactory(locale=locale, traits=traits or {}, **fields)
        if email:
            IdentityFactory(customer=customer, kind="email", value=email)
        if phone:
            IdentityFactory(customer=customer, kind="phone", value=phone)
        for kind in consent:
            ConsentFactory(customer=customer, channel_kind=kind, purpose="marketing")
        return customer

    return make
