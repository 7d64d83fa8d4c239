"""Monthly partitions of the append-only tables (issue 21): the dedupe keys hold across
months, partitions are made ahead and split out of DEFAULT, and archiving a month keeps the
customers' lifetime figures."""

import csv
import datetime as dt
import gzip
import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction

from catalog.factories import ProductVariantFactory
from core import partitioning
from core.factories import ChannelFactory
from core.models import OutboxEvent
from customers.factories import CustomerFactory
from customers.models import ArchivedFigures, Customer, Event
from customers.services import recompute_lifetime_figures, record_event
from customers.services.figures import FIGURE_FIELDS
from inventory.factories import LocationFactory
from inventory.models import StockMovement

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

OLD = dt.datetime(2023, 5, 14, 10, 0, tzinfo=dt.UTC)


def _months_back(count):
    today = dt.datetime.now(dt.UTC)
    if count == 0:
        return today - dt.timedelta(seconds=1)
    month = partitioning.add_months(partitioning.month_start(today), -count)
    return dt.datetime(month.year, month.month, 10, tzinfo=dt.UTC)


def _partition_of(table, pk):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def test_the_growing_tables_are_partitioned_by_month():
    for table in partitioning.TABLES:
        assert partitioning.is_partitioned(table), table
        months = [p.month for p in partitioning.partitions(table) if p.month]
        this_month = partitioning.month_start(dt.datetime.now(dt.UTC))
        ahead = partitioning.add_months(this_month, partitioning.months_ahead())
        assert this_month in months and ahead in months
        assert partitioning.partitions(table)[-1].name.endswith("_default")


def test_a_message_id_is_stored_once_across_months():
    customer = CustomerFactory()
    first, created = record_event(
        customer, "page_viewed", occurred_at=_months_back(0), message_id="retry-1"
    )
    assert created
    # The retry says another time (a partner that stamps on send): still the same message.
    again, created = record_event(
        customer, "page_viewed", occurred_at=_months_back(2), message_id="retry-1"
    )
    assert not created and again.pk == first.pk
    assert Event.objects.filter(message_id="retry-1").count() == 1
    customer.refresh_from_db()
    assert customer.events_count == 1


def test_batch_ingest_skips_a_stored_message_id_in_another_month(api_client_for):
    client = api_client_for("customers:write")
    item = {
        "type": "track",
        "identities": [{"kind": "email", "value": "parted@example.com"}],
        "event": "product_viewed",
        "message_id": "batch-retry-1",
        "occurred_at": _months_back(1).isoformat(),
        "properties": {"sku": "A-1"},
    }
    first = client.post("/api/v1/batch", {"items": [item]}, format="json")
    assert first.status_code == 200, first.content
    retry = client.post(
        "/api/v1/batch",
        {"items": [{**item, "occurred_at": _months_back(4).isoformat()}]},
        format="json",
    )
    assert retry.status_code == 200, retry.content
    assert retry.json()["results"][0]["status"] == "duplicate"
    assert Event.objects.filter(message_id="batch-retry-1").count() == 1
    assert Customer.objects.get(identities__value="parted@example.com").events_count == 1


def test_a_stock_movement_key_is_unique_across_months():
    location = LocationFactory()
    variant = ProductVariantFactory()
    fields = dict(variant=variant, location=location, reason="receipt", source="pos-1")
    StockMovement.objects.create(
        **fields, quantity=5, occurred_at=_months_back(0), idempotency_key="k-1"
    )
    with pytest.raises(IntegrityError, match="inventory_movement_key_per_source"):
        with transaction.atomic():
            StockMovement.objects.create(
                **fields, quantity=5, occurred_at=_months_back(3), idempotency_key="k-1"
            )
    # Another source may use the same key.
    StockMovement.objects.create(
        **{**fields, "source": "pos-2"},
        quantity=1,
        occurred_at=_months_back(3),
        idempotency_key="k-1",
    )


def test_a_row_moved_to_another_month_keeps_its_key_and_a_deleted_one_frees_it():
    customer = CustomerFactory()
    event, _ = record_event(customer, "page_viewed", occurred_at=_months_back(0), message_id="mv-1")
    Event.objects.filter(pk=event.pk).update(occurred_at=_months_back(5))
    assert _partition_of("customers_event", event.pk) != "customers_event_default"
    assert Event.objects.filter(message_id="mv-1").count() == 1
    _again, created = record_event(customer, "page_viewed", message_id="mv-1")
    assert not created
    Event.objects.filter(pk=event.pk).delete()
    _new, created = record_event(customer, "page_viewed", message_id="mv-1")
    assert created


def test_concurrent_inserts_of_one_message_id_store_it_once(transactional_db):
    customer = CustomerFactory()
    barrier = threading.Barrier(4)
    results = []

    def send(offset):
        try:
            barrier.wait()
            _event, created = record_event(
                customer, "page_viewed", occurred_at=_months_back(offset), message_id="race-1"
            )
            results.append(created)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
    assert Event.objects.filter(message_id="race-1").count() == 1


def test_ensure_moves_rows_default_caught_into_their_month():
    customer = CustomerFactory()
    old, _ = record_event(customer, "page_viewed", occurred_at=OLD, message_id="old-1")
    assert _partition_of("customers_event", old.pk) == "customers_event_default"

    created = partitioning.ensure_partitions()
    assert "customers_event_p2023_05" in created["customers_event"]
    assert _partition_of("customers_event", old.pk) == "customers_event_p2023_05"
    # Its key is still claimed after the move.
    _again, was_created = record_event(customer, "page_viewed", message_id="old-1")
    assert not was_created
    # Run again: nothing more to do.
    assert "customers_event" not in partitioning.ensure_partitions()


def test_archiving_a_month_keeps_lifetime_figures_and_writes_its_rows(tmp_path):
    web = ChannelFactory(kind="web")
    customer = CustomerFactory()
    record_event(customer, "page_viewed", channel=web, occurred_at=OLD, message_id="a-1")
    record_event(
        customer,
        "order_completed",
        occurred_at=OLD + dt.timedelta(days=1),
        properties={"order_id": "W-1", "total": "120.00", "currency": "EUR"},
        message_id="a-2",
    )
    record_event(customer, "page_viewed", occurred_at=_months_back(0), message_id="a-3")
    customer.refresh_from_db()
    before = {name: getattr(customer, name) for name in FIGURE_FIELDS}
    assert before["events_count"] == 3 and before["orders_count"] == 1

    call_command("partitions", "ensure", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command(
        "partitions",
        "archive",
        "--table",
        "customers_event",
        "--before",
        "2023-06",
        "--to",
        str(tmp_path),
        stdout=open("/dev/null", "w"),  # noqa: SIM115
    )
    archived = tmp_path / "customers_event_p2023_05.csv.gz"
    with gzip.open(archived, "rt") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(row["message_id"] for row in rows) == ["a-1", "a-2"]
    assert "customers_event_p2023_05" not in {
        p.name for p in partitioning.partitions("customers_event")
    }
    assert list(Event.objects.filter(customer=customer).values_list("message_id", flat=True)) == [
        "a-3"
    ]
    customer.refresh_from_db()
    assert {name: getattr(customer, name) for name in FIGURE_FIELDS} == before
    folded = ArchivedFigures.objects.get(customer=customer)
    assert (folded.events, folded.orders, folded.spend) == (2, 1, {"EUR": "120.00"})
    assert folded.channel_kinds == ["web"]
    rebuilt = recompute_lifetime_figures(Customer.objects.get(pk=customer.pk), save=False)
    assert {name: getattr(rebuilt, name) for name in FIGURE_FIELDS} == before
    # An archived month's message id is free again (the key table stays bounded).
    _event, created = record_event(customer, "page_viewed", occurred_at=OLD, message_id="a-1")
    assert created


def test_archiving_refuses_a_cutoff_inside_the_minimum_retention(tmp_path):
    recent = partitioning.add_months(partitioning.month_start(dt.datetime.now(dt.UTC)), -3)
    with pytest.raises(partitioning.RetentionError, match="at least 14 months"):
        partitioning.archive_partitions("customers_event", before=recent, to=tmp_path)
    with pytest.raises(partitioning.RetentionError, match="no retention policy"):
        partitioning.archive_partitions("inventory_stockmovement", to=tmp_path)


def test_outbox_retention_archives_old_months_by_policy(tmp_path, settings):
    settings.PARTITION_RETENTION_MONTHS = {**settings.PARTITION_RETENTION_MONTHS}
    old = OutboxEvent.objects.create(topic="x", payload={}, created_at=_months_back(6))
    kept = OutboxEvent.objects.create(topic="x", payload={}, created_at=_months_back(1))
    partitioning.ensure_partitions()
    done = partitioning.archive_partitions("core_outboxevent", to=tmp_path)
    assert any(name.endswith(f"{_months_back(6):%Y_%m}") for name, _rows, _path in done)
    assert not OutboxEvent.objects.filter(pk=old.pk).exists()
    assert OutboxEvent.objects.filter(pk=kept.pk).exists()


def test_the_command_shows_each_table():
    out = StringIO()
    call_command("partitions", stdout=out)
    text = out.getvalue()
    for table in partitioning.TABLES:
        assert f"{table}: " in text
    assert "retention 25 months" in text and "retention for ever" in text


def test_the_command_names_a_bad_month_and_counts_rows_in_a_dry_run(tmp_path):
    with pytest.raises(CommandError, match="expected a month as YYYY-MM"):
        call_command("partitions", "archive", "--before", "2025-x", stdout=StringIO())
    OutboxEvent.objects.create(topic="x", payload={}, created_at=_months_back(6))
    out = StringIO()
    call_command("partitions", "archive", "--table", "core_outboxevent", "--dry-run", stdout=out)
    assert f"would archive core_outboxevent_p{_months_back(6):%Y_%m} (1 row)" in out.getvalue()
    assert OutboxEvent.objects.count() == 1
