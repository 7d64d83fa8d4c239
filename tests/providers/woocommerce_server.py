"""A small WooCommerce on loopback: the REST API v3 shapes the connector calls, and the webhook
deliveries a shop sends, signed as WooCommerce signs them.

REST (`/wp-json/wc/v3/`), HTTP Basic with the consumer key and secret:
- `GET products?per_page=&page=` (headers `X-WP-Total`, `X-WP-TotalPages`), `GET products/{id}`,
  `GET products/{id}/variations`;
- `POST|PUT products/batch` and `products/{id}/variations/batch` with
  `{"create": [], "update": [...], "delete": []}`, answered `{"create": [], "update": [<the
  objects as saved, or {"id", "error": {"code", "message", "data": {"status"}}}>], "delete": []}`;
- a wrong key: 401 `woocommerce_rest_cannot_view` (GET) or `woocommerce_rest_cannot_batch`;
- `.fail_next = [(status, headers)]`: answer those first (429 with Retry-After, 503), as a
  busy host does.

`.received` records (method, path, json body) of every call; `.products` / `.variations` hold
the shop's catalogue, stock included, as the batch calls leave it.
"""

import base64
import hashlib
import hmac
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API = "/wp-json/wc/v3"


def wc_json(payload) -> bytes:
    """The body as WordPress encodes it (wp_json_encode escapes slashes): the signature is
    over these exact bytes, so a receiver must verify the raw body, not re-encoded JSON."""
    return json.dumps(payload).replace("/", "\\/").encode()


def wc_signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def delivery_headers(topic, body, secret, *, delivery_id="d-1", webhook_id=7):
    """The headers WooCommerce's WC_Webhook::deliver() sends, as Django's test client takes
    them (HTTP_ + upper case)."""
    resource, _dot, event = topic.partition(".")
    headers = {
        "X-WC-Webhook-Source": "https://shop.example.com/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": wc_signature(secret, body),
        "X-WC-Webhook-ID": str(webhook_id),
        "X-WC-Webhook-Delivery-ID": delivery_id,
    }
    return {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}


class WooCommerceServer:
    def __init__(self, key="ck_test_key_0000000000", secret="cs_test_secret_000000000"):
        self.key, self.secret = key, secret
        self.received = []
        self.fail_next = []
        self.products = {}  # id -> product JSON
        self.variations = {}  # product id -> {variation id: variation JSON}
        shop = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                shop._handle(self, "GET")

            def do_POST(self):
                shop._handle(self, "POST")

            def do_PUT(self):
                shop._handle(self, "PUT")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    # --- the catalogue ------------------------------------------------------------------
    def add_simple(self, product_id, sku, *, name="Product", price="10.00", stock=None):
        self.products[product_id] = {
            "id": product_id,
            "name": name,
            "type": "simple",
            "status": "publish",
            "sku": sku,
            "price": price,
            "regular_price": price,
            "sale_price": "",
            "manage_stock": stock is not None,
            "stock_quantity": stock,
            "variations": [],
        }
        return self.products[product_id]

    def add_variable(self, product_id, name, variations):
        """variations: [(variation id, sku, price, stock)]."""
        self.products[product_id] = {
            "id": product_id,
            "name": name,
            "type": "variable",
            "status": "publish",
            "sku": "",
            "price": variations[0][2],
            "regular_price": "",
            "sale_price": "",
            "manage_stock": False,
            "stock_quantity": None,
            "variations": [v[0] for v in variations],
        }
        self.variations[product_id] = {
            vid: {
                "id": vid,
                "sku": sku,
                "price": price,
                "regular_price": price,
                "sale_price": "",
                "manage_stock": True,
                "stock_quantity": stock,
            }
            for vid, sku, price, stock in variations
        }
        return self.products[product_id]

    def batches(self):
        """The batch calls received: [(path, body)]."""
        return [(path, body) for method, path, body in self.received if path.endswith("/batch")]

    # --- the HTTP side ------------------------------------------------------------------
    def _handle(self, request, method):
        parts = urllib.parse.urlsplit(request.path)
        path = parts.path
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        self.received.append((method, path, body))
        if self.fail_next:
            status, headers = self.fail_next.pop(0)
            return self._answer(
                request,
                status,
                {"code": "http_request_failed", "message": "Busy.", "data": {"status": status}},
                headers,
            )
        if (
            request.headers.get("Authorization")
            != "Basic " + base64.b64encode(f"{self.key}:{self.secret}".encode()).decode()
        ):
            code = (
                "woocommerce_rest_cannot_view"
                if method == "GET"
                else "woocommerce_rest_cannot_batch"
            )
            return self._answer(
                request,
                401,
                {
                    "code": code,
                    "message": "Sorry, you cannot list resources.",
                    "data": {"status": 401},
                },
            )
        if not path.startswith(API):
            return self._answer(
                request,
                404,
                {"code": "rest_no_route", "message": "No route.", "data": {"status": 404}},
            )
        route = path[len(API) :].strip("/").split("/")
        query = dict(urllib.parse.parse_qsl(parts.query))
        if method == "GET" and route == ["products"]:
            return self._page(request, list(self.products.values()), query)
        if method == "GET" and len(route) == 2 and route[0] == "products":
            product = self.products.get(int(route[1]))
            if product is None:
                return self._invalid_id(request)
            return self._answer(request, 200, product)
        if method == "GET" and len(route) == 3 and route[2] == "variations":
            return self._page(request, list(self.variations.get(int(route[1]), {}).values()), query)
        if method in ("POST", "PUT") and route == ["products", "batch"]:
            return self._batch(request, body, self.products)
        if method in ("POST", "PUT") and len(route) == 4 and route[2:] == ["variations", "batch"]:
            return self._batch(request, body, self.variations.get(int(route[1]), {}))
        return self._answer(
            request, 404, {"code": "rest_no_route", "message": "No route.", "data": {"status": 404}}
        )

    def _page(self, request, items, query):
        per_page, page = int(query.get("per_page", 10)), int(query.get("page", 1))
        pages = max((len(items) + per_page - 1) // per_page, 1)
        chunk = items[(page - 1) * per_page : page * per_page]
        return self._answer(
            request, 200, chunk, {"X-WP-Total": str(len(items)), "X-WP-TotalPages": str(pages)}
        )

    def _batch(self, request, body, objects):
        updated = []
        for change in (body or {}).get("update", []):
            target = objects.get(change.get("id"))
            if target is None:
                updated.append(
                    {
                        "id": change.get("id"),
                        "error": {
                            "code": "woocommerce_rest_product_invalid_id",
                            "message": "Invalid ID.",
                            "data": {"status": 400},
                        },
                    }
                )
                continue
            target.update({k: v for k, v in change.items() if k != "id"})
            updated.append(dict(target))
        return self._answer(request, 200, {"create": [], "update": updated, "delete": []})

    def _invalid_id(self, request):
        return self._answer(
            request,
            404,
            {
                "code": "woocommerce_rest_product_invalid_id",
                "message": "Invalid ID.",
                "data": {"status": 404},
            },
        )

    def _answer(self, request, status, payload, headers=None):
        data = wc_json(payload)
        request.send_response(status)
        request.send_header("Content-Type", "application/json; charset=UTF-8")
        request.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(data)
