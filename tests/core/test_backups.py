"""A backup is trusted once it has been restored: `backup` writes a dump and the row counts
of the same snapshot, `verify_backup` restores it into a scratch database and compares."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from customers.factories import CustomerFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_backup_restores_with_every_row_and_a_wrong_count_is_reported(tmp_path):
    CustomerFactory.create_batch(3)
    out = StringIO()
    call_command("backup", str(tmp_path), stdout=out)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["tables"]["public.customers_customer"] == 3
    assert (tmp_path / "database.dump").stat().st_size > 0

    verified = StringIO()
    call_command("verify_backup", str(tmp_path), stdout=verified)
    assert verified.getvalue().startswith("OK:")

    manifest["tables"]["public.customers_customer"] = 4  # as if rows were lost in the dump
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    errors = StringIO()
    with pytest.raises(CommandError, match="1 tables differ"):
        call_command("verify_backup", str(tmp_path), stderr=errors)
    assert "public.customers_customer: 4 rows in the manifest, 3 restored" in errors.getvalue()


def test_a_damaged_dump_fails_verification(tmp_path):
    call_command("backup", str(tmp_path), stdout=StringIO())
    dump = tmp_path / "database.dump"
    dump.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])
    with pytest.raises(CommandError, match="pg_restore failed"):
        call_command("verify_backup", str(tmp_path))


def test_verification_without_a_manifest_says_so(tmp_path):
    with pytest.raises(CommandError, match="manifest.json"):
        call_command("verify_backup", str(tmp_path))
