"""Factories for core's rows, shared by the tests and `seed_demo`."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from core.models import Channel, ChannelKind
from core.services.api_keys import create_api_key


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel
        django_get_or_create = ["code"]

    kind = ChannelKind.WEB
    code = factory.Sequence(lambda n: f"channel-{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("-", " ").title())
    sells = factory.LazyAttribute(
        lambda o: (
            o.kind
            in {
                ChannelKind.WEB,
                ChannelKind.MOBILE_APP,
                ChannelKind.STORE,
                ChannelKind.PHONE,
                ChannelKind.MARKETPLACE,
                ChannelKind.INSTAGRAM,
                ChannelKind.PRINT_CATALOG,
            }
        )
    )
    messages = factory.LazyAttribute(
        lambda o: (
            o.kind
            in {
                ChannelKind.EMAIL,
                ChannelKind.SMS,
                ChannelKind.WHATSAPP,
                ChannelKind.TELEGRAM,
                ChannelKind.INSTAGRAM,
                ChannelKind.MESSENGER,
                ChannelKind.PHONE,
            }
        )
    )
    currency = "USD"


class StaffUserFactory(factory.django.DjangoModelFactory):
    """A staff user; pass `roles=["Support agent"]` to put them in role groups."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    is_staff = True
    password = factory.django.Password("demo-pass-123")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.set(Group.objects.filter(name__in=extracted))


def api_key_with(scopes, name="test partner", **options):
    """Create a key through the real service; returns `(api_key, raw_key)`."""
    return create_api_key(name, scopes, **options)


# The demo's channel set: what a Tehran/Baku/Dubai retailer runs.
DEMO_CHANNELS = [
    ("web", "Web shop", ChannelKind.WEB, "USD"),
    ("app", "Mobile app", ChannelKind.MOBILE_APP, "USD"),
    ("store", "Stores", ChannelKind.STORE, "USD"),
    ("phone", "Call centre", ChannelKind.PHONE, "USD"),
    ("email", "Email", ChannelKind.EMAIL, "USD"),
    ("sms", "SMS", ChannelKind.SMS, "USD"),
    ("whatsapp", "WhatsApp", ChannelKind.WHATSAPP, "USD"),
    ("telegram", "Telegram", ChannelKind.TELEGRAM, "USD"),
    ("instagram", "Instagram shop", ChannelKind.INSTAGRAM, "USD"),
    ("messenger", "Messenger", ChannelKind.MESSENGER, "USD"),
    ("catalogue", "Printed catalogue", ChannelKind.PRINT_CATALOG, "USD"),
    ("marketplace", "Digikala marketplace", ChannelKind.MARKETPLACE, "IRR"),
    ("web-az", "Web shop Azerbaijan", ChannelKind.WEB, "AZN"),
    ("ads", "Ads (search and social)", ChannelKind.ADS, "USD"),
]

# Each demo channel's name in the other shipped languages (Channel.names).
DEMO_CHANNEL_NAMES = {
    "web": {"fa": "فروشگاه اینترنتی", "ar": "المتجر الإلكتروني", "az": "İnternet mağazası", "be": "Інтэрнэт-крама"},
    "app": {"fa": "اپلیکیشن موبایل", "ar": "تطبيق الجوال", "az": "Mobil tətbiq", "be": "Мабільная праграма"},
    "store": {"fa": "فروشگاه‌های حضوری", "ar": "المتاجر", "az": "Mağazalar", "be": "Крамы"},
    "phone": {"fa": "مرکز تماس", "ar": "مركز الاتصال", "az": "Zəng mərkəzi", "be": "Кол-цэнтр"},
    "email": {"fa": "ایمیل", "ar": "البريد الإلكتروني", "az": "E-poçt", "be": "Электронная пошта"},
    "sms": {"fa": "پیامک", "ar": "الرسائل النصية", "az": "SMS", "be": "SMS"},
    "whatsapp": {"fa": "واتس‌اپ", "ar": "واتساب", "az": "WhatsApp", "be": "WhatsApp"},
    "telegram": {"fa": "تلگرام", "ar": "تيليجرام", "az": "Telegram", "be": "Telegram"},
    "instagram": {"fa": "فروشگاه اینستاگرام", "ar": "متجر إنستغرام", "az": "Instagram mağazası", "be": "Крама ў Instagram"},
    "messenger": {"fa": "مسنجر", "ar": "ماسنجر", "az": "Messenger", "be": "Messenger"},
    "catalogue": {"fa": "کاتالوگ چاپی", "ar": "الكتالوج المطبوع", "az": "Çap kataloqu", "be": "Друкаваны каталог"},
    "marketplace": {"fa": "بازارگاه دیجی‌کالا", "ar": "سوق ديجي كالا", "az": "Digikala marketpleysi", "be": "Маркетплэйс Digikala"},
    "web-az": {"fa": "فروشگاه اینترنتی آذربایجان", "ar": "المتجر الإلكتروني في أذربيجان", "az": "Azərbaycan internet mağazası", "be": "Інтэрнэт-крама ў Азербайджане"},
    "ads": {"fa": "تبلیغات (جست‌وجو و شبکه‌های اجتماعی)", "ar": "الإعلانات (البحث والتواصل الاجتماعي)", "az": "Reklam (axtarış və sosial şəbəkələr)", "be": "Рэклама (пошук і сацсеткі)"},
}  # fmt: skip

DEMO_PROVIDERS = {
    ChannelKind.EMAIL: "smtp",
    ChannelKind.SMS: "console",
    ChannelKind.WHATSAPP: "console",
    ChannelKind.TELEGRAM: "console",
    ChannelKind.INSTAGRAM: "console",
    ChannelKind.MESSENGER: "console",
}


def demo_channels():
    return [
        ChannelFactory(
            code=code,
            name=name,
            kind=kind,
            currency=currency,
            provider=DEMO_PROVIDERS.get(kind, ""),
            names=DEMO_CHANNEL_NAMES.get(code, {}),
        )
        for code, name, kind, currency in DEMO_CHANNELS
    ]
