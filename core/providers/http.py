"""What every provider adapter that speaks HTTP shares: the base URL (the provider's public
host unless `provider_settings["api_base_url"]` says otherwise), a bounded timeout, and one
call that returns the provider's answer or raises a retryable ProviderError when the provider
could not be reached at all. Mapping an HTTP or API error to a scope stays with each adapter,
since each provider says it differently."""

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from core.observability import current_request_id
from core.providers import ProviderError

DEFAULT_TIMEOUT_SECONDS = 10
MAX_TIMEOUT_SECONDS = 60


@dataclass
class Answer:
    status: int
    body: dict | list | None  # parsed JSON, or None when the body was not JSON
    text: str
    headers: dict


def setting(channel, name, *, required=True) -> str:
    value = str(channel.provider_settings.get(name) or "").strip()
    if required and not value:
        raise ProviderError(
            f"Channel {channel.code}: provider_settings need {name!r}.", scope=ProviderError.MESSAGE
        )
    return value


def base_url(channel, default: str) -> str:
    """The provider's host, or the channel's `api_base_url` (http or https only)."""
    base = str(channel.provider_settings.get("api_base_url") or default).strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ProviderError(
            f"Channel {channel.code}: api_base_url must be an http(s) URL.",
            scope=ProviderError.MESSAGE,
        )
    return base


def timeout_of(channel) -> float:
    try:
        timeout = float(channel.provider_settings.get("timeout", DEFAULT_TIMEOUT_SECONDS))
    except (TypeError, ValueError):
        timeout = DEFAULT_TIMEOUT_SECONDS
    # Bounded both ways: 0 or a negative number would mean "no timeout" to a socket.
    return min(max(timeout, 0.1), MAX_TIMEOUT_SECONDS)


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def call(method, url, *, timeout, json_body=None, form=None, headers=None) -> Answer:
    """One HTTP request. Any answer, 2xx or not, comes back as an Answer; only a provider that
    could not be reached (refused, reset, timed out) raises, as a retryable ProviderError."""
    headers = dict(headers or {})
    if request_id := current_request_id():
        headers.setdefault("X-Request-Id", request_id)
    data = None
    if json_body is not None:
        data = json.dumps(json_body).encode()
        headers.setdefault("Content-Type", "application/json")
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    if not url.startswith(("http://", "https://")):
        raise ProviderError(f"not an http(s) URL: {url[:100]}", scope=ProviderError.MESSAGE)
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 (http(s) checked above)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return _answer(response.status, response.read(), response.headers)
    except urllib.error.HTTPError as error:
        return _answer(error.code, error.read(), error.headers)
    except (urllib.error.URLError, OSError) as error:
        raise ProviderError(f"provider unreachable: {error}", scope=ProviderError.RETRY) from error


def _answer(status, raw: bytes, headers) -> Answer:
    text = raw.decode("utf-8", "replace")
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    return Answer(status=status, body=body, text=text[:2000], headers=dict(headers or {}))


def retry_after_header(answer: Answer) -> float | None:
    value = answer.headers.get("Retry-After") or answer.headers.get("retry-after")
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None
