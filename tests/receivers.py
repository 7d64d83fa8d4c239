"""Real servers that tests start on loopback: an HTTP receiver and an SMTP server."""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


class HttpReceiver:
    """A real HTTP server on 127.0.0.1. Records (headers, body) of each POST; `fail_next`
    makes it answer `fail_status` that many times; `reply` is the JSON it answers with."""

    def __init__(self, reply=None, fail_status=500):
        self.received = []
        self.fail_next = 0
        self.fail_status = fail_status
        self.reply = reply
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.fail_next:
                    receiver.fail_next -= 1
                    self.send_response(receiver.fail_status)
                    self.end_headers()
                    return
                receiver.received.append((dict(self.headers), body))
                answer = receiver.reply(body) if callable(receiver.reply) else receiver.reply
                if answer is None:
                    self.send_response(204)
                    self.end_headers()
                    return
                payload = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def json_bodies(self):
        return [json.loads(body) for _headers, body in self.received]

    def wait_for(self, count, timeout=10.0):
        """Wait until `count` requests were received; True if they were."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return len(self.received) >= count

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it accepts."""

    def __init__(self):
        self.messages = []
        self.peers = []  # the client (host, port) of each message: one per SMTP connection
        self._lock = threading.Lock()
        server = self

        class Handler:
            async def handle_DATA(self, smtp_server, session, envelope):
                with server._lock:
                    server.messages.append(envelope)
                    server.peers.append(session.peer)
                return "250 Message accepted for delivery"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def wait_for(self, count, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.messages) < count:
            time.sleep(0.05)
        return self.messages

    def stop(self):
        self.controller.stop()
