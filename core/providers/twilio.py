"""SMS through a Twilio-compatible REST API (Twilio itself, or a gateway speaking its API).

Sending: `POST {base}/2010-04-01/Accounts/{account_sid}/Messages.json`, form-encoded `To`,
`From` (or `MessagingServiceSid`), `Body` and `StatusCallback`, HTTP Basic auth with the
account SID and auth token. Twilio answers 201 with the message resource (`sid`, `status`) or
an error `{"code", "message", "more_info", "status"}`, mapped here once:

- 429 or code 20429 (too many requests) and any 5xx: retry, after `Retry-After` when given;
- 21211 (invalid 'To'), 21610 (the recipient replied STOP), 21614 (not a mobile number),
  21612 (cannot route to this number) from the recipient's side, 21408 (no permission for
  the region) and every other 4xx: see CODE_SCOPES; unknown 4xx fail the message.

Receipts: Twilio posts the message's status (`MessageSid`, `MessageStatus`, `ErrorCode`) to
the StatusCallback URL, `/api/v1/providers/<channel code>/twilio-status`, signed by
`X-Twilio-Signature` (core.api.providers.TwilioStatusView checks it with `is_valid_signature`).

provider_settings: `account_sid`, `auth_token`, `from` (a number or sender id) or
`messaging_service_sid`; optional `api_base_url` and `timeout`.
"""

import base64
import hashlib
import hmac

from django.conf import settings
from django.urls import reverse

from core.providers import OutboundMessage, ProviderError, SendResult
from core.providers import http as provider_http

PUBLIC_HOST = "https://api.twilio.com"

# Twilio's error codes and what they mean for us (https://www.twilio.com/docs/api/errors).
CODE_SCOPES = {
    20429: ProviderError.RETRY,  # too many requests
    21211: ProviderError.RECIPIENT,  # the 'To' number is not a valid phone number
    21610: ProviderError.RECIPIENT,  # the recipient unsubscribed (replied STOP)
    21614: ProviderError.RECIPIENT,  # the 'To' number is not a mobile number
    21612: ProviderError.MESSAGE,  # this 'To'/'From' pair cannot be routed
    21408: ProviderError.MESSAGE,  # no permission to send to this region
    21617: ProviderError.MESSAGE,  # the body is too long
    30007: ProviderError.MESSAGE,  # filtered by the carrier
}

# MessageStatus values of the StatusCallback and the delivery they report (queued, accepted,
# scheduled, sending and canceled report nothing).
RECEIPT_STATUSES = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
}


def status_callback_url(channel) -> str:
    """The absolute URL Twilio posts receipts to (SITE_URL + our path)."""
    path = reverse("api-twilio-status", kwargs={"channel_code": channel.code})
    return settings.SITE_URL.rstrip("/") + path


def signature_of(auth_token: str, url: str, params: dict) -> str:
    """Twilio's request signature: HMAC-SHA1 under the auth token of the full URL followed by
    each POST parameter's name and value, sorted by name (a repeated name's values sorted
    too); base64. `params`: {name: value or [values]}."""
    payload = url
    for name in sorted(params):
        values = params[name] if isinstance(params[name], list | tuple) else [params[name]]
        payload += "".join(f"{name}{value}" for value in sorted(set(values)))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def is_valid_signature(auth_token: str, url: str, params: dict, given: str) -> bool:
    if not auth_token or not given:
        return False
    return hmac.compare_digest(signature_of(auth_token, url, params), given)


class TwilioProvider:
    def __init__(self, channel):
        self.channel = channel
        self.account_sid = provider_http.setting(channel, "account_sid")
        self.auth_token = provider_http.setting(channel, "auth_token")
        self.sender = provider_http.setting(channel, "from", required=False)
        self.service = provider_http.setting(channel, "messaging_service_sid", required=False)
        if not self.sender and not self.service:
            raise ProviderError(
                f"Channel {channel.code}: provider_settings need 'from' or "
                "'messaging_service_sid'.",
                scope=ProviderError.MESSAGE,
            )
        self.base = provider_http.base_url(channel, PUBLIC_HOST)
        self.timeout = provider_http.timeout_of(channel)

    def send(self, message: OutboundMessage) -> SendResult:
        form = {"To": message.to, "Body": message.text}
        if self.service:
            form["MessagingServiceSid"] = self.service
        else:
            form["From"] = self.sender
        form["StatusCallback"] = status_callback_url(self.channel)
        answer = provider_http.call(
            "POST",
            f"{self.base}/2010-04-01/Accounts/{self.account_sid}/Messages.json",
            form=form,
            timeout=self.timeout,
            headers={
                "Authorization": provider_http.basic_auth(self.account_sid, self.auth_token),
                # Twilio ignores it; Twilio-compatible gateways that honour one drop a resend.
                "I-Twilio-Idempotency-Token": message.idempotency_key,
            },
        )
        body = answer.body if isinstance(answer.body, dict) else {}
        if 200 <= answer.status < 300:
            # Accepted: never sent again, even by a gateway that forgets the sid.
            sid = str(body.get("sid") or message.idempotency_key)
            return SendResult(provider_message_id=sid, status="sent")
        raise error_of(answer)


def error_of(answer: provider_http.Answer) -> ProviderError:
    body = answer.body if isinstance(answer.body, dict) else {}
    try:
        code = int(body.get("code") or 0)
    except (TypeError, ValueError):
        code = 0
    text = str(body.get("message") or answer.text or "")[:300]
    reason = f"Twilio {answer.status}" + (f" ({code})" if code else "") + f": {text}"
    if answer.status == 429 or answer.status >= 500 or code == 20429:
        scope = ProviderError.RETRY
    elif answer.status in (401, 403):
        scope = ProviderError.RETRY  # our credentials: fixed by staff, then the rows go out
    else:
        scope = CODE_SCOPES.get(code, ProviderError.MESSAGE)
    return ProviderError(
        reason,
        scope=scope,
        retry_after=provider_http.retry_after_header(answer),
        code=code or answer.status,
    )
