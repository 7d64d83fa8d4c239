"""Inbound email by polling a REAL IMAP server: Debian's dovecot, started by the test with a
private configuration (plaintext auth on 127.0.0.1, a passwd-file user, maildir in a tmp dir).
"""

import imaplib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from support.models import Message
from support.tasks import poll_imap
from tests.receivers import free_port

DOVECOT = "/usr/sbin/dovecot"
USER, PASSWORD = "support@shop.example", "imap-pass-123"

pytestmark = [
    pytest.mark.imap,
    pytest.mark.skipif(
        not os.path.exists(DOVECOT), reason="needs Debian's dovecot (apt-get install dovecot-imapd)"
    ),
]

CONFIG = """
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%n
first_valid_uid = {uid}
default_internal_user = {user}
default_login_user = {login_user}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%n
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


@pytest.fixture
def dovecot():
    """A running dovecot on a free port; yields (host, port). Its folder is made directly
    under /tmp: pytest's tmp_path sits in a root-only folder the mail user could not enter."""
    tmp_path = Path(tempfile.mkdtemp(prefix="omni-dovecot-"))
    root = tmp_path / "dovecot"
    for name in ("run", "state", "mail", "home"):
        (root / name).mkdir(parents=True)
    mail_user = pwd.getpwnam("dovecot") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
    login_user = "dovenull" if os.geteuid() == 0 else mail_user.pw_name
    port = free_port()
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    (root / "dovecot.conf").write_text(
        CONFIG.format(
            root=root,
            port=port,
            uid=mail_user.pw_uid,
            gid=mail_user.pw_gid,
            user=mail_user.pw_name,
            login_user=login_user,
        )
    )
    if os.geteuid() == 0:
        for path in (tmp_path, root, root / "mail", root / "home"):
            shutil.chown(path, mail_user.pw_uid, mail_user.pw_gid)
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            imaplib.IMAP4("127.0.0.1", port, timeout=1).logout()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                process.kill()
                pytest.fail(f"dovecot did not start: {process.stderr.read().decode()} {log}")
            time.sleep(0.1)
    yield "127.0.0.1", port
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(tmp_path, ignore_errors=True)


def append(host, port, raw: bytes):
    with imaplib.IMAP4(host, port) as client:
        client.login(USER, PASSWORD)
        client.append("INBOX", None, None, raw)
        client.logout()


def unseen(host, port):
    with imaplib.IMAP4(host, port) as client:
        client.login(USER, PASSWORD)
        client.select("INBOX")
        _status, data = client.search(None, "UNSEEN")
        client.logout()
    return data[0].split()


def mail(message_id, subject, text, *, sender="Sara Rahimi <sara@example.com>", extra=""):
    return (
        f"From: {sender}\r\nTo: {USER}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n"
        f"{extra}Date: Mon, 23 Nov 2026 10:15:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"\r\n{text}\r\n"
    ).encode()


@pytest.mark.django_db
def test_beat_polls_the_mailbox_threads_and_marks_seen(dovecot, channels):
    host, port = dovecot
    channel = channels["email"]
    channel.provider_settings = {
        **channel.provider_settings,
        "imap": {"host": host, "port": port, "ssl": False, "username": USER, "password": PASSWORD},
    }
    channel.save()
    append(host, port, mail("<imap-1@mail.example>", "Broken heel", "The heel broke."))
    append(
        host,
        port,
        mail(
            "<imap-2@mail.example>",
            "Re: Broken heel",
            "Photo attached later.",
            extra="In-Reply-To: <imap-1@mail.example>\r\nReferences: <imap-1@mail.example>\r\n",
        ),
    )
    assert poll_imap.delay().get() == 2
    first, second = Message.objects.order_by("id")
    assert first.conversation == second.conversation  # threaded by In-Reply-To
    assert first.conversation.customer.first_name == "Sara"
    assert first.external_id == "<imap-1@mail.example>"
    assert unseen(host, port) == []  # marked \Seen on the server
    # a message seen by a person in another client but not stored yet is still not lost:
    append(host, port, mail("<imap-3@mail.example>", "New question", "Do you ship to Baku?"))
    assert poll_imap.delay().get() == 1
    assert poll_imap.delay().get() == 0
    assert Message.objects.count() == 3
