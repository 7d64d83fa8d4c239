"""How staff read the reasons the system gives for merging two profiles. The reasons are
stored in English words (`anonymous profile identified`, `both hold verified email and
phone`) so the API and the data stay as they are; pages show them in the reader's language.
A reason a person wrote (a colleague's flag, a partner's API call) is shown as written."""

import re

from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.models import IdentityKind

MERGE_REASONS = {
    "anonymous profile identified": gettext_lazy("anonymous profile identified"),
    "same identity": gettext_lazy("same identity"),
    "approved by staff": gettext_lazy("approved by staff"),
}
BOTH_VERIFIED = re.compile(r"^both hold verified (?P<kinds>[a-z_]+(?: and [a-z_]+)*)$")


def identity_kind_words(kinds):
    """`["email", "phone"]` -> their labels in the reader's language."""
    return [
        str(IdentityKind(kind).label) if kind in IdentityKind.values else kind for kind in kinds
    ]


def merge_reason_label(reason):
    """The reason in the reader's language; one a person wrote, isolated as they wrote it."""
    reason = (reason or "").strip()
    if reason in MERGE_REASONS:
        return str(MERGE_REASONS[reason])
    match = BOTH_VERIFIED.match(reason)
    if match:
        kinds = identity_kind_words(match["kinds"].split(" and "))
        return _("both hold a different verified %(kinds)s") % {
            "kinds": _(", ").join(kinds).lower()
        }
    return format_html('<bdi dir="auto">{}</bdi>', reason)
