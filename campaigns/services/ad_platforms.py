"""The two ad platforms' documented APIs, as campaigns' audience sync and conversion upload
use them. Each call either returns the platform's answer or raises core's ProviderError:
scope RETRY (rate limits, 5xx, unreachable: try again later, nothing was lost) or MESSAGE
(the request itself is refused: a wrong list id, token or account, recorded for staff).

Google Ads API, REST (https://developers.google.com/google-ads/api/rest/overview):
headers `Authorization: Bearer <OAuth access token>`, `developer-token`, optional
`login-customer-id` (a manager account). Customer Match goes through OfflineUserDataJobService:
`POST {base}/{version}/customers/{cid}/offlineUserDataJobs:create` with
`{"job": {"type": "CUSTOMER_MATCH_USER_LIST", "customerMatchUserListMetadata": {"userList":
"customers/{cid}/userLists/{id}", "consent": {...}}}}` answers `{"resourceName": ...}`; then
`POST {base}/{version}/{resourceName}:addOperations` with `{"enablePartialFailure": true,
"operations": [{"create"|"remove": {"userIdentifiers": [{"hashedEmail"|"hashedPhoneNumber":
sha256}]}}]}`, and `POST .../{resourceName}:run`. Offline conversions:
`POST {base}/{version}/customers/{cid}:uploadClickConversions` with `{"conversions": [{"gclid",
"conversionAction", "conversionDateTime", "conversionValue", "currencyCode", "orderId"}],
"partialFailure": true}`. Errors are `{"error": {"code", "message", "status", "details":
[{"errors": [{"errorCode", "message", "location"}]}]}}`; a partial failure comes back in a
200 as `partialFailureError`, the failed operations named by their index.

Meta Marketing API (https://developers.facebook.com/docs/marketing-api/reference/custom-audience/users):
`POST` (add) or `DELETE` (remove) `{base}/{version}/{audience_id}/users` with the form field
`payload` = `{"schema": ["EMAIL_SHA256"], "data": [[sha256], ...]}` (at most 10 000 rows a
call), answering `{"audience_id", "session_id", "num_received", "num_invalid_entries"}`.
Store purchases go through the Conversions API: `POST {base}/{version}/{dataset_id}/events`
with `{"data": [{"event_name": "Purchase", "event_time", "action_source": "physical_store",
"event_id", "user_data": {"em", "ph", "fbc"}, "custom_data": {"currency", "value"}}]}`.
Errors are `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`: codes 1,
2, 4, 17, 32, 613, 80003 (temporary, rate limits) and any 5xx retry; the rest (100 a bad
parameter or list id, 190 the token, 200/294 permissions) refuse the request.
"""

import hashlib
import json
import re
from datetime import UTC

from django.conf import settings

from core.providers import ProviderError
from core.providers import http as provider_http
from core.providers.meta import graph_error
from core.services import shared_cache

GOOGLE_RETRY_STATUSES = {
    "RESOURCE_EXHAUSTED",
    "UNAVAILABLE",
    "INTERNAL",
    "DEADLINE_EXCEEDED",
    "ABORTED",
}
META_RETRY_CODES = {1, 2, 4, 17, 32, 341, 613, 80003, 80004}
# Meta takes at most 10 000 rows a call; Google more, but a smaller request retries cheaper.
BATCH = 10_000
GOOGLE_IDENTIFIER = {"email": "hashedEmail", "phone": "hashedPhoneNumber"}
META_SCHEMA = {"email": "EMAIL_SHA256", "phone": "PHONE_SHA256"}


def _timeout() -> float:
    return min(max(float(settings.AD_PLATFORM_TIMEOUT_SECONDS), 0.1), 120.0)


def _base(value: str) -> str:
    base = str(value or "").strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ProviderError("The API base must be an http(s) URL.", scope=ProviderError.MESSAGE)
    return base


def batches(items, size=BATCH):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- Google Ads ------------------------------------------------------------------------------


def digits(value: str) -> str:
    return re.sub(r"\D", "", str(value or ""))


def google_missing(customer_id: str) -> list[str]:
    """The settings Google Ads needs that are empty (an access token, or the three settings
    of the OAuth refresh flow)."""
    needed = {
        "GOOGLE_ADS_DEVELOPER_TOKEN": settings.GOOGLE_ADS_DEVELOPER_TOKEN,
        "GOOGLE_ADS_CUSTOMER_ID": customer_id,
    }
    if not settings.GOOGLE_ADS_ACCESS_TOKEN:
        needed.update(
            {
                "GOOGLE_ADS_CLIENT_ID": settings.GOOGLE_ADS_CLIENT_ID,
                "GOOGLE_ADS_CLIENT_SECRET": settings.GOOGLE_ADS_CLIENT_SECRET,
                "GOOGLE_ADS_REFRESH_TOKEN": settings.GOOGLE_ADS_REFRESH_TOKEN,
            }
        )
    return [name for name, value in needed.items() if not value]


def google_access_token() -> str:
    """GOOGLE_ADS_ACCESS_TOKEN when set; otherwise one from Google's OAuth 2.0 token endpoint
    (`grant_type=refresh_token`, answering `{"access_token", "expires_in"}`), cached until a
    minute before it expires. A refused refresh token is a configuration error."""
    if settings.GOOGLE_ADS_ACCESS_TOKEN:
        return settings.GOOGLE_ADS_ACCESS_TOKEN
    key = (
        "campaigns:google-ads-token:"
        + hashlib.sha256(settings.GOOGLE_ADS_REFRESH_TOKEN.encode()).hexdigest()[:16]
    )
    token = shared_cache.read(key, use="Google Ads access token")
    if token:
        return token
    answer = provider_http.call(
        "POST",
        _base(settings.GOOGLE_ADS_OAUTH_TOKEN_URL),
        timeout=_timeout(),
        form={
            "grant_type": "refresh_token",
            "client_id": settings.GOOGLE_ADS_CLIENT_ID,
            "client_secret": settings.GOOGLE_ADS_CLIENT_SECRET,
            "refresh_token": settings.GOOGLE_ADS_REFRESH_TOKEN,
        },
    )
    body = answer.body if isinstance(answer.body, dict) else {}
    if answer.status >= 500 or answer.status == 429:
        raise ProviderError(
            f"Google OAuth: HTTP {answer.status}", scope=ProviderError.RETRY, code=answer.status
        )
    if answer.status != 200 or not body.get("access_token"):
        # OAuth errors are {"error": "invalid_grant", "error_description": ...}.
        raise ProviderError(
            f"Google OAuth: {body.get('error') or answer.status}: "
            f"{str(body.get('error_description') or '')[:200]}",
            scope=ProviderError.MESSAGE,
            code=str(body.get("error") or answer.status),
        )
    try:
        lifetime = int(body.get("expires_in") or 3600)
    except (TypeError, ValueError):
        lifetime = 3600
    shared_cache.write(
        key, body["access_token"], max(lifetime - 60, 30), use="Google Ads access token"
    )
    return body["access_token"]


def google_error(answer: provider_http.Answer) -> ProviderError:
    body = answer.body if isinstance(answer.body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    status = str(error.get("status") or "")
    text = str(error.get("message") or answer.text or f"HTTP {answer.status}")[:300]
    codes = []
    for detail in error.get("details") or []:
        for item in (detail or {}).get("errors") or []:
            code = item.get("errorCode") or {}
            codes.extend(f"{key}={value}" for key, value in code.items())
            if item.get("message"):
                text = str(item["message"])[:300]
    label = status or f"HTTP {answer.status}"
    message = f"Google Ads: {label}: {text}" + (f" ({', '.join(codes[:3])})" if codes else "")
    retry = answer.status == 429 or answer.status >= 500 or status in GOOGLE_RETRY_STATUSES
    return ProviderError(
        message,
        scope=ProviderError.RETRY if retry else ProviderError.MESSAGE,
        retry_after=provider_http.retry_after_header(answer),
        code=status or answer.status,
    )


def failed_indexes(partial_failure) -> dict[int, str]:
    """{operation index: message} from a Google partialFailureError (empty when none)."""
    failed = {}
    if not isinstance(partial_failure, dict):
        return failed
    for detail in partial_failure.get("details") or []:
        for item in (detail or {}).get("errors") or []:
            for element in ((item.get("location") or {}).get("fieldPathElements")) or []:
                if element.get("fieldName") in ("operations", "conversions") and "index" in element:
                    failed[int(element["index"])] = str(item.get("message") or "")[:300]
                    break
    return failed


def google_time(moment) -> str:
    """Google's `yyyy-mm-dd hh:mm:ss+hh:mm`, in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") + "+00:00"


class GoogleAds:
    def __init__(self, customer_id: str = ""):
        self.customer_id = digits(customer_id or settings.GOOGLE_ADS_CUSTOMER_ID)
        missing = google_missing(self.customer_id)
        if missing:
            raise ProviderError(
                f"Google Ads is not configured: set {', '.join(missing)}.",
                scope=ProviderError.MESSAGE,
            )
        self.root = f"{_base(settings.GOOGLE_ADS_API_BASE)}/{settings.GOOGLE_ADS_API_VERSION}"

    def _headers(self) -> dict:
        headers = {
            "Authorization": f"Bearer {google_access_token()}",
            "developer-token": settings.GOOGLE_ADS_DEVELOPER_TOKEN,
        }
        if settings.GOOGLE_ADS_LOGIN_CUSTOMER_ID:
            headers["login-customer-id"] = digits(settings.GOOGLE_ADS_LOGIN_CUSTOMER_ID)
        return headers

    def _post(self, path: str, body: dict) -> dict:
        answer = provider_http.call(
            "POST", f"{self.root}/{path}", timeout=_timeout(), json_body=body,
            headers=self._headers(),
        )  # fmt: skip
        if not 200 <= answer.status < 300:
            raise google_error(answer)
        return answer.body if isinstance(answer.body, dict) else {}

    def sync_user_list(self, user_list_id: str, *, add, remove) -> dict[tuple, str]:
        """Send removals and additions ((kind, sha256) pairs) to the user list in one offline
        user data job and run it. Returns {(kind, sha256): reason} of those Google refused."""
        user_list = f"customers/{self.customer_id}/userLists/{digits(user_list_id)}"
        job = self._post(
            f"customers/{self.customer_id}/offlineUserDataJobs:create",
            {
                "job": {
                    "type": "CUSTOMER_MATCH_USER_LIST",
                    "customerMatchUserListMetadata": {
                        "userList": user_list,
                        # Only people who consented to marketing are sent (the caller's rule).
                        "consent": {"adUserData": "GRANTED", "adPersonalization": "GRANTED"},
                    },
                }
            },
        )
        name = str(job.get("resourceName") or "")
        if not name.startswith(f"customers/{self.customer_id}/offlineUserDataJobs/"):
            raise ProviderError(
                "Google Ads answered the job creation without a job name.",
                scope=ProviderError.RETRY,
            )
        refused = {}
        for verb, pairs in (("remove", remove), ("create", add)):
            for chunk in batches(pairs):
                answer = self._post(
                    f"{name}:addOperations",
                    {
                        "enablePartialFailure": True,
                        "operations": [
                            {verb: {"userIdentifiers": [{GOOGLE_IDENTIFIER[kind]: digest}]}}
                            for kind, digest in chunk
                        ],
                    },
                )
                for index, reason in failed_indexes(answer.get("partialFailureError")).items():
                    if 0 <= index < len(chunk):
                        refused[chunk[index]] = reason
        self._post(f"{name}:run", {})
        return refused

    def upload_click_conversions(self, action_id: str, conversions: list[dict]) -> dict[int, str]:
        """Upload conversions ({gclid, at, value, currency, order}); returns {index: reason}
        of those Google refused (partial failure)."""
        action = f"customers/{self.customer_id}/conversionActions/{digits(action_id)}"
        answer = self._post(
            f"customers/{self.customer_id}:uploadClickConversions",
            {
                "conversions": [
                    {
                        "gclid": item["gclid"],
                        "conversionAction": action,
                        "conversionDateTime": google_time(item["at"]),
                        "conversionValue": float(item["value"]),
                        "currencyCode": item["currency"],
                        "orderId": item["order"],
                        "consent": {"adUserData": "GRANTED"},
                    }
                    for item in conversions
                ],
                "partialFailure": True,
            },
        )
        return failed_indexes(answer.get("partialFailureError"))


# --- Meta ------------------------------------------------------------------------------------


def meta_error(answer: provider_http.Answer) -> ProviderError:
    code, _subcode, message = graph_error(answer)
    body = answer.body if isinstance(answer.body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    text = str(error.get("error_user_msg") or message)[:300]
    retry = answer.status >= 500 or answer.status == 429 or code in META_RETRY_CODES
    if error.get("is_transient") is True:
        retry = True
    return ProviderError(
        f"Meta: {code or answer.status}: {text or f'HTTP {answer.status}'}",
        scope=ProviderError.RETRY if retry else ProviderError.MESSAGE,
        retry_after=provider_http.retry_after_header(answer),
        code=code or answer.status,
    )


class Meta:
    def __init__(self):
        if not settings.META_ACCESS_TOKEN:
            raise ProviderError(
                "Meta is not configured: set META_ACCESS_TOKEN.", scope=ProviderError.MESSAGE
            )
        self.root = f"{_base(settings.META_GRAPH_API_BASE)}/{settings.META_GRAPH_API_VERSION}"

    def _call(self, method: str, path: str, *, form=None, json_body=None) -> dict:
        answer = provider_http.call(
            method,
            f"{self.root}/{path}",
            timeout=_timeout(),
            form=form,
            json_body=json_body,
            headers={"Authorization": f"Bearer {settings.META_ACCESS_TOKEN}"},
        )
        if not 200 <= answer.status < 300:
            raise meta_error(answer)
        return answer.body if isinstance(answer.body, dict) else {}

    def change_audience(self, audience_id: str, kind: str, digests: list[str], *, remove: bool):
        """Add (POST) or remove (DELETE) one batch of hashes of one kind; returns how many
        Meta counted invalid."""
        payload = {"schema": [META_SCHEMA[kind]], "data": [[digest] for digest in digests]}
        answer = self._call(
            "DELETE" if remove else "POST",
            f"{digits(audience_id)}/users",
            form={"payload": json.dumps(payload)},
        )
        try:
            return int(answer.get("num_invalid_entries") or 0)
        except (TypeError, ValueError):
            return 0

    def send_store_purchases(self, dataset_id: str, events: list[dict]) -> int:
        """Conversions API events; returns how many Meta received."""
        answer = self._call("POST", f"{digits(dataset_id)}/events", json_body={"data": events})
        try:
            return int(answer.get("events_received") or 0)
        except (TypeError, ValueError):
            return 0
