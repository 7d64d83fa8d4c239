"""A quiet first run: `seed_demo` at the default verbosity prints one line per stage, a summary
and, last, the webhook secrets and staff logins; the eager tasks' log lines and the emails
the stages send stay out of sight. `demo_logins` prints the logins and secrets again later.

The seeds run in transactional tests: the eager tasks a seed enqueues run when its own
transaction commits, as they do in `make demo`, not after the test."""

import logging
import re
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import CommandError, call_command

from core.models import Channel

CONSOLE_EMAIL = "django.core.mail.backends.console.EmailBackend"
# The stages that make secrets and send through the console (a quicker seed than all of it).
SECRET_STAGES = ["core.", "customers.", "support.", "woocommerce."]


def seed(*args, **options):
    out, err = StringIO(), StringIO()
    call_command("seed_demo", "--size", "small", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def only(prefixes):
    return [argument for prefix in prefixes for argument in ("--only", prefix)]


def what_the_user_sees(out, err, capsys, caplog):
    """The command's own output, the console emails (written to sys.stdout), the progress bars
    (sys.stderr) and the log lines the console handler would print."""
    printed = capsys.readouterr()
    logged = "\n".join(f"{r.levelname} {r.name} {r.getMessage()}" for r in caplog.records)
    return "\n".join(part for part in (printed.out, printed.err, err, logged, out) if part)


@pytest.fixture
def demo_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # the demo's feeds are built there
    settings.EMAIL_BACKEND = CONSOLE_EMAIL  # as `make demo` has it
    return settings


@pytest.mark.django_db(transaction=True)
def test_default_seed_prints_progress_a_summary_then_the_logins_and_nothing_else(
    demo_settings, capsys, caplog
):
    root_level = logging.getLogger().level
    out, err = seed()
    seen = what_the_user_sees(out, err, capsys, caplog)

    lines = seen.splitlines()
    assert len(lines) < 40, seen
    assert "succeeded" not in seen and " SUCCESS" not in seen  # the eager tasks' log lines
    assert "Subject:" not in seen and "Content-Type:" not in seen  # console emails
    assert "kombu" not in seen and "No hostname was supplied" not in seen
    assert mail.outbox, "the stages send emails; the seed must have hidden them, not lost them"
    assert [line for line in err.splitlines() if "Channels" in line] == ["[ 1/12] Channels"]
    assert "Demo data (small, seed 1) created in" in out and "300 products" in out

    out_lines = out.splitlines()
    assert out_lines[-8] == "Staff logins (demo only, change them):"
    assert [line.split()[:2] for line in out_lines[-7:]] == [
        ["admin", "admin-pass-123"],
        ["administrator", "demo-pass-123"],
        ["merchandiser", "demo-pass-123"],
        ["inventory_manager", "demo-pass-123"],
        ["marketer", "demo-pass-123"],
        ["support_agent", "demo-pass-123"],
        ["support_lead", "demo-pass-123"],
    ]
    secrets = out_lines[out_lines.index("Webhook secrets (demo only, change them):") : -8]
    assert any("/api/v1/inbound/sms?channel=sms" in line for line in secrets)
    assert any("demo-woocommerce-webhook-secret" in line for line in secrets)

    # Quiet for that run only: the server's logging and email are as they were.
    assert logging.getLogger().level == root_level
    assert django_settings.EMAIL_BACKEND == CONSOLE_EMAIL


@pytest.mark.django_db(transaction=True)
def test_verbosity_2_shows_the_tasks_bars_and_notes_as_before(demo_settings, capsys, caplog):
    # As a fresh `manage.py` process has it (LOGGING's root at INFO): run after the campaigns
    # and catalog tests (CI's order) the root was found above INFO, hiding the task lines.
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.INFO, logger="celery")
    out, err = seed(*only(SECRET_STAGES), verbosity=2)
    seen = what_the_user_sees(out, err, capsys, caplog)

    assert "succeeded" in seen  # each eager task's line, as a worker logs it
    assert "omni.providers" in seen  # the console provider's copy of a reply
    assert "Conversations" in seen and "100%" in seen  # the steps' progress bars
    assert "Inbound webhook secrets (demo only, change them):" in out  # the stages' notes
    assert out.splitlines()[-1].split()[0] == "support_lead"  # still ends with the logins

    # Every secret a stage notes is found again in the database by the closing list (and so
    # by demo_logins): a stage storing one without the demo- prefix fails here.
    notes, credentials = out.split("Webhook secrets (demo only, change them):")
    noted = set(re.findall(r"\bdemo-[\w-]+", notes))
    assert noted and noted <= set(re.findall(r"\bdemo-[\w-]+", credentials))


@pytest.mark.django_db
def test_demo_logins_prints_again_what_the_seed_printed_last(demo_settings):
    out, _err = seed(*only(SECRET_STAGES))
    again = StringIO()
    call_command("demo_logins", stdout=again)

    assert again.getvalue().startswith("Webhook secrets (demo only, change them):")
    assert out.endswith(again.getvalue())
    assert "POST /api/v1/inbound/sms?channel=sms" in again.getvalue()
    assert "support_agent        demo-pass-123      Support agent" in again.getvalue()


@pytest.mark.django_db
def test_demo_logins_hides_a_changed_password_and_a_real_secret(demo_settings):
    seed(*only(["core."]), verbosity=0)
    agent = get_user_model().objects.get(username="support_agent")
    agent.set_password("her-own-password-9")
    agent.save()
    Channel.objects.filter(code="instagram").update(
        provider_settings={"verify_token": "a-real-token", "inbound_secret": "a-real-secret"}
    )
    again = StringIO()
    call_command("demo_logins", stdout=again)

    printed = again.getvalue()
    assert "support_agent        (changed)          Support agent" in printed
    assert "her-own-password-9" not in printed
    assert "a-real-token" not in printed and "a-real-secret" not in printed
    assert "demo-whatsapp-verify-token" in printed
    assert printed.splitlines()[-1].split()[:2] == ["support_lead", "demo-pass-123"]


@pytest.mark.django_db
def test_demo_logins_without_demo_data_says_to_seed_first():
    with pytest.raises(CommandError, match="seed_demo"):
        call_command("demo_logins", stdout=StringIO())
