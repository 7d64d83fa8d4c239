"""A web chat visitor cannot claim someone else's identity (issue #14, item 4).

What a visitor types into the chat widget proves nothing. Only an identifier the shop vouches
for with identifier_hash (HMAC-SHA256 of the identifier under the channel's identity_secret,
hex) finds her profile; a typed email, phone or name is shown to the agent as unverified and
links to no one. Every attack goes through the real door: the signed web chat webhook."""

import hashlib
import hmac

import pytest

from customers.factories import IdentityFactory, customer_with
from customers.models import Identity
from orders.factories import placed_order
from support.models import Conversation, Message
from tests.orders.conftest import shop  # noqa: F401 (fixture)
from tests.support.conftest import SECRET, Webhooks

pytestmark = pytest.mark.django_db

IDENTITY_SECRET = "identity-secret-456"


def shop_hash(identifier, secret=IDENTITY_SECRET):
    """What the shop's page computes for its signed-in customer."""
    return hmac.new(secret.encode(), identifier.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def web(shop):  # noqa: F811
    channel = shop.channels["web"]
    channel.provider_settings = {"inbound_secret": SECRET, "identity_secret": IDENTITY_SECRET}
    channel.save(update_fields=["provider_settings"])
    return channel


@pytest.fixture
def sara(shop, web):  # noqa: F811
    customer = customer_with(
        ("email", "sara@example.com"),
        ("phone", "+989121234567"),
        first_name="Sara",
        last_name="Rahimi",
    )
    IdentityFactory(customer=customer, kind="external_id", partner="web", value="42")
    customer.order = placed_order(customer, shop.channels["web"], [(shop.sku("black"), 1)])
    return customer


@pytest.fixture
def agent(client, staff_in_role):
    client.force_login(staff_in_role("Support agent"))
    return client


def chat(payload, **fields):
    body = {"id": "chat-1", "visitor_id": "stranger-cookie", "text": "Where is my order?"}
    body.update(payload, **fields)
    return Webhooks().post("webchat", body)


def test_stranger_typing_saras_email_is_not_attached_to_sara(sara, agent):
    response = chat({"email": "Sara@Example.com", "phone": "0912 123 4567", "name": "Sara Rahimi"})
    assert response.status_code == 200, response.content

    conversation = Message.objects.get().conversation
    assert conversation.customer != sara
    assert conversation.customer.is_anonymous
    assert not Conversation.objects.filter(customer=sara).exists()
    # Sara's profile gained nothing: not the stranger's cookie, not her name typed by someone.
    assert set(sara.identities.values_list("kind", flat=True)) == {"email", "phone", "external_id"}
    assert not Identity.objects.filter(customer=conversation.customer, kind="email").exists()
    assert conversation.customer.first_name == ""

    page = agent.get(f"/support/c/{conversation.pk}/").content.decode()
    assert sara.order.number not in page
    assert "data-claims" in page
    assert 'data-claim="email"' in page and "sara@example.com" in page
    assert 'data-claim="phone"' in page and "+989121234567" in page
    assert 'data-claim="name"' in page
    assert "unverified" in page


@pytest.mark.parametrize(
    "identifier", ["Sara@Example.com", "email:sara@example.com", "phone:09121234567", "42"]
)
def test_identifier_the_shop_vouches_for_attaches_the_conversation(sara, agent, identifier):
    response = chat(
        {"identifier": identifier, "identifier_hash": shop_hash(identifier), "name": "Sara R"}
    )
    assert response.status_code == 200, response.content

    conversation = Message.objects.get().conversation
    assert conversation.customer == sara
    sara.refresh_from_db()
    assert sara.last_name == "R"  # her own name, from a visitor the shop vouches for
    page = agent.get(f"/support/c/{conversation.pk}/").content.decode()
    assert f'data-order="{sara.order.number}"' in page
    assert "data-claims" not in page


def test_vouched_identifier_does_not_vouch_for_the_typed_email(sara, web, agent):
    """Mallory is signed in as herself; the email she types is still only her claim."""
    customer_with(("email", "mallory@example.com"), first_name="Mallory")
    response = chat(
        {
            "identifier": "mallory@example.com",
            "identifier_hash": shop_hash("mallory@example.com"),
            "email": "sara@example.com",
        }
    )
    assert response.status_code == 200, response.content
    conversation = Message.objects.get().conversation
    assert conversation.customer.first_name == "Mallory"
    assert not Conversation.objects.filter(customer=sara).exists()
    page = agent.get(f"/support/c/{conversation.pk}/").content.decode()
    assert 'data-claim="email"' in page and "sara@example.com" in page
    assert sara.order.number not in page


@pytest.mark.parametrize(
    "fields",
    [
        {"identifier": "sara@example.com", "identifier_hash": shop_hash("sara@example.com", "x")},
        {"identifier": "sara@example.com", "identifier_hash": shop_hash("mallory@example.com")},
        {"identifier": "sara@example.com"},
        {"identifier": "sara@example.com", "identifier_hash": "ünïcode"},
        {"identifier_hash": shop_hash("sara@example.com")},
    ],
)
def test_identifier_without_a_matching_hash_is_refused(sara, fields):
    response = chat(fields)
    assert response.status_code in (400, 401), response.content
    assert response.json()["error"]["code"] in ("invalid_identifier_hash", "invalid_payload")
    assert Message.objects.count() == 0
    assert not Conversation.objects.exists()


def test_channel_without_identity_secret_cannot_vouch(sara, web):
    web.provider_settings = {"inbound_secret": SECRET}
    web.save(update_fields=["provider_settings"])
    response = chat({"identifier": "sara@example.com", "identifier_hash": shop_hash("")})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_identifier_hash"
    assert Message.objects.count() == 0


def test_signing_in_on_the_shop_joins_her_own_profile(sara, agent):
    assert chat({"email": "sara@example.com"}).status_code == 200
    conversation = Message.objects.get().conversation
    assert conversation.customer != sara

    signed_in = chat(
        {
            "id": "chat-2",
            "identifier": "sara@example.com",
            "identifier_hash": shop_hash("sara@example.com"),
            "text": "I have signed in now.",
        }
    )
    assert signed_in.status_code == 200, signed_in.content
    conversation.refresh_from_db()
    assert conversation.customer == sara  # her anonymous visitor profile merged into hers
    assert Conversation.objects.filter(customer=sara).count() == 1
    page = agent.get(f"/support/c/{conversation.pk}/").content.decode()
    assert f'data-order="{sara.order.number}"' in page
    assert "data-claims" not in page  # the claim is now her proven email


def test_shop_identifying_her_through_the_partner_api_verifies(sara, agent, api_client_for):
    assert chat({"email": "sara@example.com"}).status_code == 200
    conversation = Message.objects.get().conversation
    assert conversation.customer != sara

    partner = api_client_for("customers:write")
    response = partner.post(
        "/api/v1/identify",
        {
            "identities": [
                {"kind": "cookie", "value": "stranger-cookie"},
                {"kind": "email", "value": "sara@example.com", "verified": True},
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    conversation.refresh_from_db()
    assert conversation.customer == sara
    page = agent.get(f"/support/c/{conversation.pk}/").content.decode()
    assert f'data-order="{sara.order.number}"' in page
    assert "data-claims" not in page


def test_claims_are_in_the_api_and_the_export_and_go_on_erasure(sara, api_client_for):
    assert chat({"email": "sara@example.com"}).status_code == 200
    conversation = Message.objects.get().conversation
    reader = api_client_for("support:read")
    messages = reader.get(f"/api/v1/support/conversations/{conversation.pk}/messages").json()
    items = messages["results"] if isinstance(messages, dict) else messages
    assert items[0]["claimed_identities"] == [{"kind": "email", "value": "sara@example.com"}]

    visitor = api_client_for("customers:write")
    public_id = conversation.customer.public_id
    export = visitor.post(f"/api/v1/customers/{public_id}/export", format="json").json()
    assert "sara@example.com" in str(export)
    assert visitor.post(f"/api/v1/customers/{public_id}/erase", format="json").status_code in (
        200,
        202,
    )
    assert Message.objects.get().claimed_identities == []
