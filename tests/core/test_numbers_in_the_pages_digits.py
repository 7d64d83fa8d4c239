"""Numbers inside translated sentences, page counters and ordered lists are written in the
page's digits (#17): Persian in fa, the staff member's choice in ar (Western by default)."""

import re
from pathlib import Path

import pytest
from django.template import engines
from django.utils import translation

from core import l10n
from core.models import StaffPreferences

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = [
    path
    for path in ROOT.glob("**/templates/**/*.html")
    if ".venv" not in path.parts and "node_modules" not in path.parts
]
COUNT_TAG = re.compile(r"{%\s*blocktranslate\s+count\s+\w+=([^\s%]+)")
PAGE_TAG = re.compile(r"{%\s*blocktranslate\s+with\s+([^%]*)%}Page {{ number }}")


def test_every_counted_sentence_and_pager_passes_its_numbers_through_the_digits_filters():
    unconverted = []
    for path in TEMPLATES:
        text = path.read_text()
        for counter in COUNT_TAG.findall(text):
            if not counter.endswith("|count"):
                unconverted.append(f"{path.relative_to(ROOT)}: count {counter}")
        for variables in PAGE_TAG.findall(text):
            for variable in variables.split():
                if not variable.endswith("|number"):
                    unconverted.append(f"{path.relative_to(ROOT)}: {variable}")
    assert not unconverted, "\n".join(unconverted)


def test_a_count_chooses_the_plural_and_is_shown_in_the_languages_digits():
    template = engines["django"].from_string(
        "{% load i18n display %}"
        "{% blocktranslate count counter=n|count %}{{ counter }} order{% plural %}"
        "{{ counter }} orders{% endblocktranslate %}"
        " · {% blocktranslate with number=n|number total=n|number %}Page {{ number }} of "
        "{{ total }}{% endblocktranslate %}"
    )
    with translation.override("fa"):
        persian = template.render({"n": 1234})
    assert "1" not in persian and "۱٬۲۳۴" in persian
    with translation.override("en"):
        assert template.render({"n": 1}) == "1 order · Page 1 of 1"
        assert template.render({"n": 2}) == "2 orders · Page 2 of 2"
    with translation.override("ar"), l10n.preferences(digits="arabic_indic"):
        assert "٢" in template.render({"n": 2})


@pytest.mark.django_db
def test_ordered_lists_are_numbered_in_the_digits_in_force(client, staff_in_role):
    user = staff_in_role("Support agent")
    client.force_login(user)

    def digits_of(language):
        html = client.get("/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
        return re.search(r'<html [^>]*data-digits="(\w+)"', html).group(1)

    assert digits_of("fa") == "persian"
    assert digits_of("ar") == "latin"
    StaffPreferences.objects.create(user=user, digits="arabic_indic")
    assert digits_of("ar") == "arabic_indic"
    css = (ROOT / "core/static/core/app.css").read_text()
    assert re.search(r'\[data-digits="persian"\]\) ol \{ list-style-type:persian; \}', css)
    assert re.search(
        r'\[data-digits="arabic_indic"\]\) ol \{ list-style-type:arabic-indic; \}', css
    )
