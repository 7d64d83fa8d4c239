"""Template helpers of the customer pages."""

from django import template

from customers.event_names import details_of, label_of

register = template.Library()


@register.filter
def event_label(name):
    """`product_viewed` -> its translated label; custom names read as words."""
    return label_of(name)


@register.filter
def event_details(properties):
    """The readable facts of an event's properties (a list of strings)."""
    return details_of(properties)
