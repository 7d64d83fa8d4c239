"""Telegram through the Bot API (https://core.telegram.org/bots/api).

Sending: `POST {base}/bot{token}/sendMessage` with JSON `chat_id` and `text` (at most 4,096
characters: a longer reply goes as several messages); attachments by URL through `sendPhoto`
(`photo`, images) and `sendDocument` (`document`, the rest), the text as the caption when it is
short enough (1,024 characters) and there is one attachment. The Bot API answers
`{"ok": true, "result": Message}` or `{"ok": false, "error_code", "description",
"parameters": {"retry_after": n}}`, mapped here once:

- 429 (flood control) and 5xx: retry, after `parameters.retry_after` seconds when given;
- 403 (the user blocked the bot, deleted the account, never started it) and 400 "chat not
  found": the recipient is unreachable;
- 401/404 (a wrong bot token): retried, so the replies go out once staff fix the token;
- any other 400: this message is refused.

Our message id is `chat_id:message_id` (message ids are unique per chat only). The Bot API
takes no idempotency key: a reply is sent at most once because the caller claims its row
before sending (support.services.outbound.deliver).

Receipts: Telegram tells bots neither delivery nor read, so a Telegram reply stays `sent`.

provider_settings: `bot_token`; optional `api_base_url` (a Bot API server of your own) and
`timeout`. Inbound: the webhook's `secret_token` is `inbound_secret` (support.adapters).
"""

from core.providers import OutboundMessage, ProviderError, SendResult
from core.providers import http as provider_http

PUBLIC_HOST = "https://api.telegram.org"
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


def chunks(text: str, size: int = TEXT_LIMIT) -> list[str]:
    """The text in pieces of at most `size` characters, cut at a line break or else a space
    when one is near."""
    pieces = []
    text = text.strip()
    while len(text) > size:
        cut = text.rfind("\n", size // 2, size)
        if cut <= 0:
            cut = text.rfind(" ", size // 2, size)
        cut = cut if cut > 0 else size
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


class TelegramProvider:
    def __init__(self, channel):
        self.channel = channel
        self.token = provider_http.setting(channel, "bot_token")
        self.base = provider_http.base_url(channel, PUBLIC_HOST)
        self.timeout = provider_http.timeout_of(channel)

    def parts(self, message: OutboundMessage) -> list[tuple[str, dict]]:
        """The Bot API calls this message takes, in order: (method, fields)."""
        chat = {"chat_id": message.to}
        attachments = [a for a in message.attachments or [] if a.get("url")]
        text = (message.text or "").strip()
        caption = ""
        if len(attachments) == 1 and text and len(text) <= CAPTION_LIMIT:
            caption, text = text, ""
        calls = [("sendMessage", {**chat, "text": piece}) for piece in chunks(text)]
        for attachment in attachments:
            is_image = str(attachment.get("content_type") or "").startswith("image/")
            method, field = ("sendPhoto", "photo") if is_image else ("sendDocument", "document")
            fields = {**chat, field: attachment["url"]}
            if caption:
                fields["caption"], caption = caption, ""
            calls.append((method, fields))
        if not calls:
            raise ProviderError(
                "A Telegram message needs text or a file.", scope=ProviderError.MESSAGE
            )
        return calls

    def send(self, message: OutboundMessage) -> SendResult:
        first_id = ""
        for method, fields in self.parts(message):
            answer = provider_http.call(
                "POST",
                f"{self.base}/bot{self.token}/{method}",
                json_body=fields,
                timeout=self.timeout,
            )
            body = answer.body if isinstance(answer.body, dict) else {}
            if answer.status == 200 and body.get("ok"):
                result = body.get("result") or {}
                first_id = first_id or f"{message.to}:{result.get('message_id', '')}"
                continue
            error = error_of(answer)
            raise error.after_part_sent() if first_id else error
        return SendResult(provider_message_id=first_id, status="sent")


def error_of(answer: provider_http.Answer) -> ProviderError:
    body = answer.body if isinstance(answer.body, dict) else {}
    code = int(body.get("error_code") or answer.status or 0)
    description = str(body.get("description") or answer.text or "")[:300]
    parameters = body.get("parameters") or {}
    reason = f"Telegram {code}: {description}"
    retry_after = None
    if code == 429 or answer.status == 429:
        scope = ProviderError.RETRY
        try:
            retry_after = float(parameters.get("retry_after"))
        except (TypeError, ValueError):
            retry_after = provider_http.retry_after_header(answer)
    elif code >= 500 or answer.status >= 500:
        scope = ProviderError.RETRY
    elif code == 403:
        scope = ProviderError.RECIPIENT  # blocked by the user, deactivated, never started
    elif code == 400 and "chat not found" in description.lower():
        scope = ProviderError.RECIPIENT
    elif code in (401, 404):
        scope = ProviderError.RETRY  # our bot token: fixed by staff, then the rows go out
    else:
        scope = ProviderError.MESSAGE
    return ProviderError(reason, scope=scope, retry_after=retry_after, code=code)
