"""A small real HTTP server speaking Meta's Graph API for messages, started by tests on
loopback (tests/receivers.py style): the WhatsApp Cloud API's
`POST /{version}/{phone_number_id}/messages` and the Send API's `POST /{version}/me/messages`
(Messenger and Instagram).

It validates the documented request (path with the version and the phone number id, the
bearer token, the JSON fields of a text, template or media message) and answers like Graph:
`{"messaging_product": "whatsapp", "contacts": [...], "messages": [{"id": "wamid..."}]}`,
`{"recipient_id": ..., "message_id": "m_..."}`, or an error
`{"error": {"message", "type", "code", "error_subcode", "error_data", "fbtrace_id"}}`.
Switches make it answer the errors a sender must handle:

    server.fail_next_with_429 = 2         # rate limited twice (WhatsApp 130429, Meta 613)
    server.retry_after = 3                # ... with a Retry-After header of 3 s (None: none)
    server.window_closed.add(recipient)   # WhatsApp 131047 / Meta 10 + subcode 2018278
    server.invalid_recipients.add(recipient)  # WhatsApp 131026 / Meta 100 + 2018001
    server.unavailable.add(recipient)     # Meta 551 (this person isn't available)
    server.templates = {("order_update", "fa"): 1}  # known templates and their parameter count

`received` lists every request as {"path", "headers", "json", "status"}; `accepted` only the
messages it accepted (what reached the customer), each with its returned "id".
"""

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "wa-access-token"
PAGE_TOKEN = "page-access-token"
PHONE_NUMBER_ID = "106540352242922"
VERSION = "v21.0"
MEDIA_TYPES = ("image", "document", "video", "audio")


def graph_error(code, message, *, subcode=None, kind="OAuthException", details=""):
    error = {"message": message, "type": kind, "code": code, "fbtrace_id": uuid.uuid4().hex[:11]}
    if subcode is not None:
        error["error_subcode"] = subcode
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return {"error": error}


class MetaServer:
    def __init__(
        self,
        *,
        token=TOKEN,
        page_token=PAGE_TOKEN,
        phone_number_id=PHONE_NUMBER_ID,
        version=VERSION,
    ):
        self.token = token
        self.page_token = page_token
        self.phone_number_id = phone_number_id
        self.version = version
        self.received = []
        self.accepted = []
        self.fail_next_with_429 = 0
        self.retry_after = None
        self.window_closed = set()
        self.invalid_recipients = set()
        self.unavailable = set()
        self.templates = None  # None: any template name is accepted
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"null")
                except ValueError:
                    body = None
                with outer.lock:
                    status, answer, headers = outer.handle(self.path, dict(self.headers), body)
                    outer.received.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "json": body,
                            "status": status,
                        }
                    )
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    # --- what tests read ------------------------------------------------------------------
    def bodies(self):
        return [item["json"] for item in self.accepted]

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    # --- the API --------------------------------------------------------------------------
    def handle(self, path, headers, body):
        parts = path.split("?", 1)[0].strip("/").split("/")
        if len(parts) != 3 or parts[2] != "messages" or parts[0] != self.version:
            return 404, graph_error(100, f"Unknown path components: /{'/'.join(parts)}"), {}
        auth = headers.get("Authorization", "")
        if parts[1] == "me":
            expected, answer = self.page_token, self._send_api
        elif parts[1] == self.phone_number_id:
            expected, answer = self.token, self._whatsapp
        else:
            return (
                400,
                graph_error(100, "Unsupported post request. Object does not exist", subcode=33),
                {},
            )
        if auth != f"Bearer {expected}":
            return 401, graph_error(190, "Invalid OAuth access token."), {}
        if not isinstance(body, dict):
            return 400, graph_error(100, "(#100) The parameter body must be a JSON object"), {}
        return answer(body)

    def _rate_limited(self, code, message):
        if not self.fail_next_with_429:
            return None
        self.fail_next_with_429 -= 1
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
        return 429, graph_error(code, message), headers

    def _whatsapp(self, body):
        if body.get("messaging_product") != "whatsapp":
            return 400, graph_error(100, "(#100) The parameter messaging_product is required."), {}
        to = str(body.get("to") or "")
        if not to:
            return 400, graph_error(100, "(#100) The parameter to is required."), {}
        kind = body.get("type") or "text"
        if kind == "text":
            if not (body.get("text") or {}).get("body"):
                return 400, graph_error(100, "(#100) The parameter text['body'] is required."), {}
        elif kind == "template":
            problem = self._template_problem(body.get("template") or {})
            if problem:
                return 400, problem, {}
        elif kind in MEDIA_TYPES:
            if not (body.get(kind) or {}).get("link") and not (body.get(kind) or {}).get("id"):
                return (
                    400,
                    graph_error(100, f"(#100) The parameter {kind}['link'] is required."),
                    {},
                )
        else:
            return (
                400,
                graph_error(100, "(#100) Param type must be one of {TEXT, TEMPLATE, ...}"),
                {},
            )
        limited = self._rate_limited(130429, "(#130429) Rate limit hit")
        if limited:
            return limited
        if to in self.invalid_recipients:
            return (
                400,
                graph_error(
                    131026, "(#131026) Message undeliverable", details="Unable to deliver message."
                ),
                {},
            )
        if kind != "template" and to in self.window_closed:
            return (
                400,
                graph_error(
                    131047,
                    "(#131047) Re-engagement message",
                    details="Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
                ),
                {},
            )
        wamid = "wamid." + uuid.uuid4().hex
        self.accepted.append({"json": body, "id": wamid})
        return (
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to.lstrip("+")}],
                "messages": [{"id": wamid}],
            },
            {},
        )

    def _template_problem(self, template):
        name = template.get("name")
        language = (template.get("language") or {}).get("code")
        if not name or not language:
            return graph_error(
                100, "(#100) The parameters template['name'] and ['language']['code'] are required."
            )
        given = [
            p
            for component in template.get("components") or []
            if component.get("type") == "body"
            for p in component.get("parameters") or []
        ]
        if any(p.get("type") != "text" or not str(p.get("text") or "") for p in given):
            return graph_error(131008, "(#131008) Required parameter is missing")
        if self.templates is None:
            return None
        if (name, language) not in self.templates:
            return graph_error(132001, "(#132001) Template name does not exist in the translation")
        if len(given) != self.templates[(name, language)]:
            return graph_error(
                132000,
                "(#132000) Number of parameters does not match the expected number of params",
            )
        return None

    def _send_api(self, body):
        recipient = str((body.get("recipient") or {}).get("id") or "")
        if not recipient:
            return 400, graph_error(100, "(#100) The parameter recipient is required"), {}
        messaging_type = body.get("messaging_type")
        if messaging_type not in ("RESPONSE", "UPDATE", "MESSAGE_TAG"):
            return (
                400,
                graph_error(
                    100,
                    "(#100) Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}",
                ),
                {},
            )
        if messaging_type == "MESSAGE_TAG" and body.get("tag") != "HUMAN_AGENT":
            return 400, graph_error(100, "(#100) Param tag must be a supported message tag"), {}
        message = body.get("message") or {}
        if not message.get("text") and not (message.get("attachment") or {}).get("payload", {}).get(
            "url"
        ):
            return (
                400,
                graph_error(100, "(#100) Must send either message text or an attachment"),
                {},
            )
        limited = self._rate_limited(613, "(#613) Calls to this api have exceeded the rate limit.")
        if limited:
            return limited
        if recipient in self.invalid_recipients:
            return 400, graph_error(100, "(#100) No matching user found", subcode=2018001), {}
        if recipient in self.unavailable:
            return (
                400,
                graph_error(551, "(#551) This person isn't available right now.", subcode=1545041),
                {},
            )
        if recipient in self.window_closed and messaging_type != "MESSAGE_TAG":
            return (
                400,
                graph_error(
                    10,
                    "(#10) This message is sent outside of allowed window.",
                    subcode=2018278,
                ),
                {},
            )
        mid = "m_" + uuid.uuid4().hex
        self.accepted.append({"json": body, "id": mid})
        return 200, {"recipient_id": recipient, "message_id": mid}, {}


def whatsapp_statuses(*statuses, phone_number_id=PHONE_NUMBER_ID):
    """A WhatsApp webhook carrying receipts: statuses are (wamid, status, recipient) or
    (wamid, "failed", recipient, [{"code": ..., "title": ...}])."""
    items = []
    for wamid, status, recipient, *errors in statuses:
        item = {"id": wamid, "status": status, "timestamp": "1733300000", "recipient_id": recipient}
        if errors:
            item["errors"] = errors[0]
        items.append(item)
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA-1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"phone_number_id": phone_number_id},
                            "statuses": items,
                        },
                    }
                ],
            }
        ],
    }


def meta_receipt(obj, sender, *, delivery_mids=None, watermark=None, read_watermark=None):
    """A Messenger ("page") or Instagram ("instagram") webhook with a delivery or read event
    from `sender` (the customer's PSID/IGSID); watermarks are epoch milliseconds."""
    event = {"sender": {"id": sender}, "recipient": {"id": "PAGE-1"}, "timestamp": 1733300000000}
    if read_watermark is not None:
        event["read"] = {"watermark": read_watermark}
    else:
        event["delivery"] = {"mids": list(delivery_mids or []), "watermark": watermark or 0}
    return {"object": obj, "entry": [{"id": "PAGE-1", "time": 1733300000000, "messaging": [event]}]}
