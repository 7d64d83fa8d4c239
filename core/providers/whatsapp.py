"""WhatsApp through the Cloud API
(https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages).

Sending: `POST {base}/{version}/{phone_number_id}/messages` with the access token as a bearer
token and JSON `{"messaging_product": "whatsapp", "recipient_type": "individual", "to": ...,
"type": "text", "text": {"body": ...}}`; a template message (`"type": "template"`, its name,
language code and body parameters) when `message.template` is set; files by URL as
`image` / `document` messages with a `link`. The API answers `{"messaging_product",
"contacts", "messages": [{"id": "wamid..."}]}` or a Graph error.

The 24-hour customer-service window: free text only within 24 hours of the customer's last
message (`message.last_inbound_at`); otherwise it is refused here without calling, with
WhatsApp's own code 131047, as the API would: the agent sends an approved template instead
(core.models.ProviderTemplate).

Errors, mapped once (https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes):
130429 (throughput), 131056 (pair rate limit), 80007, 4, 613 (rate limits), 1, 2, 131000,
131016 (temporary) and 5xx retry, after Retry-After when given; 190 (the token) retries too,
so the replies go out once staff fix it; 131026 (undeliverable: not on WhatsApp, or cannot
receive) and 131021 (recipient is the sender) make the recipient unreachable; 131047 (window
closed), 132xxx (template) and every other error refuse this message. The Cloud API takes no
idempotency key: a reply is sent at most once because the caller claims its row before
sending (support.services.outbound.deliver).

Receipts (sent, delivered, read, failed) come as `statuses` to the channel's webhook
(support.adapters.parse_whatsapp).

provider_settings: `access_token`, `phone_number_id`, optional `api_version` (default v21.0),
`api_base_url` (default https://graph.facebook.com), `timeout`.
"""

from core.providers import OutboundMessage, ProviderError, SendResult
from core.providers import http as provider_http
from core.providers.meta import DEFAULT_VERSION, PUBLIC_HOST, WINDOW, graph_error, within

WINDOW_CLOSED_CODE = "131047"
RETRY_CODES = {1, 2, 4, 613, 80007, 130429, 131000, 131016, 131056, 190}
RECIPIENT_CODES = {131026, 131021}


class WhatsAppProvider:
    def __init__(self, channel):
        self.channel = channel
        self.token = provider_http.setting(channel, "access_token")
        self.phone_number_id = provider_http.setting(channel, "phone_number_id")
        self.version = provider_http.setting(channel, "api_version", required=False)
        self.version = self.version or DEFAULT_VERSION
        self.base = provider_http.base_url(channel, PUBLIC_HOST)
        self.timeout = provider_http.timeout_of(channel)

    def payloads(self, message: OutboundMessage) -> list[dict]:
        common = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": message.to}
        if message.template:
            return [{**common, "type": "template", "template": template_of(message.template)}]
        if not within(message.last_inbound_at, WINDOW):
            raise ProviderError(
                "WhatsApp: the customer last wrote more than 24 hours ago; outside that window "
                "only an approved template can be sent.",
                scope=ProviderError.MESSAGE,
                code=WINDOW_CLOSED_CODE,
            )
        payloads = []
        text = (message.text or "").strip()
        if text:
            payloads.append(
                {**common, "type": "text", "text": {"preview_url": False, "body": text}}
            )
        for attachment in message.attachments or []:
            if not attachment.get("url"):
                continue
            if str(attachment.get("content_type") or "").startswith("image/"):
                payloads.append({**common, "type": "image", "image": {"link": attachment["url"]}})
            else:
                document = {"link": attachment["url"]}
                if attachment.get("name"):
                    document["filename"] = str(attachment["name"])
                payloads.append({**common, "type": "document", "document": document})
        if not payloads:
            raise ProviderError(
                "A WhatsApp message needs text or a file.", scope=ProviderError.MESSAGE
            )
        return payloads

    def send(self, message: OutboundMessage) -> SendResult:
        first_id = ""
        for payload in self.payloads(message):
            answer = provider_http.call(
                "POST",
                f"{self.base}/{self.version}/{self.phone_number_id}/messages",
                json_body=payload,
                timeout=self.timeout,
                headers={"Authorization": f"Bearer {self.token}"},
            )
            body = answer.body if isinstance(answer.body, dict) else {}
            sent = body.get("messages") or []
            if 200 <= answer.status < 300 and sent and sent[0].get("id"):
                first_id = first_id or str(sent[0]["id"])
                continue
            error = error_of(answer)
            raise error.after_part_sent() if first_id else error
        return SendResult(provider_message_id=first_id, status="sent")


def template_of(template: dict) -> dict:
    """The Cloud API's template object from {"name", "language", "parameters": [str, ...]}."""
    name = str(template.get("name") or "").strip()
    language = str(template.get("language") or "").strip()
    if not name or not language:
        raise ProviderError(
            "A WhatsApp template needs its name and language.", scope=ProviderError.MESSAGE
        )
    body = {"name": name, "language": {"code": language}}
    parameters = [str(value) for value in template.get("parameters") or []]
    if parameters:
        body["components"] = [
            {"type": "body", "parameters": [{"type": "text", "text": p} for p in parameters]}
        ]
    return body


def error_of(answer: provider_http.Answer) -> ProviderError:
    code, _subcode, text = graph_error(answer)
    reason = f"WhatsApp {answer.status}" + (f" (#{code})" if code else "") + f": {text}"
    if code in RECIPIENT_CODES:
        scope = ProviderError.RECIPIENT
    elif answer.status == 429 or answer.status >= 500 or code in RETRY_CODES:
        scope = ProviderError.RETRY
    else:
        scope = ProviderError.MESSAGE  # 131047 window closed, 132xxx templates, 100 params...
    return ProviderError(
        reason,
        scope=scope,
        retry_after=provider_http.retry_after_header(answer),
        code=code or answer.status,
    )
