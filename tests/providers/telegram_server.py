"""A small real HTTP server speaking the Telegram Bot API's sending methods, started by tests on
loopback (tests/receivers.py style): `POST /bot{token}/sendMessage`, `sendPhoto`,
`sendDocument`, with a JSON body.

It validates the documented request (the token in the path, `chat_id`, `text` / `photo` /
`document`) and answers like the Bot API: `{"ok": true, "result": Message}` or
`{"ok": false, "error_code": n, "description": ..., "parameters": {...}}`. Switches:

    server.fail_next_with_429 = 2      # 429 "Too Many Requests: retry after n", parameters.retry_after
    server.retry_after = 3
    server.blocked.add(chat_id)        # 403 "Forbidden: bot was blocked by the user"
    server.unknown_chats.add(chat_id)  # 400 "Bad Request: chat not found"
    server.fail_next_with_500 = 1      # 500 Internal Server Error
    server.fail_after_accepting = 1    # accept this many messages, then answer 500 once

`received` lists every request as {"path", "method", "json", "status"}; `accepted` only the
messages it accepted, each with its "method", "json" and "message_id".
"""

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
FIELDS = {"sendMessage": "text", "sendPhoto": "photo", "sendDocument": "document"}


def failure(code, description, **parameters):
    answer = {"ok": False, "error_code": code, "description": description}
    if parameters:
        answer["parameters"] = parameters
    return code, answer


class TelegramServer:
    def __init__(self, token=TOKEN):
        self.token = token
        self.received = []
        self.accepted = []
        self.fail_next_with_429 = 0
        self.fail_next_with_500 = 0
        self.fail_after_accepting = None
        self.retry_after = 3
        self.blocked = set()
        self.unknown_chats = set()
        self.lock = threading.Lock()
        self.ids = itertools.count(1001)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = None
                with outer.lock:
                    method = self.path.rsplit("/", 1)[-1]
                    status, answer = outer.handle(self.path, body)
                    outer.received.append(
                        {"path": self.path, "method": method, "json": body, "status": status}
                    )
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def handle(self, path, body):
        prefix, _sep, method = path.strip("/").partition("/")
        if prefix != f"bot{self.token}":
            return failure(401, "Unauthorized")
        if method not in FIELDS:
            return failure(404, "Not Found")
        if not isinstance(body, dict):
            return failure(400, "Bad Request: invalid JSON")
        chat_id = str(body.get("chat_id") or "")
        if not chat_id:
            return failure(400, "Bad Request: chat_id is empty")
        field = FIELDS[method]
        if not str(body.get(field) or "").strip():
            if method == "sendMessage":
                return failure(400, "Bad Request: message text is empty")
            return failure(400, f"Bad Request: there is no {field} in the request")
        if (
            self.fail_after_accepting is not None
            and len(self.accepted) >= self.fail_after_accepting
        ):
            self.fail_after_accepting = None
            return failure(500, "Internal Server Error")
        if self.fail_next_with_500:
            self.fail_next_with_500 -= 1
            return failure(500, "Internal Server Error")
        if self.fail_next_with_429:
            self.fail_next_with_429 -= 1
            return failure(
                429,
                f"Too Many Requests: retry after {self.retry_after}",
                retry_after=self.retry_after,
            )
        if chat_id in self.unknown_chats:
            return failure(400, "Bad Request: chat not found")
        if chat_id in self.blocked:
            return failure(403, "Forbidden: bot was blocked by the user")
        message_id = next(self.ids)
        self.accepted.append({"method": method, "json": body, "message_id": message_id})
        result = {
            "message_id": message_id,
            "from": {"id": int(self.token.split(":")[0]), "is_bot": True, "first_name": "Shop"},
            "chat": {
                "id": int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id,
                "type": "private",
            },
            "date": int(time.time()),
        }
        if method == "sendMessage":
            result["text"] = body["text"]
        elif body.get("caption"):
            result["caption"] = body["caption"]
        return 200, {"ok": True, "result": result}
