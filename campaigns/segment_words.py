"""Segment rules in words, in the reader's language: whole translated sentences with the
kinds, events and channels by their labels, for staff pages and the API (the rules
themselves are compiled to SQL in campaigns.services.segments). It reads no table, so the
Segment model may say its rules with it."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext, pgettext

from core import l10n
from core.models import ChannelKind
from customers.choices import ConsentPurpose, IdentityKind
from customers.event_names import label_of
from customers.selectors import customer_field_label


def describe(rules) -> str:
    """The rules in words, in the active language, for staff pages and the API: whole
    translated sentences with the kinds, events and channels by their labels."""
    if not rules:
        return _("everyone")
    return _describe(rules)


TRAIT_OP_WORDS = {
    "eq": gettext_noop("%(trait)s is %(value)s"),
    "ne": gettext_noop("%(trait)s is not %(value)s"),
    "in": gettext_noop("%(trait)s is one of %(value)s"),
    "contains": gettext_noop("%(trait)s contains %(value)s"),
    "gte": gettext_noop("%(trait)s is at least %(value)s"),
    "lte": gettext_noop("%(trait)s is at most %(value)s"),
    "exists": gettext_noop("%(trait)s is set"),
}


def _list(values) -> str:
    return _(", ").join(str(value) for value in values)


def _channel_words(values) -> str:
    if isinstance(values, str):
        values = [values]
    labels = []
    for value in values or ():
        if value == "online":
            labels.append(_("online (web shop or app)"))
        elif value in ChannelKind.values:
            labels.append(str(ChannelKind(value).label))
        else:
            labels.append(str(value))  # a channel's code, as staff typed it
    return _list(labels)


def _trait_words(node) -> str:
    name = str(node.get("trait", ""))
    label = customer_field_label(name) or f"«{name}»"  # else a custom trait (any key)
    value = node.get("value", "")
    value = _list(value) if isinstance(value, list) else str(value)
    words = TRAIT_OP_WORDS.get(node.get("op", "eq"), TRAIT_OP_WORDS["eq"])
    return _(words) % {"trait": label, "value": value}


def _order_words(spec) -> str:
    parts = []
    for key, value in sorted(spec.items()) if isinstance(spec, dict) else ():
        if key == "bought_in":
            parts.append(_("bought in %(channels)s") % {"channels": _channel_words(value)})
        elif key == "only_in":
            parts.append(_("bought only in %(channels)s") % {"channels": _channel_words(value)})
        elif key == "never_in":
            parts.append(_("never bought in %(channels)s") % {"channels": _channel_words(value)})
        elif key == "min_count":
            parts.append(
                ngettext("at least %(count)s order", "at least %(count)s orders", value)
                % {"count": l10n.format_number(value)}
            )
        elif key == "min_spent":
            parts.append(_("spent at least %(amount)s") % {"amount": value})
        elif key == "max_spent":
            parts.append(_("spent at most %(amount)s") % {"amount": value})
        elif key == "within_days":
            parts.append(
                ngettext("in the last %(days)s day", "in the last %(days)s days", value)
                % {"days": l10n.format_number(value)}
            )
        elif key == "last_purchase_within_days":
            parts.append(
                ngettext(
                    "last purchase within %(days)s day",
                    "last purchase within %(days)s days",
                    value,
                )
                % {"days": l10n.format_number(value)}
            )
        elif key == "last_purchase_before_days":
            parts.append(
                ngettext(
                    "no purchase in the last %(days)s day",
                    "no purchase in the last %(days)s days",
                    value,
                )
                % {"days": l10n.format_number(value)}
            )
        else:
            parts.append(f"{key}={value}")
    return _("orders: %(conditions)s") % {"conditions": _list(parts)}


def _event_words(node) -> str:
    event = label_of(str(node["event"]))
    if node.get("did", True):
        words = [_("did “%(event)s”") % {"event": event}]
    else:
        words = [_("did not “%(event)s”") % {"event": event}]
    if node.get("channels"):
        words.append(_("in %(channels)s") % {"channels": _channel_words(node["channels"])})
    days = node.get("within_days")
    if days:
        words.append(
            ngettext("within %(days)s day", "within %(days)s days", days)
            % {"days": l10n.format_number(days)}
        )
    count = node.get("min_count")
    if count:
        words.append(
            ngettext("at least %(count)s time", "at least %(count)s times", count)
            % {"count": l10n.format_number(count)}
        )
    if node.get("min_value") is not None:
        words.append(_("worth at least %(value)s") % {"value": node["min_value"]})
    return " ".join(words)


def _kind_label(choices, value) -> str:
    return str(choices(value).label) if value in choices.values else str(value)


def _describe(node) -> str:
    if "all" in node:
        joined = pgettext("between two segment rules", " and ").join(
            _describe(child) for child in node["all"]
        )
        return f"({joined})"
    if "any" in node:
        joined = pgettext("between two segment rules", " or ").join(
            _describe(child) for child in node["any"]
        )
        return f"({joined})"
    if "not" in node:
        inner = node["not"]
        if isinstance(inner, dict) and "event" in inner:
            return _event_words({**inner, "did": not inner.get("did", True)})
        return _("not %(rule)s") % {"rule": _describe(inner)}
    if "trait" in node:
        return _trait_words(node)
    if "identity" in node:
        kind = _kind_label(IdentityKind, node["identity"])
        if node.get("verified"):
            return _("has a verified identity: %(kind)s") % {"kind": kind}
        return _("has an identity: %(kind)s") % {"kind": kind}
    if "consent" in node:
        return _("consents to %(purpose)s messages by %(channel)s") % {
            "purpose": _kind_label(ConsentPurpose, node.get("purpose", "marketing")).lower(),
            "channel": _kind_label(ChannelKind, node["consent"]),
        }
    if "event" in node:
        return _event_words(node)
    if "orders" in node:
        return _order_words(node["orders"])
    if "home_store" in node:
        return _("home store is %(store)s") % {"store": _store_words(node["home_store"])}
    if "near_store" in node:
        km = node.get("within_km")
        return _("lives within %(km)s km of %(store)s") % {
            "km": l10n.format_number(km) if isinstance(km, (int, float)) else km,
            "store": _store_words(node["near_store"]),
        }
    return "?"


def _store_words(code) -> str:
    """A store by the code staff typed (this module reads no table)."""
    return f"«{code}»"
