"""The schema drives a real client generator: openapi-python-client generates a Python client
from /api/schema/, and a partner's journey runs through it against the running app over
HTTP (create a product, receive stock, identify, place an order, read the timeline)."""

import importlib
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.test import Client

from core.factories import ChannelFactory, api_key_with
from inventory.factories import WarehouseFactory

pytestmark = pytest.mark.django_db(transaction=True)
GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "omni_back_office_partner_api_client"


@pytest.fixture
def generated(tmp_path, monkeypatch):
    if not GENERATOR.exists():
        pytest.fail("openapi-python-client is a dev dependency: pip install -e '.[dev]'")
    schema = Client().get("/api/schema/?format=json")
    assert schema.status_code == 200
    path = tmp_path / "schema.json"
    path.write_bytes(schema.content)
    bin_dir = str(GENERATOR.parent)  # it formats with ruff, found on the PATH
    monkeypatch.setenv("PATH", f"{bin_dir}:{__import__('os').environ.get('PATH', '')}")
    result = subprocess.run(
        [str(GENERATOR), "generate", "--path", str(path), "--meta", "none", "--overwrite"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Every operation generated; the ones it cannot are named: a raw RFC 822 email body, and
    # Google's product reviews feed (an XML file Google fetches by its URL, XML only).
    output = result.stdout + result.stderr
    warnings = [line for line in output.splitlines() if line.startswith("WARNING")]
    assert warnings == [
        "WARNING parsing POST /api/v1/inbound/{kind} within inbound.",
        "WARNING parsing GET /api/v1/reviews/{code}/google.xml within reviews.",
    ], warnings
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m.startswith(PACKAGE)]:
        del sys.modules[name]
    yield importlib.import_module(PACKAGE)
    shutil.rmtree(tmp_path / PACKAGE, ignore_errors=True)


def call(module, **kwargs):
    answer = importlib.import_module(f"{PACKAGE}.api.{module}").sync_detailed(**kwargs)
    assert 200 <= answer.status_code < 300, (module, answer.status_code, answer.content[:500])
    return answer.parsed


def test_a_partner_journey_through_the_generated_client(live_server, generated):
    web = ChannelFactory(code="web", kind="web", currency="USD", sells=True)
    WarehouseFactory(code="wh-gen", channels=[web])
    _key, raw = api_key_with(
        ["catalog:write", "inventory:write", "customers:write", "orders:write"], name="gen"
    )
    client = generated.AuthenticatedClient(base_url=live_server.url, token=raw)
    models = importlib.import_module(f"{PACKAGE}.models")

    product = call(
        "products.products_create",
        client=client,
        body=models.ProductInRequest.from_dict(
            {
                "slug": "gen-runner",
                "name": "Gen Runner",
                "listings": {"web": {"is_listed": True}},
                "variants": [
                    {
                        "sku": "GEN-1",
                        "colour": "black",
                        "size": "38",
                        "listings": {"web": {"price": "49.00"}},
                    }
                ],
            }
        ),
        idempotency_key=str(uuid.uuid4()),
    )
    assert product.slug == "gen-runner"
    moved = call(
        "stock.stock_movements_create",
        client=client,
        body=models.StockMovementBatchInRequest.from_dict(
            {
                "movements": [
                    {
                        "sku": "GEN-1",
                        "location": "wh-gen",
                        "reason": "receipt",
                        "quantity": 5,
                        "idempotency_key": "gen-receipt-1",
                        "occurred_at": "2026-12-01T09:00:00+03:30",
                    }
                ]
            }
        ),
    )
    assert moved.applied == 1
    who = call(
        "identify.identify_create",
        client=client,
        body=models.IdentifyRequestRequest.from_dict(
            {
                "identities": [{"kind": "email", "value": "gen@example.com"}],
                "traits": {"first_name": "Gen"},
            }
        ),
    )
    order = call(
        "orders.orders_create",
        client=client,
        body=models.OrderInRequest.from_dict(
            {
                "channel": "web",
                "customer": {"identities": [{"kind": "email", "value": "gen@example.com"}]},
                "lines": [{"sku": "GEN-1", "quantity": 2}],
                "shipping": {
                    "name": "Gen",
                    "address": "1 Street",
                    "city": "Tehran",
                    "country": "IR",
                },
            }
        ),
    )
    assert order.number and len(order.lines) == 1
    timeline = call(
        "customers.customers_timeline_list",
        client=client,
        public_id=uuid.UUID(str(who.customer.id)),
    )
    assert "order_completed" in {event.name for event in timeline.results}
