"""Every staff page speaks the staff's language: nothing is left in English in Persian, Arabic,
Azerbaijani or Belarusian.

The page crawl's walk (`tests/e2e/test_crawl.py`: the demo logins, the story pages, a sample of
each page kind), done here with Django's test client, which is cheap: in Persian every demo
login, in Arabic, Azerbaijani and Belarusian the superuser (who reaches every page kind),
follows every same-site link from the home page. On every page it reads
what a person reads (text, and the title, placeholder, aria-label and alt attributes) outside
what people wrote or codes are: anything inside `<bdi>`, an element with a `dir` attribute
(`dir="auto"` marks names, messages, subjects, product names), `<code>`, form fields' values,
scripts and styles. It fails on

- a word of the English catalogue (any msgid of `locale/`) in a right-to-left or Cyrillic
  page, unless it is a brand name or a code of the allowlist below;
- a whole text that is an English msgid the language translates differently (Azerbaijani is
  written in Latin letters, so only this catches an untranslated label there);
- a machine value: a lower-case `word_word` (`order_completed`, `first_touch`);
- in Persian, a Latin digit in what people read (a count, "Page 2 of 5", a date, a list's
  marker): numbers are written in Persian digits. What stays Latin is a code or an address,
  isolated (`<bdi dir="ltr">`, `<code>`) or recognisable as one: a word with Latin letters in it
  (W-100001, C-208, 2FA), an e-mail, a URL or path, a phone number in E.164 (+989121234567).
"""

import re
from collections import Counter, defaultdict, deque
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import translation

from campaigns.services.template_context import variable_rows
from core.l10n import DIGITS
from tests.e2e.test_crawl import (
    DOWNLOAD_KINDS,
    SKIPPED_KINDS,
    SKIPPED_PREFIXES,
    demo_logins,
    kind_of,
    staff_page_kinds,
    story_urls,
)

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
LANGUAGES = ("fa", "ar", "az", "be")
# Languages not written in Latin letters: any English word in them is a label left untranslated.
WORD_CHECKED = {"fa", "ar", "be"}
SAMPLES_PER_KIND = 1
# Brand names, codes and units staff read as they are in every language.
ALLOWED_WORDS = {
    # brands, products and standards
    "omni", "instagram", "whatsapp", "telegram", "messenger", "facebook", "google", "sms",
    "imap", "smtp", "api", "json", "csv", "xlsx", "xml", "html", "pdf", "url", "http", "https",
    "utm", "iso", "ab", "a/b", "rfm", "csat", "sla", "sku", "gtin", "ean", "upc", "pos", "id",
    "otp", "qr", "gmc",
    # currencies and units
    "usd", "eur", "irr", "irt", "aed", "azn", "byn", "try", "gbp", "kg", "cm", "mm", "km",
    # what the language switch offers, each in its own language
    "english",
    # brands and products named in labels, a key's name, a currency sign
    "postgresql", "sqlite", "meta", "merchant", "digikala", "enter", "us$",
    # messaging providers, named as their consoles name them
    "twilio", "kavenegar",
    # shop software a channel connects to
    "woocommerce",
}  # fmt: skip
# Elements whose text people wrote or that are codes: isolated, shown as typed.
# Pages a customer opens from her own link: they speak her language whoever opens them
# (tests/support/test_reviews.py reads the review page in hers).
CUSTOMER_PAGES = {"support:review-form"}
EXEMPT_TAGS = {"script", "style", "textarea", "code", "kbd", "samp", "pre", "bdi", "template"}
# The window's title repeats the page's heading, and may hold a conversation's subject.
EXEMPT_TAGS |= {"title"}
VOID_TAGS = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
}  # fmt: skip
READ_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
# A word, in any script, with what joins it into one code or address (W-100001, a@b.com).
WORD_RE = re.compile(r"[^\W\d_][\w'’./@:+$-]*")
# A word right after one of these, or with one inside, is code: /api/v1/feeds/<channel>,
# ?token=, |date, @name, {first_name}, catalog:read.
CODE_BEFORE = "/<?|@{=_'"
CODE_INSIDE = re.compile(r"\w[.:/@]\w")
ENGLISH_RE = re.compile(r"[A-Za-z][A-Za-z0-9_'’./@:+-]*")
MACHINE_RE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")
# Languages whose pages write numbers in their own digits (core.l10n.LANGUAGE_DIGITS).
DIGITS_CHECKED = {"fa"}
# A run of text holding a Latin digit, up to the next space.
LATIN_DIGITS_RE = re.compile(r"\S*[0-9]\S*")
E164_RE = re.compile(r"^\+[1-9][0-9]{6,14}$")


def is_latin_code(token):
    """A token whose Latin digits stay Latin: a code with Latin letters (W-100001, C-208), an
    e-mail, a URL or a path, a phone number in E.164, or the Latin digits shown as themselves
    (the display preferences' "Latin (0123456789)")."""
    token = token.strip("()[]«»,;.:!?،؛")
    return bool(
        token == DIGITS["latin"]
        or re.search("[A-Za-z]", token)
        or "@" in token
        or token.startswith(("/", "http://", "https://", "www."))
        or E164_RE.match(token)
    )


class ReadableText(HTMLParser):
    """The texts a person reads on the page outside exempt elements."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []  # (tag, exempt)
        self.texts = []

    @property
    def exempt(self):
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        exempt = (
            self.exempt
            or tag in EXEMPT_TAGS
            or ("dir" in attrs and tag != "html")
            or attrs.get("id") == "language-select"
            or attrs.get("type") == "hidden"
        )
        if not exempt:
            for name in READ_ATTRIBUTES:
                if attrs.get(name):
                    self.texts.append(attrs[name])
        if tag not in VOID_TAGS:
            self.stack.append((tag, exempt))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS:
            self.stack.pop()

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return

    def handle_data(self, data):
        if not self.exempt and data.strip():
            self.texts.append(data)


@pytest.fixture(autouse=True)
def _back_to_english():
    """The test client's requests leave the language they switched to active in this thread:
    the next test must start in English."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


def readable_texts(html):
    parser = ReadableText()
    parser.feed(html)
    parser.close()
    return [" ".join(text.split()) for text in parser.texts]


PLACEHOLDER_RE = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\{[^}]*\}\}|\{[^}]*\}|<[^>]+>")


def catalogue(language):
    return polib.pofile(str(ROOT / f"locale/{language}/LC_MESSAGES/django.po"))


def english_words(po):
    """Every word of the English source: the msgids of the catalogue."""
    words = set()
    for entry in po:
        for source in (entry.msgid, entry.msgid_plural):
            for word in WORD_RE.findall(PLACEHOLDER_RE.sub(" ", source or "")):
                word = word.strip(".:'’-").lower()
                if len(word) >= 2 and word.isalpha():
                    words.add(word)
    return words


def untranslated_phrases(po):
    """English msgids (as a page shows them) this language translates to something else."""
    phrases = set()
    for entry in po:
        if entry.msgid_plural or PLACEHOLDER_RE.search(entry.msgid):
            continue
        translation = entry.msgstr.strip()
        if translation and translation != entry.msgid and re.search("[A-Za-z]", entry.msgid):
            phrases.add(" ".join(entry.msgid.split()))
    return phrases


def template_variable_names():
    """The variables message templates may use (`order_id`, `total`, `cart`): codes the
    template editor's help names as they are typed."""
    names = {"for", "if", "date", "forloop"}
    with translation.override("en"):
        for path, description in variable_rows():
            names |= set(re.findall(r"[a-z][a-z0-9_]*", path))
            # "for an order (order_id, total, currency, products)": the event's keys
            for keys in re.findall(r"\(([a-z0-9_, ]+)\)", description):
                names |= {key.strip() for key in keys.split(",")}
    return names


def problems_of(texts, language, vocabulary, phrases, codes=frozenset()):
    found = []
    for text in texts:
        if language in DIGITS_CHECKED:
            found.extend(
                f"Latin digits {token!r} in {text[:80]!r}"
                for token in LATIN_DIGITS_RE.findall(text)
                if not is_latin_code(token)
            )
        if text in phrases and not all(
            word.lower() in ALLOWED_WORDS for word in ENGLISH_RE.findall(text)
        ):
            found.append(f"untranslated label {text!r}")
            continue
        for match in WORD_RE.finditer(text):
            token = match.group().rstrip(".:,;'’-")
            before = text[match.start() - 1] if match.start() else ""
            if (before and before in CODE_BEFORE) or CODE_INSIDE.search(token):
                continue
            if token.lower() in codes:
                continue
            if not ENGLISH_RE.fullmatch(token):
                continue  # a word in another script, or one with letters English has not
            if MACHINE_RE.match(token):
                found.append(f"machine value {token!r} in {text[:80]!r}")
            elif (
                language in WORD_CHECKED
                and token.isalpha()
                and token.lower() in vocabulary
                and token.lower() not in ALLOWED_WORDS
            ):
                found.append(f"English word {token!r} in {text[:80]!r}")
    return found


def walk(client, who, start_urls, report):
    """The crawl's walk: the home page, every same-site link, a sample of each page kind, and
    the story pages the login may open."""
    seen, per_kind = set(), Counter()
    queue = deque([("/", True), *((url, False) for url in start_urls)])
    pages = 0
    while queue:
        url, linked = queue.popleft()
        url = urljoin("http://testserver/", url).split("#")[0]
        if url in seen or not url.startswith("http://testserver/"):
            continue
        seen.add(url)
        parts = urlsplit(url)
        path = parts.path
        if path.startswith(SKIPPED_PREFIXES):
            continue
        kind = kind_of(path)
        if kind is None or kind in SKIPPED_KINDS or kind in DOWNLOAD_KINDS:
            continue
        if kind in CUSTOMER_PAGES:
            continue
        if linked and per_kind[kind] >= SAMPLES_PER_KIND:
            continue
        local = path + (f"?{parts.query}" if parts.query else "")
        response = client.get(local)
        if response.status_code in (301, 302):
            queue.appendleft((response["Location"], linked))
            continue
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        per_kind[kind] += 1
        pages += 1
        html = response.content.decode()
        assert f'lang="{who[1]}"' in html, f"{local} is not in {who[1]}"
        yield local, kind, html
        for link in re.findall(r'<a\b[^>]*\bhref="([^"#][^"]*)"', html):
            queue.append((link.replace("&amp;", "&"), True))
    report.append(f"{who[0]}, {who[1]}: {pages} pages")


def test_every_staff_page_is_translated_in_each_shipped_language(client):
    call_command("seed_demo", "--size", "small", "--seed", "11", verbosity=0)
    start_urls = list(dict.fromkeys(url for url in story_urls().values() if url))
    english = english_words(catalogue("fa"))
    codes = template_variable_names()
    failures = defaultdict(set)
    report = []
    visited = set()
    for language in LANGUAGES:
        phrases = untranslated_phrases(catalogue(language))
        # Persian as every demo login (each role's buttons and panels); the other languages
        # as the superuser, who reaches every page kind: the same templates, a third the time.
        logins = demo_logins() if language == "fa" else demo_logins()[:1]
        for username, password in logins:
            client.logout()
            assert client.login(username=username, password=password), username
            client.post("/i18n/setlang/", {"language": language, "next": "/"})
            for path, kind, html in walk(client, (username, language), start_urls, report):
                visited.add(kind)
                for problem in problems_of(
                    readable_texts(html),
                    language,
                    english,
                    phrases,
                    # the template editor's help names the variables as they are typed
                    codes if kind.startswith("campaigns:template-") else frozenset(),
                ):
                    failures[(kind, problem)].add(f"{path} [{username}, {language}]")
    lines = sorted(
        f"  {problem}  on {kind}: {sorted(where)[0]}"
        + (f" and {len(where) - 1} more" if len(where) > 1 else "")
        for (kind, problem), where in failures.items()
    )
    unvisited = sorted(staff_page_kinds() - visited - SKIPPED_KINDS - DOWNLOAD_KINDS)
    report.append(f"page kinds read: {len(visited)}; never linked by GET: {unvisited}")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "untranslated.txt").write_text("\n".join(report + lines) + "\n")
    # The pages of the issue were read, so the check cannot pass by reading nothing.
    assert {
        "support:inbox", "support:conversation", "support:reports", "customers:detail",
        "orders:order-detail", "campaigns:segment-list", "campaigns:journey-list",
        "campaigns:attribution", "inventory:ledger", "catalog:product-detail",
    } <= visited, sorted(visited)  # fmt: skip
    assert not lines, f"{len(lines)} untranslated labels:\n" + "\n".join(lines)


def test_the_check_reads_labels_but_not_what_people_wrote_or_codes():
    english = {"message", "received", "has", "email", "placed"}
    html = (
        '<p>پیام <span title="placed">x</span></p>'
        '<p dir="auto">Can I exchange for another size?</p>'
        "<p>Message received</p><p><bdi>[#C-208]</bdi> first_touch</p>"
        "<code>order_completed</code><p>has a email</p>"
    )
    problems = problems_of(readable_texts(html), "fa", english, {"Message received"})
    assert problems == [
        "English word 'placed' in 'placed'",
        "untranslated label 'Message received'",
        "machine value 'first_touch' in 'first_touch'",
        "English word 'has' in 'has a email'",
        "English word 'email' in 'has a email'",
    ]


def test_the_check_reads_latin_digits_in_persian_but_not_in_codes():
    html = (
        "<p>صفحه 2 از ۵</p><p>۳ سفارش</p><p>W-100001 و C-208</p>"
        '<p><bdi>#12</bdi> <bdi dir="ltr">6260000001146</bdi></p>'
        "<p>sara@example.com +989121234567 /api/v1/orders</p><p>لاتین (0123456789)</p>"
    )
    problems = problems_of(readable_texts(html), "fa", set(), set())
    assert problems == ["Latin digits '2' in 'صفحه 2 از ۵'"]
    # Arabic writes Western digits unless the reader chose otherwise.
    assert problems_of(readable_texts("<p>صفحة 2 من 5</p>"), "ar", set(), set()) == []
