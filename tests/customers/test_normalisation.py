"""Identity values are normalised so the same email or phone in any spelling is one identity."""

import pytest

from customers.errors import InvalidIdentity
from customers.normalise import normalise_identity, parse_identity_filter


@pytest.mark.parametrize(
    "raw", ["+98 912 123 4567", "09121234567", "00989121234567", "+98-912-123-4567"]
)
def test_iranian_phone_spellings_are_one_e164_number(raw, settings):
    settings.PHONE_DEFAULT_REGION = "IR"
    assert normalise_identity("phone", raw).value == "+989121234567"


def test_local_phone_is_read_in_the_default_region(settings):
    settings.PHONE_DEFAULT_REGION = "AZ"
    assert normalise_identity("phone", "050 123 45 67").value == "+994501234567"


def test_email_is_trimmed_and_lower_cased():
    assert normalise_identity("email", "  Sara@Example.COM ").value == "sara@example.com"


def test_handles_lose_their_at_sign_and_case():
    assert normalise_identity("instagram", "@Sara.Shoes").value == "sara.shoes"


def test_whatsapp_ids_are_stored_like_phones():
    assert normalise_identity("whatsapp", "0912 123 4567").value == "+989121234567"


@pytest.mark.parametrize(
    ("kind", "value", "field"),
    [
        ("email", "not-an-email", "identities.0.value"),
        ("phone", "12", "identities.0.value"),
        ("pigeon", "x", "identities.0.kind"),
        ("cookie", "   ", "identities.0.value"),
    ],
)
def test_bad_identities_name_the_field(kind, value, field):
    with pytest.raises(InvalidIdentity) as error:
        normalise_identity(kind, value, field="identities.0")
    assert field in error.value.fields


def test_external_ids_need_their_partner():
    with pytest.raises(InvalidIdentity) as error:
        normalise_identity("external_id", "42", field="identities.0")
    assert "identities.0.partner" in error.value.fields
    assert normalise_identity("external_id", " 42 ", "Shopify").partner == "shopify"


def test_identity_filter_is_normalised_like_input():
    key = parse_identity_filter("phone:0098 912 123 4567")
    assert (key.kind, key.value) == ("phone", "+989121234567")
    key = parse_identity_filter("external_id:shopify:42")
    assert (key.kind, key.partner, key.value) == ("external_id", "shopify", "42")
