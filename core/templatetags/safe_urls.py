"""`{{ value|safe_url }}`: an outside URL fit for href or src, or "" (see core.safe_urls)."""

from django import template

from core.safe_urls import safe_url as clean_url

register = template.Library()


@register.filter
def safe_url(value) -> str:
    return clean_url(value)
