"""Privacy: export gives everything, erase leaves no personal data in any customers table."""

import json

import pytest
from django.apps import apps

from customers.errors import CustomerErased
from customers.factories import ConsentFactory, EventFactory
from customers.links import PRIVACY_HANDLERS, register_privacy_handler
from customers.models import Customer, Identity, PrivacyRequest
from customers.services import erase_customer, record_consent, record_event

from .conftest import post_json

pytestmark = pytest.mark.django_db

PERSONAL = [
    "Sara",
    "Rahimi",
    "sara@example.com",
    "+989121234567",
    "c-81f",
    "sara.rahimi",
    "Tabriz street 5",
    "sara-msg",
]


def build_sara(writer):
    """Sara, as partners built her: an anonymous visitor merged into a known profile, with
    events that carry personal details, consents, a merge audit and a merge candidate."""
    post_json(writer, "/api/v1/track", {"identities": [{"kind": "cookie", "value": "c-81f"}], "event": "page_viewed",
              "properties": {"url": "/shoes?email=sara@example.com"}, "message_id": "sara-msg-1"})  # fmt: skip
    sara = post_json(writer, "/api/v1/identify", {
        "identities": [{"kind": "email", "value": "sara@example.com", "verified": True}],
        "traits": {"first_name": "Sara", "last_name": "Rahimi", "address": "Tabriz street 5"},
    }).json()["customer"]  # fmt: skip
    post_json(writer, "/api/v1/identify", {
        "identities": [{"kind": "email", "value": "sara@example.com"}, {"kind": "cookie", "value": "c-81f"},
                       {"kind": "phone", "value": "09121234567"}, {"kind": "instagram", "value": "@sara.rahimi"}],
    })  # fmt: skip
    post_json(writer, "/api/v1/track", {"identities": [{"kind": "email", "value": "sara@example.com"}],
              "event": "order_completed", "message_id": "sara-msg-2",
              "properties": {"order_id": "O-1", "total": "120.00", "currency": "USD", "shipping_name": "Sara Rahimi"}})  # fmt: skip
    post_json(writer, f"/api/v1/customers/{sara['id']}/consents",
              {"channel": "sms", "purpose": "marketing", "status": "granted", "source": "Sara Rahimi signed"})  # fmt: skip
    # A second verified person seen with Sara's phone: a candidate naming her identities.
    post_json(
        writer,
        "/api/v1/identify",
        {"identities": [{"kind": "email", "value": "sister@example.com", "verified": True}]},
    )
    post_json(writer, "/api/v1/identify", {"identities": [{"kind": "email", "value": "sister@example.com"},
                                                          {"kind": "phone", "value": "+98 912 123 4567"}]})  # fmt: skip
    return sara


def test_export_contains_everything_held_including_other_apps(writer):
    register_privacy_handler("loyalty", export=lambda customer: {"points": 120})
    try:
        sara = build_sara(writer)
        response = writer.post(f"/api/v1/customers/{sara['id']}/export")
    finally:
        PRIVACY_HANDLERS.pop("loyalty")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    document = response.json()
    assert document["customer"]["first_name"] == "Sara"
    assert document["customer"]["traits"] == {"address": "Tabriz street 5"}
    assert {(i["kind"], i["value"]) for i in document["identities"]} >= {
        ("email", "sara@example.com"), ("phone", "+989121234567"), ("cookie", "c-81f")}  # fmt: skip
    assert [e["message_id"] for e in document["events"]] == ["sara-msg-1", "sara-msg-2"]
    assert document["consents"][0]["status"] == "granted"
    assert len(document["customer"]["merged_profile_ids"]) == 1
    assert document["apps"]["loyalty"] == {"points": 120}
    assert PrivacyRequest.objects.filter(kind="export").count() == 1


def dump_customers_tables() -> str:
    rows = []
    for model in apps.get_app_config("customers").get_models():
        rows += [json.dumps(row, default=str) for row in model.objects.values()]
    return "\n".join(rows)


def test_erase_leaves_no_personal_data_in_any_customers_table(writer):
    erased_by_app = []
    register_privacy_handler(
        "orders_stub", erase=lambda customer: erased_by_app.append(customer.pk)
    )
    try:
        sara = build_sara(writer)
        before = dump_customers_tables()
        assert all(value in before for value in PERSONAL)  # the test would notice a leak

        response = writer.post(f"/api/v1/customers/{sara['id']}/erase")
    finally:
        PRIVACY_HANDLERS.pop("orders_stub")

    assert response.status_code == 200
    assert response.json()["customer"]["identities"] == []
    after = dump_customers_tables()
    leaks = [value for value in PERSONAL if value in after]
    assert leaks == []
    customer = Customer.objects.get(public_id=sara["id"])
    assert erased_by_app == [customer.pk]
    # Aggregates survive: the order total, the number of events, the channels.
    assert customer.orders_count == 1 and customer.lifetime_spend == {"USD": "120.00"}
    assert customer.events.get(name="order_completed").properties == {
        "order_id": "O-1",
        "total": "120.00",
        "currency": "USD",
    }
    assert PrivacyRequest.objects.filter(customer=customer, kind="erase").count() == 1
    # A retried erase changes nothing and records nothing new.
    assert writer.post(f"/api/v1/customers/{sara['id']}/erase").status_code == 200
    assert PrivacyRequest.objects.filter(kind="erase").count() == 1
    # The person coming back later is a new, unrelated profile.
    again = post_json(
        writer, "/api/v1/identify", {"identities": [{"kind": "email", "value": "sara@example.com"}]}
    )
    assert again.json()["customer"]["id"] != sara["id"]
    assert Identity.objects.filter(value="sara@example.com").count() == 1


def test_nothing_is_recorded_on_an_erased_customer(writer):
    sara = Customer.objects.create(first_name="Sara", is_anonymous=False)
    EventFactory(customer=sara)
    ConsentFactory(customer=sara)
    erase_customer(sara)
    with pytest.raises(CustomerErased):
        record_event(sara, "page_viewed")
    with pytest.raises(CustomerErased):
        record_consent(sara, channel_kind="sms", purpose="marketing", granted=True)
