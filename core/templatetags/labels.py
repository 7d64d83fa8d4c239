"""Display labels of machine values shown to staff: `{{ kind|channel_kind }}`."""

from django import template

from core.models import ChannelKind

register = template.Library()


@register.filter
def channel_kind(value):
    """`mobile_app` -> "Mobile app" in the reader's language; an unknown kind as it is."""
    if value in ChannelKind.values:
        return ChannelKind(value).label
    return value
