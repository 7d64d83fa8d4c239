"""Template helpers of the customer pages."""

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

from customers.choices import IdentityKind
from customers.event_names import details_of, is_known_event, label_of
from customers.labels import merge_reason_label

register = template.Library()


@register.filter
def event_label(name):
    """`product_viewed` -> its translated label; a partner's own event name reads as words,
    isolated, since it has no translation. A journey's `identity_added:<kind>` trigger reads
    as the new identity's kind."""
    base, _sep, kind = str(name).partition(":")
    if base == "identity_added" and kind in IdentityKind.values:
        return _("New identity: %(kind)s") % {"kind": IdentityKind(kind).label}
    if is_known_event(name):
        return label_of(name)
    return format_html('<bdi dir="auto">{}</bdi>', label_of(name))


@register.filter
def event_details(properties):
    """The readable facts of an event's properties (a list of strings)."""
    return details_of(properties, isolate=True)


@register.filter
def merge_reason(reason):
    """A merge's or a candidate's reason as the reader reads it (customers.labels)."""
    return merge_reason_label(reason)
