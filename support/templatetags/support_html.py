"""`{{ message.html|sanitised_html }}`: a customer's HTML, cleaned again as it is shown, so a
row stored before (or around) the inbound sanitiser cannot run script in an agent's page."""

from django import template
from django.utils.safestring import mark_safe

from support.services.conversations import sanitise_html

register = template.Library()


@register.filter
def sanitised_html(value) -> str:
    return mark_safe(sanitise_html(value or ""))  # noqa: S308 (nh3 has just cleaned it)
