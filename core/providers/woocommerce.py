"""WooCommerce's REST API (`/wp-json/wc/v3/`) and its webhook signature.

A WooCommerce channel sends no messages: its shop delivers orders, customers and products to
us by webhook (the woocommerce app's door verifies and reads them) and we write stock figures
back through the REST API. This module is the HTTP side only: the shop's address and keys
from `provider_settings`, one call per REST operation, and every failure mapped once to a
ProviderError scope.

Authentication: the REST API key's consumer key and secret as HTTP Basic, which WooCommerce
accepts over https only (over plain http it wants OAuth 1.0a signatures instead); plain http
is allowed here for a loopback address (a test server, a shop on this machine).

Webhook signature: `X-WC-Webhook-Signature` is base64(HMAC-SHA256(raw body, secret)); the
secret is the one typed in the webhook's settings in WooCommerce (our `webhook_secret`).

Errors are `{"code": "woocommerce_rest_...", "message": ..., "data": {"status": n}}`:
- 429 and any 5xx: retry (after `Retry-After` when given);
- 401/403 (`woocommerce_rest_cannot_view`, `woocommerce_rest_cannot_edit`,
  `woocommerce_rest_authentication_error`): our key is wrong or read-only; retried, so the
  figures go out once staff fix the key;
- other 4xx (`woocommerce_rest_product_invalid_id`, `rest_invalid_param`): the request is
  refused (MESSAGE).

provider_settings: `site_url` (the shop's address, e.g. https://shop.example.com),
`consumer_key`, `consumer_secret`, `webhook_secret`; optional `timeout`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import urllib.parse

from core.providers import ProviderError
from core.providers import http as provider_http

API_PATH = "/wp-json/wc/v3"
# WooCommerce's batch endpoints take at most 100 objects per request (its
# `woocommerce_rest_batch_items_limit` filter).
BATCH_LIMIT = 100
PAGE_SIZE = 100  # per_page at most 100


def signature_of(secret: str, body: bytes) -> str:
    """WooCommerce's webhook signature of a raw body: base64 of HMAC-SHA256 under the secret."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def is_valid_signature(secret: str, body: bytes, given: str) -> bool:
    """Whether `given` is the body's signature; constant time; nothing is valid without a
    secret or a signature."""
    if not secret or not given:
        return False
    return hmac.compare_digest(signature_of(secret, body).encode(), given.strip().encode())


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def site_url(channel) -> str:
    """The shop's address without a trailing slash. Raises a MESSAGE-scope ProviderError for
    a missing address or plain http to another machine (consumer keys would travel in the
    clear, and WooCommerce refuses Basic auth there anyway)."""
    url = provider_http.setting(channel, "site_url").rstrip("/")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProviderError(
            f"Channel {channel.code}: site_url must be an http(s) address.",
            scope=ProviderError.MESSAGE,
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ProviderError(
            f"Channel {channel.code}: WooCommerce takes API keys over https only.",
            scope=ProviderError.MESSAGE,
        )
    return url


class WooCommerceClient:
    """One shop's REST API with the channel's keys."""

    def __init__(self, channel):
        self.channel = channel
        self.base = site_url(channel) + API_PATH
        self.authorization = provider_http.basic_auth(
            provider_http.setting(channel, "consumer_key"),
            provider_http.setting(channel, "consumer_secret"),
        )
        self.timeout = provider_http.timeout_of(channel)

    def _call(self, method, path, *, json_body=None, query=None):
        url = self.base + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        answer = provider_http.call(
            method,
            url,
            json_body=json_body,
            timeout=self.timeout,
            headers={"Authorization": self.authorization, "Accept": "application/json"},
        )
        if 200 <= answer.status < 300:
            return answer
        raise error_of(answer)

    def get_product(self, product_id: int) -> dict:
        return self._call("GET", f"/products/{int(product_id)}").body or {}

    def products(self, page: int = 1) -> tuple[list, int]:
        """One page of products and the number of pages (`X-WP-TotalPages`)."""
        answer = self._call("GET", "/products", query={"per_page": PAGE_SIZE, "page": page})
        return _listed(answer)

    def variations(self, product_id: int, page: int = 1) -> tuple[list, int]:
        answer = self._call(
            "GET",
            f"/products/{int(product_id)}/variations",
            query={"per_page": PAGE_SIZE, "page": page},
        )
        return _listed(answer)

    def update_products(self, updates: list[dict]) -> list[dict]:
        """`POST products/batch {"update": [...]}` in requests of at most BATCH_LIMIT;
        returns the objects WooCommerce answered (an item it refused carries `error`)."""
        return self._batch("/products/batch", updates)

    def update_variations(self, product_id: int, updates: list[dict]) -> list[dict]:
        return self._batch(f"/products/{int(product_id)}/variations/batch", updates)

    def _batch(self, path, updates):
        answered = []
        for start in range(0, len(updates), BATCH_LIMIT):
            answer = self._call(
                "POST", path, json_body={"update": updates[start : start + BATCH_LIMIT]}
            )
            body = answer.body if isinstance(answer.body, dict) else {}
            answered.extend(item for item in body.get("update") or [] if isinstance(item, dict))
        return answered


def _listed(answer) -> tuple[list, int]:
    items = answer.body if isinstance(answer.body, list) else []
    headers = {name.lower(): value for name, value in answer.headers.items()}
    try:
        pages = int(headers.get("x-wp-totalpages") or 1)
    except ValueError:
        pages = 1
    return [item for item in items if isinstance(item, dict)], pages


def error_of(answer: provider_http.Answer) -> ProviderError:
    body = answer.body if isinstance(answer.body, dict) else {}
    code = str(body.get("code") or answer.status)
    text = str(body.get("message") or answer.text or "")[:300]
    reason = f"WooCommerce {answer.status} ({code}): {text}"
    if answer.status == 429 or answer.status >= 500 or answer.status in (401, 403):
        scope = ProviderError.RETRY
    else:
        scope = ProviderError.MESSAGE
    return ProviderError(
        reason, scope=scope, retry_after=provider_http.retry_after_header(answer), code=code
    )


def item_error(item: dict) -> str:
    """The error WooCommerce gave one object of a batch, or "" when it was applied."""
    error = item.get("error")
    if not isinstance(error, dict):
        return ""
    return f"{error.get('code', '')}: {error.get('message', '')}"[:300]
