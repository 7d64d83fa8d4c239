"""Small real HTTP servers speaking the ad platforms' documented shapes, on loopback:

- GoogleAdsServer: Google's OAuth token endpoint (`POST /token`, the refresh flow), the
  Google Ads REST API's OfflineUserDataJobService (`offlineUserDataJobs:
  create`, `{job}:addOperations`, `{job}:run`) and `customers/{cid}:uploadClickConversions`.
  It checks the `Authorization: Bearer`, `developer-token` headers, the job type and user
  list, that each operation holds exactly one of create/remove with SHA-256 identifiers,
  and answers Google's JSON error `{"error": {"code", "message", "status", "details":
  [{"@type": ...GoogleAdsFailure, "errors": [...]}]}}` or a 200 with `partialFailureError`.
  `members[user_list]` is what a run job left in the list.
- MetaServer: `POST`/`DELETE /{version}/{audience_id}/users` (form field `payload`, JSON
  `{"schema", "data"}`) and the Conversions API's `POST /{version}/{dataset}/events`; Graph
  errors `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`.

Switches: `server.fail_next.append((status, body))` answers the next request with that error.
"""

import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

SHA256 = re.compile(r"^[0-9a-f]{64}$")


class _Server:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.fail_next = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                content_type = self.headers.get("Content-Type", "")
                body = {}
                if raw and content_type.startswith("application/json"):
                    body = json.loads(raw)
                elif raw and content_type.startswith("application/x-www-form-urlencoded"):
                    body = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
                elif raw:
                    self._answer(415, {"error": {"message": "unsupported body"}}, {})
                    return
                path = urlsplit(self.path).path
                with outer.lock:
                    outer.requests.append((method, path, body))
                    failure = outer.fail_next.pop(0) if outer.fail_next else None
                if failure is not None:
                    status, answer = failure[:2]
                    headers = failure[2] if len(failure) > 2 else {}
                    self._answer(status, answer, headers)
                    return
                # Header names are case-insensitive (urllib sends `Developer-token`).
                headers = {name.lower(): value for name, value in self.headers.items()}
                status, answer = outer.handle(method, path, headers, body)
                self._answer(status, answer, {})

            def _answer(self, status, body, headers):
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self):
                self._serve("POST")

            def do_DELETE(self):
                self._serve("DELETE")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# --- Google Ads --------------------------------------------------------------------------


def google_error(code, status, message, errors=()):
    return {
        "error": {
            "code": code,
            "message": message,
            "status": status,
            "details": [
                {
                    "@type": "type.googleapis.com/google.ads.googleads.v22.errors.GoogleAdsFailure",
                    "errors": list(errors),
                    "requestId": uuid.uuid4().hex[:22],
                }
            ],
        }
    }


RATE_LIMITED = (
    429,
    google_error(
        429,
        "RESOURCE_EXHAUSTED",
        "Too many requests.",
        [{"errorCode": {"quotaError": "RESOURCE_EXHAUSTED"}, "message": "Too many requests."}],
    ),
)
UNAVAILABLE = (503, google_error(503, "UNAVAILABLE", "The service is currently unavailable."))


class GoogleAdsServer(_Server):
    VERSION = "v22"
    IDENTIFIERS = {"hashedEmail": "email", "hashedPhoneNumber": "phone"}

    def __init__(
        self, *, token="ya29.test-token", developer_token="dev-token", customer="1234567890"
    ):
        self.token, self.developer_token, self.customer = token, developer_token, customer
        self.client_id, self.client_secret = "client-1.apps.googleusercontent.com", "secret-1"
        self.refresh_token = "1//refresh-token"
        self.token_requests = 0
        self.user_lists = {"5550001"}
        self.jobs = {}
        self.members = {}
        self.removed = []  # (user list, kind, digest) of every remove operation run
        self.bad_digests = set()  # partial failure for operations naming these
        self.conversions = []
        self.unknown_gclids = set()
        super().__init__()

    def handle(self, method, path, headers, body):
        if path == "/token":
            return self._token(headers, body)
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, google_error(
                401,
                "UNAUTHENTICATED",
                "Request is missing required authentication credential.",
                [{"errorCode": {"authenticationError": "OAUTH_TOKEN_INVALID"}, "message": "bad"}],
            )
        if headers.get("developer-token") != self.developer_token:
            return 401, google_error(
                401,
                "UNAUTHENTICATED",
                "The developer token is not valid.",
                [{"errorCode": {"authenticationError": "DEVELOPER_TOKEN_INVALID"}, "message": ""}],
            )
        prefix = f"/{self.VERSION}/customers/{self.customer}"
        if method != "POST" or not path.startswith(prefix):
            return 404, google_error(404, "NOT_FOUND", f"{path} not found")
        rest = path[len(prefix) :]
        if rest == "/offlineUserDataJobs:create":
            return self._create(body)
        match = re.fullmatch(r"/offlineUserDataJobs/(\d+):(addOperations|run)", rest)
        if match:
            job = self.jobs.get(match[1])
            if job is None:
                return 404, google_error(404, "NOT_FOUND", "job not found")
            return self._add(job, body) if match[2] == "addOperations" else self._run(job)
        if rest == ":uploadClickConversions":
            return self._conversions(body)
        return 404, google_error(404, "NOT_FOUND", f"{path} not found")

    def _token(self, headers, body):
        """Google's OAuth 2.0 token endpoint, the refresh flow: a form, a JSON answer."""
        if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return 400, {"error": "invalid_request", "error_description": "form expected"}
        self.token_requests += 1
        if body.get("grant_type") != "refresh_token" or (
            body.get("client_id"),
            body.get("client_secret"),
            body.get("refresh_token"),
        ) != (self.client_id, self.client_secret, self.refresh_token):
            return 400, {"error": "invalid_grant", "error_description": "Bad Request"}
        return 200, {"access_token": self.token, "expires_in": 3599, "token_type": "Bearer"}

    def _invalid(self, message, code):
        return 400, google_error(
            400, "INVALID_ARGUMENT", "Request contains an invalid argument.",
            [{"errorCode": code, "message": message}],
        )  # fmt: skip

    def _create(self, body):
        job = body.get("job") or {}
        metadata = job.get("customerMatchUserListMetadata") or {}
        if job.get("type") != "CUSTOMER_MATCH_USER_LIST":
            return self._invalid("job type", {"offlineUserDataJobError": "INVALID_JOB_TYPE"})
        match = re.fullmatch(
            rf"customers/{self.customer}/userLists/(\d+)", metadata.get("userList", "")
        )
        if not match or match[1] not in self.user_lists:
            return self._invalid(
                "The user list is not valid.", {"offlineUserDataJobError": "INVALID_USER_LIST_ID"}
            )
        job_id = str(len(self.jobs) + 1001)
        self.jobs[job_id] = {"list": match[1], "operations": [], "ran": False}
        return 200, {"resourceName": f"customers/{self.customer}/offlineUserDataJobs/{job_id}"}

    def _add(self, job, body):
        if job["ran"]:
            return self._invalid(
                "job already ran", {"offlineUserDataJobError": "INVALID_JOB_STATUS"}
            )
        operations = body.get("operations")
        if not isinstance(operations, list) or not operations:
            return self._invalid("operations required", {"requestError": "REQUIRED_FIELD_MISSING"})
        failures = []
        for index, operation in enumerate(operations):
            verbs = [verb for verb in ("create", "remove") if verb in operation]
            if len(verbs) != 1:
                return self._invalid("one of create/remove", {"requestError": "BAD_RESOURCE_ID"})
            identifiers = operation[verbs[0]].get("userIdentifiers") or []
            for identifier in identifiers:
                ((field, value),) = identifier.items()
                if field not in self.IDENTIFIERS or not SHA256.match(value):
                    return self._invalid(
                        "not a SHA-256 identifier", {"fieldError": "INVALID_VALUE"}
                    )
                if value in self.bad_digests and body.get("enablePartialFailure"):
                    failures.append(index)
                    continue
                job["operations"].append((verbs[0], self.IDENTIFIERS[field], value))
        answer = {}
        if failures:
            answer["partialFailureError"] = google_error(
                3, "INVALID_ARGUMENT", "Multiple errors in details.",
                [
                    {
                        "errorCode": {"offlineUserDataJobError": "INVALID_SHA256_FORMAT"},
                        "message": "The SHA256 encoded value is malformed.",
                        "location": {"fieldPathElements": [{"fieldName": "operations", "index": i}]},
                    }
                    for i in failures
                ],
            )["error"]  # fmt: skip
        return 200, answer

    def _run(self, job):
        job["ran"] = True
        members = self.members.setdefault(job["list"], set())
        for verb, kind, digest in job["operations"]:
            if verb == "create":
                members.add((kind, digest))
            else:
                members.discard((kind, digest))
                self.removed.append((job["list"], kind, digest))
        return 200, {"name": f"customers/{self.customer}/operations/{uuid.uuid4().hex}"}

    def _conversions(self, body):
        if body.get("partialFailure") is not True:
            return self._invalid(
                "partialFailure must be true", {"requestError": "REQUIRED_FIELD_MISSING"}
            )
        results, failures = [], []
        for index, item in enumerate(body.get("conversions") or []):
            for field in ("gclid", "conversionAction", "conversionDateTime", "currencyCode"):
                if not item.get(field):
                    return self._invalid(
                        f"{field} required", {"requestError": "REQUIRED_FIELD_MISSING"}
                    )
            if not re.fullmatch(
                r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d", item["conversionDateTime"]
            ):
                return self._invalid(
                    "conversionDateTime", {"dateError": "INVALID_FIELD_VALUES_IN_DATE_TIME"}
                )
            if item["gclid"] in self.unknown_gclids:
                failures.append(index)
                results.append({})
                continue
            self.conversions.append(item)
            results.append({"gclid": item["gclid"], "conversionAction": item["conversionAction"],
                            "conversionDateTime": item["conversionDateTime"]})  # fmt: skip
        answer = {"results": results}
        if failures:
            answer["partialFailureError"] = google_error(
                3, "INVALID_ARGUMENT", "Multiple errors in details.",
                [
                    {
                        "errorCode": {"conversionUploadError": "UNPARSEABLE_GCLID"},
                        "message": "The click identifier could not be decoded.",
                        "location": {"fieldPathElements": [{"fieldName": "conversions", "index": i}]},
                    }
                    for i in failures
                ],
            )["error"]  # fmt: skip
        return 200, answer


# --- Meta --------------------------------------------------------------------------------


def graph_error(code, message, *, kind="OAuthException", subcode=None, transient=False):
    error = {"message": message, "type": kind, "code": code, "fbtrace_id": uuid.uuid4().hex[:11]}
    if subcode:
        error["error_subcode"] = subcode
    if transient:
        error["is_transient"] = True
    return {"error": error}


META_RATE_LIMITED = (400, graph_error(80003, "There have been too many calls to this ad-account."))
META_DOWN = (500, graph_error(2, "Service temporarily unavailable", transient=True))


class MetaServer(_Server):
    VERSION = "v21.0"
    SCHEMAS = {"EMAIL_SHA256": "email", "PHONE_SHA256": "phone"}

    def __init__(self, *, token="EAAB-test-token"):
        self.token = token
        self.audiences = {"23850000000001": set()}
        self.removed = []  # (audience, kind, digest) of every DELETE
        self.events = []
        super().__init__()

    def handle(self, method, path, headers, body):
        if headers.get("authorization") != f"Bearer {self.token}":
            return 400, graph_error(190, "Invalid OAuth access token - Cannot parse access token")
        match = re.fullmatch(rf"/{re.escape(self.VERSION)}/(\d+)/(users|events)", path)
        if not match:
            return 400, graph_error(100, "Unknown path", kind="GraphMethodException")
        if match[2] == "events":
            return (
                self._events(match[1], body)
                if method == "POST"
                else (400, graph_error(100, "POST only"))
            )
        audience = self.audiences.get(match[1])
        if audience is None:
            return 400, graph_error(
                100,
                f"Unsupported post request. Object with ID '{match[1]}' does not exist",
                kind="GraphMethodException",
                subcode=33,
            )
        try:
            payload = json.loads(body.get("payload") or "")
        except ValueError:
            return 400, graph_error(100, "(#100) payload must be JSON", kind="OAuthException")
        schema = payload.get("schema")
        if not isinstance(schema, list) or len(schema) != 1 or schema[0] not in self.SCHEMAS:
            return 400, graph_error(100, "(#100) Invalid schema", subcode=1870053)
        rows = payload.get("data") or []
        if not rows or len(rows) > 10_000:
            return 400, graph_error(100, "(#100) data must hold 1 to 10000 rows")
        kind = self.SCHEMAS[schema[0]]
        invalid = 0
        for row in rows:
            if len(row) != 1 or not SHA256.match(str(row[0])):
                invalid += 1
                continue
            if method == "DELETE":
                audience.discard((kind, row[0]))
                self.removed.append((match[1], kind, row[0]))
            else:
                audience.add((kind, row[0]))
        return 200, {
            "audience_id": match[1],
            "session_id": str(uuid.uuid4().int)[:18],
            "num_received": len(rows),
            "num_invalid_entries": invalid,
            "invalid_entry_samples": {},
        }

    def _events(self, dataset, body):
        data = body.get("data")
        if not isinstance(data, list) or not data:
            return 400, graph_error(100, "(#100) The parameter data is required")
        for event in data:
            if event.get("action_source") != "physical_store" or not isinstance(
                event.get("event_time"), int
            ):
                return 400, graph_error(100, "(#100) Invalid parameter", subcode=2804019)
            user_data = event.get("user_data") or {}
            for key in ("em", "ph"):
                if not all(SHA256.match(value) for value in user_data.get(key, [])):
                    return 400, graph_error(100, f"(#100) {key} must be hashed", subcode=2804050)
            self.events.append((dataset, event))
        return 200, {"events_received": len(data), "messages": [], "fbtrace_id": "AbCdEf"}
