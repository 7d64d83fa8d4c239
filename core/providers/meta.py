"""Messenger and Instagram through Meta's Send API
(https://developers.facebook.com/docs/messenger-platform/reference/send-api/).

Sending: `POST {base}/{version}/me/messages` with the page access token as a bearer token and
JSON `{"recipient": {"id": PSID or IGSID}, "messaging_type": ..., "message": {"text": ...}}`;
files by URL as `{"attachment": {"type": "image"|"file", "payload": {"url": ...}}}`
(Instagram takes images; other files go as their link in the text). Meta answers
`{"recipient_id", "message_id"}` or a Graph error `{"error": {"message", "type", "code",
"error_subcode", "fbtrace_id"}}`.

The 24-hour rule: a reply within 24 hours of the customer's last message is a `RESPONSE`;
after that, only with the `HUMAN_AGENT` tag (`messaging_type: MESSAGE_TAG`), allowed for 7 days
and only when the page was granted it (provider_settings `human_agent_tag: true`); otherwise
it is refused here, without calling, as Meta would (code 2018278).

Errors, mapped once: 613, 4, 17, 32, 80006 (rate limits), 1, 2 (temporary) and 5xx retry
(after Retry-After when given); 190 (the token) retries too, so the replies go out once staff
fix it; 551 (this person isn't available) and 100/2018001 (no matching user) make the
recipient unreachable; 10/2018278 (outside the allowed window) and every other error refuse
this message. The Send API takes no idempotency key: a reply is sent at most once because the
caller claims its row before sending (support.services.outbound.deliver).

Receipts come to the channel's webhook (support.adapters): `delivery` (mids, watermark) and
`read` (watermark).

provider_settings: `page_access_token`, optional `api_version` (default v21.0),
`human_agent_tag`, `api_base_url` (default https://graph.facebook.com), `timeout`.
"""

from datetime import timedelta

from django.utils import timezone

from core.providers import OutboundMessage, ProviderError, SendResult
from core.providers import http as provider_http

PUBLIC_HOST = "https://graph.facebook.com"
DEFAULT_VERSION = "v21.0"
WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
# Meta's code for "outside of the allowed window": the message fails with it.
WINDOW_CLOSED_CODE = "2018278"

RETRY_CODES = {1, 2, 4, 17, 32, 613, 80006, 190}
RECIPIENT_CODES = {551, 2018001}


def within(moment, window) -> bool:
    return moment is not None and timezone.now() - moment <= window


def truthy(value) -> bool:
    return value is True or str(value).strip().lower() in ("1", "true", "yes", "on")


def graph_error(answer: provider_http.Answer) -> tuple[int, int, str]:
    """(code, subcode, message) of a Graph API error answer."""
    body = answer.body if isinstance(answer.body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    try:
        code = int(error.get("code") or 0)
    except (TypeError, ValueError):
        code = 0
    try:
        subcode = int(error.get("error_subcode") or 0)
    except (TypeError, ValueError):
        subcode = 0
    details = (error.get("error_data") or {}) if isinstance(error.get("error_data"), dict) else {}
    text = str(error.get("message") or answer.text or "")[:300]
    if details.get("details"):
        text += f" ({str(details['details'])[:200]})"
    return code, subcode, text


class MetaSendProvider:
    name = "Meta"
    files_as_attachments = True

    def __init__(self, channel):
        self.channel = channel
        self.token = provider_http.setting(channel, "page_access_token")
        self.version = provider_http.setting(channel, "api_version", required=False)
        self.version = self.version or DEFAULT_VERSION
        self.human_agent = truthy(channel.provider_settings.get("human_agent_tag"))
        self.base = provider_http.base_url(channel, PUBLIC_HOST)
        self.timeout = provider_http.timeout_of(channel)

    def messaging_type(self, message: OutboundMessage) -> dict:
        if within(message.last_inbound_at, WINDOW):
            return {"messaging_type": "RESPONSE"}
        if self.human_agent and within(message.last_inbound_at, HUMAN_AGENT_WINDOW):
            return {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
        raise ProviderError(
            f"{self.name}: the customer last wrote more than "
            + ("7 days" if self.human_agent else "24 hours")
            + " ago; the message cannot be sent outside that window.",
            scope=ProviderError.MESSAGE,
            code=WINDOW_CLOSED_CODE,
        )

    def payloads(self, message: OutboundMessage) -> list[dict]:
        text = (message.text or "").strip()
        files = []
        for attachment in message.attachments or []:
            if not attachment.get("url"):
                continue
            is_image = str(attachment.get("content_type") or "").startswith("image/")
            if is_image or self.files_as_attachments:
                kind = "image" if is_image else "file"
                files.append({"attachment": {"type": kind, "payload": {"url": attachment["url"]}}})
            else:
                text = f"{text}\n{attachment['url']}".strip()
        payloads = ([{"text": text}] if text else []) + files
        if not payloads:
            raise ProviderError(
                f"A {self.name} message needs text or a file.", scope=ProviderError.MESSAGE
            )
        return payloads

    def send(self, message: OutboundMessage) -> SendResult:
        kind = self.messaging_type(message)
        first_id = ""
        for payload in self.payloads(message):
            answer = provider_http.call(
                "POST",
                f"{self.base}/{self.version}/me/messages",
                json_body={"recipient": {"id": message.to}, **kind, "message": payload},
                timeout=self.timeout,
                headers={"Authorization": f"Bearer {self.token}"},
            )
            body = answer.body if isinstance(answer.body, dict) else {}
            if 200 <= answer.status < 300 and body.get("message_id"):
                first_id = first_id or str(body["message_id"])
                continue
            error = self.error_of(answer)
            raise error.after_part_sent() if first_id else error
        return SendResult(provider_message_id=first_id, status="sent")

    def error_of(self, answer: provider_http.Answer) -> ProviderError:
        code, subcode, text = graph_error(answer)
        reason = f"{self.name} {answer.status}" + (f" (#{code})" if code else "") + f": {text}"
        if subcode == int(WINDOW_CLOSED_CODE):
            scope, code_kept = ProviderError.MESSAGE, WINDOW_CLOSED_CODE
        elif code in RECIPIENT_CODES or subcode in RECIPIENT_CODES:
            scope, code_kept = ProviderError.RECIPIENT, subcode if code == 100 else code
        elif answer.status == 429 or answer.status >= 500 or code in RETRY_CODES:
            scope, code_kept = ProviderError.RETRY, code or answer.status
        else:
            scope, code_kept = ProviderError.MESSAGE, code or answer.status
        return ProviderError(
            reason,
            scope=scope,
            retry_after=provider_http.retry_after_header(answer),
            code=code_kept,
        )


class MessengerProvider(MetaSendProvider):
    name = "Messenger"


class InstagramProvider(MetaSendProvider):
    name = "Instagram"
    files_as_attachments = False  # Instagram's Send API takes images, not files
