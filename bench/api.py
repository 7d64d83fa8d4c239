"""Cost of the API conventions on every request: key auth, scope check, paging, the error
format and idempotency keys. Runs in-process (Django test client), so it measures our code
and the database, not HTTP parsing.

    make bench            # or: DATABASE_URL=postgres://... .venv/bin/python bench/api.py

Targets: the conventions are paid on every request, so they must use well under half of the
tightest per-request budgets later issues set (an inbound webhook under 30 ms, an inbox list
under 50 ms at the median). One PostgreSQL round trip costs about 1 ms on these machines.
"""

import json
import uuid

from _harness import median_ms, percentile, report, throwaway_database, timed

REPEAT = 400


def main():
    with throwaway_database() as connection:
        from django.test import Client

        from core.factories import ChannelFactory
        from core.services.api_keys import create_api_key

        for index in range(50):
            ChannelFactory(code=f"bench-{index}")
        _key, raw = create_api_key("bench", ["channels:write"])
        client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
        print(f"database: {connection.vendor}; {REPEAT} requests each, in-process")

        list_samples = timed(lambda: client.get("/api/v1/channels?page_size=50"), REPEAT)
        bad = json.dumps({"code": "x", "name": "x", "kind": "pigeon"})
        error_samples = timed(
            lambda: client.post("/api/v1/channels", bad, content_type="application/json"), REPEAT
        )

        def fresh_post():
            code = uuid.uuid4().hex[:12]
            body = json.dumps({"code": code, "name": code, "kind": "web"})
            client.post(
                "/api/v1/channels", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=code
            )

        create_samples = timed(fresh_post, REPEAT)
        body = json.dumps({"code": "replayed", "name": "replayed", "kind": "web"})
        replay = lambda: client.post(  # noqa: E731
            "/api/v1/channels", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="same"
        )
        replay()
        replay_samples = timed(replay, REPEAT)

        ok = all(
            [
                report(
                    "GET list of 50 (auth+scope+page) median", median_ms(list_samples), "ms", 20
                ),
                report("GET list of 50 p99", percentile(list_samples, 0.99) * 1000, "ms", 50),
                report(
                    "POST refused with 400 (error format) median",
                    median_ms(error_samples),
                    "ms",
                    10,
                ),
                report(
                    "POST create with Idempotency-Key median", median_ms(create_samples), "ms", 15
                ),
                report(
                    "POST replayed from Idempotency-Key median", median_ms(replay_samples), "ms", 10
                ),
            ]
        )
        print("all targets met" if ok else "some targets missed")
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
