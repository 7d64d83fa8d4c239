"""The suite through PgBouncer in transaction mode, when asked: OMNI_PGBOUNCER=1.

The session starts a pgbouncer of its own (Debian's /usr/sbin/pgbouncer, not the system
service) on a free loopback port, in front of the PostgreSQL of DATABASE_URL. The test database
is created and dropped straight on PostgreSQL (DROP DATABASE fails while a pooler holds server
connections to it, and CREATE DATABASE ... TEMPLATE needs nobody connected to the template); in
between, every connection the tests make goes through the pooler: Django's, and those of the
workers and servers the tests start, which read their address from settings.DATABASES and
DATABASE_POOLER=transaction from the environment. config/settings.py's
`behind_transaction_pooler` sets what Django needs there, as DATABASE_POOLER=transaction does in
production.

tests/conftest.py imports `django_db_setup` from here; it overrides pytest-django's fixture of
that name and wraps it, so without OMNI_PGBOUNCER nothing changes.
"""

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from tests.receivers import free_port

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
# Server connections per database and user: more than the most the tests hold at once (24
# threads reserving one SKU, each in its own transaction, plus the test's own connection).
POOL_SIZE = 40


def is_asked() -> bool:
    return os.environ.get("OMNI_PGBOUNCER") == "1"


class PgBouncer:
    """A pgbouncer process in pool_mode=transaction on 127.0.0.1:`port`, leading every
    database name to PostgreSQL at `server_host`:`server_port`; trust authentication, with
    `user` as the one user it knows and its admin (the `pgbouncer` console database)."""

    def __init__(self, server_host, server_port, user):
        self.server_host = server_host
        self.server_port = int(server_port)
        self.user = user
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="omni-pgbouncer-"))
        self.log = self.directory / "pgbouncer.log"
        self.process = None

    def config(self) -> str:
        return "\n".join(
            [
                "[databases]",
                f"* = host={self.server_host} port={self.server_port}",
                "",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {self.port}",
                "unix_socket_dir =",
                "auth_type = trust",
                f"auth_file = {self.directory / 'userlist.txt'}",
                f"admin_users = {self.user}",
                "pool_mode = transaction",
                f"default_pool_size = {POOL_SIZE}",
                "max_client_conn = 1000",
                # Idle server connections go back to PostgreSQL soon: others share its limit.
                "server_idle_timeout = 30",
                # A client waiting longer than this for a server connection fails loudly
                # instead of hanging the suite.
                "query_wait_timeout = 60",
                "ignore_startup_parameters = extra_float_digits",
                f"logfile = {self.log}",
                f"pidfile = {self.directory / 'pgbouncer.pid'}",
                "",
            ]
        )

    def start(self):
        (self.directory / "userlist.txt").write_text(f'"{self.user}" ""\n')
        ini = self.directory / "pgbouncer.ini"
        ini.write_text(self.config())
        command = [PGBOUNCER, str(ini)]  # not -d: a child of this session, stopped at its end
        if os.geteuid() == 0:  # pgbouncer refuses to run as root: it becomes nobody
            nobody = pwd.getpwnam("nobody")
            os.chown(self.directory, nobody.pw_uid, nobody.pw_gid)
            command[1:1] = ["-u", "nobody"]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                self.admin("SHOW VERSION")
                return self
            except psycopg.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"pgbouncer did not start:\n{self.log_tail()}") from None
                time.sleep(0.1)

    def stop(self):
        """Immediate shutdown (SIGTERM): its server connections close with it, so the test
        database can be dropped right after."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def admin(self, command) -> list[dict]:
        """A command on the admin console (`SHOW POOLS`...), as rows of {column: value}. The
        console speaks only the simple query protocol: a client-side cursor, no parameters."""
        with psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            dbname="pgbouncer",
            user=self.user,
            autocommit=True,
            cursor_factory=psycopg.ClientCursor,
            connect_timeout=5,
        ) as console:
            cursor = console.execute(command)
            names = [column.name for column in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def log_tail(self, lines=40) -> str:
        try:
            return "\n".join(self.log.read_text().splitlines()[-lines:])
        except OSError:
            return "(no log)"


_running: list[PgBouncer] = []


def _unique_settings(connections) -> list[dict]:
    """The settings dicts behind every alias, once each (a test mirror shares its primary's)."""
    seen = {}
    for alias in connections:
        settings_dict = connections[alias].settings_dict
        if settings_dict["ENGINE"] == "django.db.backends.postgresql":
            seen[id(settings_dict)] = settings_dict
    return list(seen.values())


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, created straight on PostgreSQL; with OMNI_PGBOUNCER=1
    the tests then reach it through a PgBouncer of the session's own, stopped before the
    database is dropped."""
    if not is_asked():
        yield
        return
    from django.conf import settings  # noqa: PLC0415 (Django is set up by now)
    from django.db import connections  # noqa: PLC0415

    from config.settings import behind_transaction_pooler  # noqa: PLC0415

    targets = _unique_settings(connections)
    if not targets:
        pytest.exit("OMNI_PGBOUNCER=1 needs a PostgreSQL DATABASE_URL", returncode=4)
    if not os.access(PGBOUNCER, os.X_OK):
        pytest.exit("OMNI_PGBOUNCER=1 needs Debian's pgbouncer (apt-get install pgbouncer)", 4)
    direct = targets[0]
    bouncer = PgBouncer(direct["HOST"] or "127.0.0.1", direct["PORT"] or 5432, direct["USER"])
    bouncer.start()
    restore = ("HOST", "PORT", "DISABLE_SERVER_SIDE_CURSORS", "OPTIONS")
    saved = [
        (d, {key: d.get(key) for key in restore} | {"OPTIONS": dict(d["OPTIONS"])}) for d in targets
    ]
    environment = os.environ.get("DATABASE_POOLER")
    with django_db_blocker.unblock():
        connections.close_all()
    for settings_dict in targets:
        settings_dict["HOST"], settings_dict["PORT"] = "127.0.0.1", bouncer.port
        behind_transaction_pooler(settings_dict)
    os.environ["DATABASE_POOLER"] = "transaction"  # for the processes the tests start
    setting = settings.DATABASE_POOLER
    settings.DATABASE_POOLER = "transaction"  # as config/settings.py sets it from that
    _running.append(bouncer)
    try:
        yield
    finally:
        _running.clear()
        with django_db_blocker.unblock():
            connections.close_all()
        bouncer.stop()
        for settings_dict, before in saved:
            settings_dict.update(before)
        settings.DATABASE_POOLER = setting
        if environment is None:
            os.environ.pop("DATABASE_POOLER", None)
        else:
            os.environ["DATABASE_POOLER"] = environment
        shutil.rmtree(bouncer.directory, ignore_errors=True)


def is_running() -> bool:
    """Whether this session's tests go through its PgBouncer now."""
    return bool(_running)


def postgresql_address() -> tuple[str, int]:
    """Where PostgreSQL itself listens, past the pooler when one runs."""
    if _running:
        return _running[0].server_host, _running[0].server_port
    from django.db import connection  # noqa: PLC0415

    return connection.settings_dict["HOST"] or "127.0.0.1", connection.settings_dict["PORT"] or 5432


def postgresql_itself() -> psycopg.Connection:
    """A connection of its own to the test database on PostgreSQL itself, past the pooler
    when one runs: for a test that must see or touch the backends behind it (the pooler's
    idle server connections are backends of the test database too)."""
    from django.db import connection  # noqa: PLC0415

    params = connection.settings_dict
    host, port = postgresql_address()
    return psycopg.connect(
        host=host,
        port=port,
        user=params["USER"] or None,
        password=params["PASSWORD"] or None,
        dbname=params["NAME"],
        autocommit=True,
    )


@pytest.fixture
def pgbouncer(django_db_setup) -> PgBouncer:
    """The session's running PgBouncer; the test is skipped without OMNI_PGBOUNCER=1."""
    if not _running:
        pytest.skip("runs through PgBouncer only: set OMNI_PGBOUNCER=1")
    return _running[0]
