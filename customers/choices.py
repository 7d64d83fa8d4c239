"""The customer record's kinds and statuses that other apps name too (identity kinds, consent
purposes and decisions): importable without the customers' tables, so another app may choose
from them without reading `customers.models`."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class IdentityKind(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    COOKIE = "cookie", _("Cookie")
    DEVICE = "device", _("Device")
    INSTAGRAM = "instagram", _("Instagram")
    TELEGRAM = "telegram", _("Telegram")
    WHATSAPP = "whatsapp", _("WhatsApp")
    MESSENGER = "messenger", _("Messenger")
    LOYALTY_CARD = "loyalty_card", _("Loyalty card")
    EXTERNAL_ID = "external_id", _("Partner's external id")


class ConsentPurpose(models.TextChoices):
    MARKETING = "marketing", _("Marketing")
    TRANSACTIONAL = "transactional", _("Transactional")


class ConsentStatus(models.TextChoices):
    GRANTED = "granted", _("Granted")
    WITHDRAWN = "withdrawn", _("Withdrawn")
