"""SMS through Kavenegar (kavenegar.com), the gateway many Iranian shops use.

Sending: `POST {base}/v1/{api_key}/sms/send.json`, form-encoded `receptor`, `sender`,
`message` and `localid` (a number derived from our idempotency key: Kavenegar does not send a
second message with a localid it has seen). It answers
`{"return": {"status": 200, "message": "..."}, "entries": [{"messageid": ..., "status": ...}]}`;
any other `return.status` is an error, mapped once in STATUS_SCOPES (411 invalid receptor:
the recipient; 418 not enough credit: retry later; 412 sender, 413 message...: this message).

Receipts: Kavenegar has no callback for us to verify; its `sms/status.json?messageid=a,b,...`
call says where each message is. `poll_receipts` (the `core.poll_sms_receipts` beat task)
asks it for the recent messages still waiting for a final status (each app registers where
they are with `register_receipt_source`) and reports delivered and failed ones
through `core.providers.delivery_reported`, like every other provider's receipts.

provider_settings: `api_key`, `sender` (the line number); optional `api_base_url`, `timeout`.
"""

import hashlib
import logging
from datetime import timedelta

from django.utils import timezone

from core.models import Channel
from core.providers import OutboundMessage, ProviderError, SendResult, delivery_reported
from core.providers import http as provider_http

logger = logging.getLogger("omni.providers")

PUBLIC_HOST = "https://api.kavenegar.com"
STATUS_BATCH = 500  # message ids per status call (Kavenegar's limit)
POLL_WINDOW = timedelta(days=2)  # messages older than this are not asked about any more
CREDIT_RETRY_SECONDS = 900  # 418: the shop tops up its credit; try again in a while

# return.status values (Kavenegar's REST documentation) and what they mean for us.
STATUS_SCOPES = {
    401: ProviderError.RETRY,  # account disabled
    402: ProviderError.RETRY,  # the operation failed at Kavenegar
    403: ProviderError.RETRY,  # API key not valid: staff fix it, then the rows go out
    407: ProviderError.RETRY,  # no access to this information
    409: ProviderError.RETRY,  # the server cannot answer now
    411: ProviderError.RECIPIENT,  # the receptor is not valid
    412: ProviderError.MESSAGE,  # the sender (line) is not valid
    413: ProviderError.MESSAGE,  # the message is empty or too long
    414: ProviderError.MESSAGE,  # too many receptors
    418: ProviderError.RETRY,  # not enough credit
    422: ProviderError.MESSAGE,  # characters that cannot be sent
}

# Message statuses of the status call and the delivery they report; the rest (1 queued,
# 2 scheduled, 4 and 5 handed to the operator) are not final yet.
RECEIPT_STATUSES = {
    10: "delivered",
    6: "failed",  # failed to send
    11: "failed",  # not delivered
    13: "failed",  # cancelled by the sender
    14: "failed",  # blocked by the recipient
}


_receipt_sources = []


def register_receipt_source(source):
    """An app says where its messages waiting for a receipt are: `source(channel, since)`
    returns the provider message ids of its messages on that channel sent since then that
    have no final status yet (delivered, read, failed). Called from the app's ready()."""
    if source not in _receipt_sources:
        _receipt_sources.append(source)


def local_id(idempotency_key: str) -> str:
    return str(int(hashlib.sha256(idempotency_key.encode()).hexdigest()[:15], 16))


class KavenegarProvider:
    def __init__(self, channel):
        self.channel = channel
        self.api_key = provider_http.setting(channel, "api_key")
        self.sender = provider_http.setting(channel, "sender", required=False)
        self.base = provider_http.base_url(channel, PUBLIC_HOST)
        self.timeout = provider_http.timeout_of(channel)

    def _url(self, method: str) -> str:
        return f"{self.base}/v1/{self.api_key}/sms/{method}.json"

    def send(self, message: OutboundMessage) -> SendResult:
        form = {
            "receptor": message.to,
            "message": message.text,
            "localid": local_id(message.idempotency_key),
        }
        if self.sender:
            form["sender"] = self.sender
        answer = provider_http.call("POST", self._url("send"), form=form, timeout=self.timeout)
        status, text = _return_of(answer)
        if status == 200:
            entries = answer.body.get("entries") or [{}]
            message_id = str(entries[0].get("messageid") or "")
            return SendResult(provider_message_id=message_id or message.idempotency_key)
        scope = STATUS_SCOPES.get(status)
        if scope is None:
            scope = ProviderError.RETRY if status >= 500 or status == 429 else ProviderError.MESSAGE
        retry_after = provider_http.retry_after_header(answer)
        if status == 418 and retry_after is None:
            retry_after = CREDIT_RETRY_SECONDS
        raise ProviderError(
            f"Kavenegar {status}: {text}", scope=scope, retry_after=retry_after, code=status
        )

    def statuses(self, message_ids) -> dict[str, int]:
        """{messageid: Kavenegar status} for up to STATUS_BATCH ids. Raises ProviderError."""
        answer = provider_http.call(
            "POST",
            self._url("status"),
            form={"messageid": ",".join(str(i) for i in message_ids)},
            timeout=self.timeout,
        )
        status, text = _return_of(answer)
        if status != 200:
            raise ProviderError(f"Kavenegar {status}: {text}", scope=ProviderError.RETRY)
        found = {}
        for entry in answer.body.get("entries") or []:
            try:
                found[str(entry["messageid"])] = int(entry["status"])
            except (KeyError, TypeError, ValueError):
                continue
        return found


def _return_of(answer) -> tuple[int, str]:
    """Kavenegar's own status and message (`return`), or the HTTP status when absent."""
    body = answer.body if isinstance(answer.body, dict) else {}
    returned = body.get("return") if isinstance(body.get("return"), dict) else {}
    try:
        status = int(returned.get("status") or answer.status)
    except (TypeError, ValueError):
        status = answer.status
    return status, str(returned.get("message") or answer.text or "")[:300]


def poll_receipts(*, now=None) -> int:
    """Ask Kavenegar about the recent messages of every Kavenegar channel that still wait
    for a final status; report those that reached one. Returns the number reported. A channel
    whose status call fails is skipped this time (the next run asks again)."""
    now = now or timezone.now()
    reported = 0
    for channel in Channel.objects.filter(provider="kavenegar"):
        pending = set()
        for source in _receipt_sources:
            pending.update(str(i) for i in source(channel, now - POLL_WINDOW) if i)
        if not pending:
            continue
        try:
            provider = KavenegarProvider(channel)
        except ProviderError:
            logger.warning("channel %s cannot ask Kavenegar for receipts", channel.code)
            continue
        ids = sorted(pending)
        for start in range(0, len(ids), STATUS_BATCH):
            try:
                found = provider.statuses(ids[start : start + STATUS_BATCH])
            except ProviderError as error:
                logger.warning("Kavenegar status call failed for %s: %s", channel.code, error)
                break
            for message_id, code in found.items():
                status = RECEIPT_STATUSES.get(code)
                if status is None or message_id not in pending:
                    continue
                delivery_reported.send(
                    sender=Channel,
                    channel=channel,
                    provider_message_id=message_id,
                    status=status,
                    detail={"kavenegar_status": code},
                )
                reported += 1
    return reported
