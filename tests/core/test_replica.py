"""The read replica (DATABASE_REPLICA_URL): the reports and dashboards read from it, every
other page and API call reads and writes `default`, so what a user just saved is what they
see next (core.replica, config/db_router.py)."""

import copy
import json
import re

import pytest
from django.db import connections, router
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.replica import REPLICA, reading_replica
from core.roles import MARKETER, SUPPORT_AGENT
from customers.models import Customer
from tests.core.test_settings_modes import PRODUCTION, run_in

REPLICA_PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "replica = settings.DATABASES.get('replica'); "
    "print(json.dumps(replica and {'name': replica['NAME'], 'mirror': replica['TEST']['MIRROR']}))"
)


@pytest.fixture
def replica(transactional_db):
    """A `replica` alias on the test database, as DATABASE_REPLICA_URL adds one. Its own
    connection: it sees what the test committed, hence the transactional database."""
    if REPLICA in connections.settings:
        pytest.skip("DATABASE_REPLICA_URL is set for this run")
    settings_dict = copy.deepcopy(connections.settings["default"])
    settings_dict["TEST"]["MIRROR"] = "default"
    connections.settings[REPLICA] = settings_dict
    try:
        # Connected here, by the test: the test case allows only the aliases it was given,
        # and this one did not exist when it started.
        connections[REPLICA].connect()
        yield connections[REPLICA]
    finally:
        connections[REPLICA].close()
        del connections[REPLICA]
        del connections.settings[REPLICA]


def tables_read(queries):
    return {
        table for query in queries for table in re.findall(r'(?:FROM|JOIN) "(\w+)"', query["sql"])
    }


def queries_of(call):
    """Run `call` and return (its response, the SQL it sent to default, to the replica)."""
    with (
        CaptureQueriesContext(connections["default"]) as on_default,
        CaptureQueriesContext(connections[REPLICA]) as on_replica,
    ):
        response = call()
    return response, on_default.captured_queries, on_replica.captured_queries


def test_the_replica_is_configured_only_by_its_setting():
    without = run_in(PRODUCTION, "-c", REPLICA_PROBE)
    assert without.returncode == 0, without.stderr
    assert json.loads(without.stdout) is None
    with_replica = run_in(
        {**PRODUCTION, "DATABASE_REPLICA_URL": "postgres://reader@replica.internal:5432/omni"},
        "-c",
        REPLICA_PROBE,
    )
    assert with_replica.returncode == 0, with_replica.stderr
    # Tests read the test copy of default through it; migrate never runs there.
    assert json.loads(with_replica.stdout) == {"name": "omni", "mirror": "default"}
    assert router.allow_migrate(REPLICA, "customers") is False


@pytest.mark.django_db
def test_without_a_replica_reports_read_default():
    if REPLICA in connections.settings:
        pytest.skip("DATABASE_REPLICA_URL is set for this run")
    with reading_replica():
        assert router.db_for_read(Customer) == "default"
        assert Customer.objects.count() == 0
    assert router.db_for_read(Customer) == "default"


@pytest.mark.postgres
def test_reports_read_the_replica_and_everything_else_reads_and_writes_default(
    replica, api_client_for, client, staff_in_role
):
    reader = api_client_for("customers:read")
    writer = api_client_for("customers:write")
    client.force_login(staff_in_role(MARKETER))

    # The report API: its figures come from the replica; default only checks the key.
    response, on_default, on_replica = queries_of(lambda: reader.get("/api/v1/reports/ropo"))
    assert response.status_code == 200, response.content
    assert on_replica, "the report did not read the replica"
    assert not tables_read(on_default) & tables_read(on_replica), on_default

    # The staff report page alike; the login and session stay on default.
    response, on_default, on_replica = queries_of(lambda: client.get(reverse("reports:ropo")))
    assert response.status_code == 200
    assert on_replica
    assert not tables_read(on_default) & tables_read(on_replica), on_default

    # A write, and the read that follows it: default only, so the new customer is there.
    response, on_default, on_replica = queries_of(
        lambda: writer.post(
            "/api/v1/identify",
            {"identities": [{"kind": "email", "value": "sara@example.com"}]},
            format="json",
        )
    )
    assert response.status_code == 200, response.content
    assert on_default and not on_replica
    response, on_default, on_replica = queries_of(lambda: reader.get("/api/v1/customers"))
    assert response.status_code == 200, response.content
    assert response.json()["count"] == 1
    assert on_default and not on_replica


@pytest.mark.postgres
def test_the_dashboard_and_the_support_report_read_the_replica(replica, client, staff_in_role):
    client.force_login(staff_in_role(MARKETER))
    response, _on_default, on_replica = queries_of(lambda: client.get(reverse("home")))
    assert response.status_code == 200
    assert on_replica, "the dashboard's charts did not read the replica"

    client.force_login(staff_in_role(SUPPORT_AGENT, username="agent"))
    response, _on_default, on_replica = queries_of(lambda: client.get(reverse("support:reports")))
    assert response.status_code == 200
    assert on_replica
