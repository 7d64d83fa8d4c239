"""Behind a transaction-mode pooler: the DATABASE_POOLER switch, the proof that a run with
OMNI_PGBOUNCER=1 really goes through PgBouncer (tests/pooler.py), and the shared cache's
fallback lock, which must hold and let go on one server connection."""

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from core.services import shared_cache
from tests.pooler import pgbouncer  # noqa: F401 (the fixture: the session's PgBouncer)

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({alias: {'cursors': db.get('DISABLE_SERVER_SIDE_CURSORS'), "
    "'options': db['OPTIONS'], 'age': db['CONN_MAX_AGE']} "
    "for alias, db in settings.DATABASES.items()}))"
)
POSTGRES = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:6432/omni",
    "DATABASE_REPLICA_URL": "postgres://postgres@127.0.0.1:6433/omni",
}


def settings_with(env):
    clean = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True
    )


def test_database_pooler_transaction_turns_off_what_a_transaction_pooler_cannot_carry():
    pooled = settings_with({**POSTGRES, "DATABASE_POOLER": "transaction"})
    assert pooled.returncode == 0, pooled.stderr
    for database in json.loads(pooled.stdout).values():
        assert database["cursors"] is True
        assert database["options"] == {"prepare_threshold": None}
        assert database["age"] == 60  # clients stay connected to the pooler, not to a server

    direct = settings_with(POSTGRES)
    assert direct.returncode == 0, direct.stderr
    for database in json.loads(direct.stdout).values():
        assert database["cursors"] is None and database["options"] == {}

    refused = settings_with({**POSTGRES, "DATABASE_POOLER": "session"})
    assert refused.returncode != 0
    assert "DATABASE_POOLER must be empty or 'transaction'" in refused.stderr

    # The embedded mode has no pooler: a DATABASE_POOLER inherited from the environment
    # changes nothing there.
    embedded = settings_with({"DATABASE_POOLER": "transaction"})
    assert embedded.returncode == 0, embedded.stderr
    assert json.loads(embedded.stdout)["default"]["cursors"] is None


def _local_port(psycopg_connection) -> int:
    fd = os.dup(psycopg_connection.pgconn.socket)
    with socket.socket(fileno=fd) as ours:
        return ours.getsockname()[1]


@pytest.mark.postgres
@pytest.mark.django_db
def test_with_omni_pgbouncer_the_tests_reach_postgresql_through_pgbouncer_in_transaction_mode(
    pgbouncer,  # noqa: F811
):
    assert connection.settings_dict["PORT"] == pgbouncer.port
    assert connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert os.environ["DATABASE_POOLER"] == "transaction"  # what started workers read
    assert settings.DATABASE_POOLER == "transaction"  # what the app's code reads
    with connection.cursor() as cursor:  # the test's transaction holds one server connection
        cursor.execute("SELECT current_database(), inet_client_port()")
        database, server_side_port = cursor.fetchone()
    ours = connection.connection
    assert ours.info.port == pgbouncer.port
    assert ours.prepare_threshold is None

    config = {row["key"]: row["value"] for row in pgbouncer.admin("SHOW CONFIG")}
    assert config["pool_mode"] == "transaction"
    # PostgreSQL sees pgbouncer's socket, and pgbouncer links it to our client socket.
    (server,) = [s for s in pgbouncer.admin("SHOW SERVERS") if s["local_port"] == server_side_port]
    assert server["database"] == database and server["state"] == "active"
    (client,) = [c for c in pgbouncer.admin("SHOW CLIENTS") if c["ptr"] == server["link"]]
    assert client["port"] == _local_port(ours)
    assert client["database"] == database


class CacheDown:
    def add(self, *args, **kwargs):
        raise ConnectionRefusedError("the shared cache is down")


def advisory_locks_held() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_with_the_cache_down_the_lock_excludes_another_holder_and_is_gone_after_the_block(
    monkeypatch,
):
    """The fallback lock is taken and released on one server connection (a transaction of
    its own), also behind a transaction-mode pooler, where a session lock could stay held
    for good on whichever server connection took it."""
    monkeypatch.setattr(shared_cache, "cache", CacheDown())
    answers = []

    def another_process():
        with shared_cache.hold("push:lock:7", 60, use="test lock") as taken:
            answers.append(taken)

    with shared_cache.hold("push:lock:7", 60, use="test lock") as taken:
        assert taken
        # Meanwhile this connection runs transaction after transaction (through a pooler,
        # each on whichever server connection is free): the lock stays.
        for _ in range(5):
            assert advisory_locks_held() == 1
        thread = threading.Thread(target=another_process)
        thread.start()
        thread.join()
    assert answers == [False]
    assert advisory_locks_held() == 0
    thread = threading.Thread(target=another_process)
    thread.start()
    thread.join()
    assert answers == [False, True]
    assert advisory_locks_held() == 0
