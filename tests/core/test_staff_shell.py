"""The staff shell: login, navigation by role, the home dashboard, the shipped languages
(Persian and Arabic right-to-left)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation

from campaigns.models import CampaignVariant
from catalog.models import ProductVariant
from core.factories import ChannelFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_home_needs_a_staff_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_login_page_logs_a_staff_user_in(client, staff_in_role):
    staff_in_role("Support agent", username="agent")
    response = client.post("/accounts/login/", {"username": "agent", "password": "demo-pass-123"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_home_shows_the_channel_figures_and_the_nav_the_role_allows(client, staff_in_role):
    ChannelFactory(code="web", kind="web")
    ChannelFactory(code="sms", kind="sms")
    client.force_login(staff_in_role("Support agent"))
    page = client.get("/").content.decode()
    assert 'data-panel="channels"' in page
    assert 'data-nav="channels"' in page
    client.force_login(staff_in_role())  # staff with no role: no channel permission
    assert 'data-nav="channels"' not in client.get("/").content.decode()


def test_persian_pages_are_right_to_left_and_translated(client, staff_in_role):
    client.force_login(staff_in_role("Support agent"))
    client.post("/i18n/setlang/", {"language": "fa", "next": "/"})
    page = client.get("/").content.decode()
    assert 'dir="rtl"' in page and 'lang="fa"' in page
    assert "کانال‌ها" in page  # "Channels"
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert 'dir="ltr"' in client.get("/").content.decode()


@pytest.mark.parametrize("language", ["fa", "ar", "az", "be"])
def test_every_message_is_translated_in_each_shipped_language(language):
    assert language in dict(settings.LANGUAGES)
    po = polib.pofile(str(ROOT / f"locale/{language}/LC_MESSAGES/django.po"))
    assert po.untranslated_entries() == [] and po.fuzzy_entries() == [], [
        entry.msgid for entry in po.untranslated_entries() + po.fuzzy_entries()
    ]
    # The compiled catalogue Django reads must hold the same translations (make messages).
    mo = polib.mofile(str(ROOT / f"locale/{language}/LC_MESSAGES/django.mo"))
    compiled = {(e.msgctxt, e.msgid): e.msgstr or e.msgstr_plural for e in mo}
    stale = [
        e.msgid
        for e in po.translated_entries()
        if compiled.get((e.msgctxt, e.msgid)) != (e.msgstr or e.msgstr_plural)
    ]
    assert stale == [], f"run `make messages`: {stale[:5]}"


def test_every_message_the_code_marks_is_in_the_catalogues(tmp_path):
    """Extracting the messages afresh, as `make messages` does, into a copy of the tree finds
    none missing or untranslated: a string added to the code without its translations fails
    here, not in front of a Persian-speaking agent."""
    tree = tmp_path / "tree"
    shutil.copytree(
        ROOT,
        tree,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "staticfiles", "__pycache__", "*.pyc", "db.sqlite3*", "*.mo"
        ),
    )
    command = [sys.executable, "manage.py", "makemessages", "-l", "fa", "--no-obsolete"]
    for ignored in (".venv/*", "tests/*", "bench/*"):  # as the Makefile's `messages`
        command += ["--ignore", ignored]
    subprocess.run(command, cwd=tree, check=True, capture_output=True, env=os.environ.copy())
    po = polib.pofile(str(tree / "locale/fa/LC_MESSAGES/django.po"))
    missing = [entry.msgid for entry in po.untranslated_entries() + po.fuzzy_entries()]
    assert missing == [], f"run `make messages` and translate: {missing[:10]}"


@pytest.mark.parametrize(
    ("language", "direction", "channels"),
    [("ar", "rtl", "القنوات"), ("az", "ltr", "Kanallar"), ("be", "ltr", "Каналы")],
)
def test_the_other_shipped_languages_translate_the_shell(
    client, staff_in_role, language, direction, channels
):
    client.force_login(staff_in_role("Support agent"))
    client.post("/i18n/setlang/", {"language": language, "next": "/"})
    page = client.get("/").content.decode()
    assert f'dir="{direction}"' in page and f'lang="{language}"' in page
    assert channels in page


def test_one_english_word_with_two_meanings_gets_two_translations():
    """A product's variant and an A/B test's variant are different words in Persian."""
    with translation.override("fa"):
        product = str(ProductVariant._meta.verbose_name)
        ab_test = str(CampaignVariant._meta.verbose_name)
    assert product != ab_test and "variant" not in (product + ab_test)
