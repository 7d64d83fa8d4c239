"""Small real HTTP servers speaking the SMS gateways' APIs, started by tests on loopback
(tests/receivers.py style): Twilio's Messages resource and Kavenegar's send and status calls.

Each validates the documented request (path, authentication, form fields) and answers as the
real API does, including its errors; switches make it answer the errors a sender must handle:

    twilio.fail_next_with_429 = 2      # two 429s (code 20429) with Retry-After
    twilio.invalid_numbers.add("+1555")  # 400, code 21211
    twilio.unsubscribed.add("+98912...")  # 400, code 21610 (the recipient sent STOP)
    kavenegar.invalid_receptors.add(...)  # return.status 411
    kavenegar.low_credit = True           # return.status 418
    kavenegar.statuses[messageid] = 10    # what sms/status.json says (10: delivered)
"""

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class _Server:
    """A threaded HTTP server on 127.0.0.1 whose requests go to `self.handle(method, path,
    query, headers, form)`, which returns (status, json body, extra headers)."""

    def __init__(self):
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                form = {}
                if raw:
                    if not self.headers.get("Content-Type", "").startswith(
                        "application/x-www-form-urlencoded"
                    ):
                        self._answer(415, {"message": "form-encoded body expected"}, {})
                        return
                    form = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
                query = {k: v[-1] for k, v in parse_qs(split.query).items()}
                status, body, headers = outer.handle(
                    method, split.path, query, dict(self.headers), form
                )
                self._answer(status, body, headers)

            def _answer(self, status, body, headers):
                payload = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self):
                self._serve("POST")

            def do_GET(self):
                self._serve("GET")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class TwilioServer(_Server):
    """`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP Basic auth with the
    account SID and auth token, form fields To, Body, From or MessagingServiceSid, and an
    optional StatusCallback. Answers 201 with the Message resource, or Twilio's error body
    `{"code", "message", "more_info", "status"}`. `received`: the forms it accepted."""

    def __init__(self, account_sid="AC" + "0" * 32, auth_token="twilio-token"):  # noqa: S107
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.received = []
        self.refused = []  # (status, code, form) of every request answered with an error
        self.fail_next_with_429 = 0
        self.retry_after = 1
        self.invalid_numbers = set()
        self.unsubscribed = set()
        super().__init__()

    def _error(self, status, code, message, form, headers=None):
        with self.lock:
            self.refused.append((status, code, form))
        return (
            status,
            {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
            headers or {},
        )

    def handle(self, method, path, query, headers, form):
        if path != f"/2010-04-01/Accounts/{self.account_sid}/Messages.json":
            return self._error(404, 20404, "The requested resource was not found", form)
        if method != "POST":
            return self._error(405, 20004, "Method not allowed", form)
        expected = (
            "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        )
        if not hmac.compare_digest(headers.get("Authorization", ""), expected):
            return self._error(401, 20003, "Authenticate", form)
        with self.lock:
            if self.fail_next_with_429:
                self.fail_next_with_429 -= 1
                throttled = True
            else:
                throttled = False
        if throttled:
            return self._error(
                429,
                20429,
                "Too Many Requests",
                form,
                {"Retry-After": str(self.retry_after)},
            )
        if not form.get("To"):
            return self._error(400, 21604, "A 'To' phone number is required.", form)
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return self._error(400, 21603, "A 'From' phone number is required.", form)
        if not form.get("Body") and not form.get("MediaUrl"):
            return self._error(400, 21602, "Message body is required.", form)
        if form["To"] in self.invalid_numbers:
            return self._error(
                400, 21211, f"The 'To' number {form['To']} is not a valid phone number.", form
            )
        if form["To"] in self.unsubscribed:
            return self._error(400, 21610, "Attempt to send to unsubscribed recipient", form)
        sid = "SM" + uuid.uuid4().hex
        with self.lock:
            self.received.append({**form, "sid": sid})
        return (
            201,
            {
                "account_sid": self.account_sid,
                "api_version": "2010-04-01",
                "body": form["Body"],
                "direction": "outbound-api",
                "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "num_segments": "1",
                "sid": sid,
                "status": "queued" if form.get("From") else "accepted",
                "to": form["To"],
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            },
            {},
        )

    def signature(self, url, params):
        """What Twilio puts in X-Twilio-Signature when it posts `params` to `url`."""
        payload = url + "".join(f"{name}{params[name]}" for name in sorted(params))
        digest = hmac.new(self.auth_token.encode(), payload.encode(), hashlib.sha1).digest()
        return base64.b64encode(digest).decode()


# Kavenegar's message statuses (its REST documentation) as the status call reports them.
KAVENEGAR_STATUS_TEXT = {
    1: "در صف ارسال",
    2: "زمان بندی شده",
    4: "ارسال شده به مخابرات",
    5: "ارسال شده به مخابرات",
    6: "خطا در ارسال پیام",
    10: "رسیده به گیرنده",
    11: "نرسیده به گیرنده",
    13: "ارسال پیام از سمت کاربر لغو شده",
    14: "بلاک شده توسط گیرنده",
    100: "شناسه پیامک نامعتبر است",
}


class KavenegarServer(_Server):
    """`{base}/v1/{API-KEY}/sms/send.json` (GET or POST; receptor, message, sender, localid)
    and `/v1/{API-KEY}/sms/status.json` (messageid, comma-separated). Answers
    `{"return": {"status", "message"}, "entries": [...]}` with the HTTP status equal to
    return.status, as Kavenegar does. A localid seen before is not sent again: its first
    entry is answered. `received`: the forms of the messages it accepted."""

    def __init__(self, api_key="kavenegar-key"):
        self.api_key = api_key
        self.received = []
        self.invalid_receptors = set()
        self.low_credit = False
        self.statuses = {}  # messageid -> status code; 1 (queued) until a test says more
        self.status_calls = []
        self._next_id = 707000
        self._by_local_id = {}
        super().__init__()

    @staticmethod
    def _return(status, message, entries=None):
        return status, {"return": {"status": status, "message": message}, "entries": entries}, {}

    def handle(self, method, path, query, headers, form):
        params = {**query, **form}
        prefix = f"/v1/{self.api_key}/sms/"
        if not path.startswith("/v1/") or not path.endswith(".json"):
            return self._return(404, "متد پیدا نشد")
        if not path.startswith(prefix):
            return self._return(403, "کد شناسائی API-Key معتبر نمی‌باشد")
        name = path[len(prefix) : -len(".json")]
        if name == "send":
            return self._send(params)
        if name == "status":
            return self._status(params)
        return self._return(404, "متد پیدا نشد")

    def _send(self, params):
        receptor, message = params.get("receptor", ""), params.get("message", "")
        if not receptor or not message:
            return self._return(400, "پارامترها ناقص هستند")
        if receptor in self.invalid_receptors:
            return self._return(411, "دریافت کننده نامعتبر است")
        if self.low_credit:
            return self._return(418, "اعتبار حساب شما کافی نیست")
        with self.lock:
            local_id = params.get("localid")
            if local_id and local_id in self._by_local_id:
                return self._return(200, "تایید شد", [self._by_local_id[local_id]])
            self._next_id += 1
            entry = {
                "messageid": self._next_id,
                "message": message,
                "status": 1,
                "statustext": KAVENEGAR_STATUS_TEXT[1],
                "sender": params.get("sender", "10004346"),
                "receptor": receptor,
                "date": int(time.time()),
                "cost": 120,
            }
            if local_id:
                self._by_local_id[local_id] = entry
            self.received.append(params)
        return self._return(200, "تایید شد", [entry])

    def _status(self, params):
        ids = [i for i in params.get("messageid", "").split(",") if i]
        if not ids:
            return self._return(400, "پارامترها ناقص هستند")
        with self.lock:
            self.status_calls.append(ids)
        entries = []
        for message_id in ids:
            known = message_id.isdigit() and 707000 < int(message_id) <= self._next_id
            code = self.statuses.get(int(message_id), 1) if known else 100
            entries.append(
                {
                    "messageid": int(message_id) if message_id.isdigit() else message_id,
                    "status": code,
                    "statustext": KAVENEGAR_STATUS_TEXT[code],
                }
            )
        return self._return(200, "تایید شد", entries)
