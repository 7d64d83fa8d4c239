"""Segment rules -> one SQL query over the customer record, through the ORM.

Rules are JSON. A node is one of:

    {"all": [node, ...]}            every node holds
    {"any": [node, ...]}            at least one holds
    {"not": node}
    {"trait": "locale", "op": "eq", "value": "fa"}
        fields first_name, last_name, locale, preferred_channel, is_anonymous, orders_count,
        created_at, last_seen_at, or any key of Customer.traits; ops eq ne in contains gte
        lte exists
    {"identity": "phone", "verified": true}           holds an identity of this kind
    {"consent": "email", "purpose": "marketing"}      the latest decision grants it
    {"event": "product_viewed", "did": true, "channels": ["web", "online"], "within_days": 30,
     "min_count": 2, "min_value": 100}
        did / did not do X in channel(s) Y within N days, at least `min_count` times, worth
        at least `min_value` (sum of properties.total)
    {"orders": {"min_spent": 100, "max_spent": 500, "min_count": 2, "within_days": 365,
                "bought_in": ["store"], "never_in": ["online"], "only_in": ["store"],
                "last_purchase_within_days": 30, "last_purchase_before_days": 90}}
        from `order_completed` events, whatever channel placed the order
    {"home_store": "teh-tajrish"}
        her home store is this store (by code): where she has most orders naming a store
        and store visits, the most recent winning a tie (campaigns.services.store_local)
    {"near_store": "teh-tajrish", "within_km": 5}
        she lives within N km of the store: her own latitude/longitude (profile), never her
        home store's

Channels are channel kinds or codes; "online" means the web shop and the app. Each node
compiles to EXISTS / correlated sub-queries, so a whole segment is one SELECT, never a loop
over customers in Python. The query parts over the customer record (identities, consent,
the timeline) come from customers.selectors; the rules in words are in
campaigns.segment_words.
"""

import json
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from campaigns.errors import InvalidRules
from campaigns.services.store_local import home_store_is, lives_near, store_named
from core.models import ChannelKind
from customers.choices import ConsentPurpose, IdentityKind
from customers.selectors import (
    ORDER_COMPLETED,
    PROFILE_OPS,
    consenting,
    customer_matches,
    event_channels,
    event_count_at_least,
    event_total_between,
    events_named,
    has_event,
    has_identity,
    known_customers,
    profile_condition,
)

ONLINE_KINDS = ("web", "mobile_app")
ORDER_KEYS = {
    "min_spent",
    "max_spent",
    "min_count",
    "within_days",
    "bought_in",
    "never_in",
    "only_in",
    "last_purchase_within_days",
    "last_purchase_before_days",
}
EVENT_KEYS = {"event", "did", "channels", "within_days", "min_count", "min_value"}

# The ready-made segments staff start from (name -> description, rules).
READY_MADE = {
    "Researched online, bought in store": (
        "Viewed products on the web shop or app and bought in a store, both in the last 30 days.",
        {
            "all": [
                {"event": "product_viewed", "channels": ["online"], "within_days": 30},
                {"orders": {"bought_in": ["store"], "within_days": 30}},
            ]
        },
    ),
    "Bought in store only, never online": (
        "Has store orders and no order in any other channel.",
        {"orders": {"only_in": ["store"]}},
    ),
    "Cart abandoned in the last 24 h": (
        "Left a cart in the last day and has not ordered since, in any channel.",
        {
            "all": [
                {"event": "cart_abandoned", "within_days": 1},
                {"event": "order_completed", "did": False, "within_days": 1},
            ]
        },
    ),
    "Lapsed 90 days": (
        "Ordered before, but not in the last 90 days.",
        {"orders": {"min_count": 1, "last_purchase_before_days": 90}},
    ),
}


def segment_queryset(rules, *, now=None):
    """The customers matching `rules`, as one queryset: live, known and not erased ones only.
    Raises InvalidRules naming the path."""
    condition = compile_rules(rules, now=now)
    return known_customers().filter(condition)


def count_members(rules, *, now=None) -> int:
    return segment_queryset(rules, now=now).count()


def matches(rules, customer, *, now=None) -> bool:
    """Does this one customer satisfy the rules now (journey conditions)?"""
    if not rules:
        return True
    return customer_matches(customer.pk, compile_rules(rules, now=now))


# What json's messages mean, in words a marketer can act on.
JSON_PROBLEMS = {
    "Expecting value": gettext_noop(
        "a value is missing (a stray comma, or a word without quotes?)"
    ),
    "Expecting property name enclosed in double quotes": gettext_noop(
        "a name must be written in double quotes, with no comma before the closing brace"
    ),
    "Expecting ',' delimiter": gettext_noop("a comma is missing between two items"),
    "Expecting ':' delimiter": gettext_noop("a colon is missing after a name"),
    "Extra data": gettext_noop("there is more text after the rules end"),
    "Unterminated string starting at": gettext_noop("a text is not closed with a double quote"),
    "Invalid control character at": gettext_noop(
        "a text holds a line break; keep each text on one line"
    ),
}


def parse_rules(text: str) -> dict:
    """The rules typed as JSON on the segment builder. Raises InvalidRules saying, in words,
    what is wrong and where (line and column), rather than the parser's own message."""
    try:
        rules = json.loads(text or "{}")
    except json.JSONDecodeError as error:
        problem = JSON_PROBLEMS.get(error.msg, error.msg)
        raise InvalidRules(
            _("The rules are not valid JSON at line %(line)s, column %(column)s: %(problem)s.")
            % {"line": error.lineno, "column": error.colno, "problem": _(problem)},
            fields={"rules": ["Not valid JSON."]},
        ) from None
    if not isinstance(rules, dict):
        raise InvalidRules(
            _('The rules must be one JSON object, such as {"all": [...]}.'),
            fields={"rules": ["Must be an object."]},
        )
    return rules


def compile_rules(rules, *, now=None) -> Q:
    if rules in (None, {}, []):
        return Q()
    return _node(rules, "rules", now or timezone.now())


def _fail(path, message):
    raise InvalidRules(f"{path}: {message}", fields={path: [message]})


def _days(node, key, path):
    value = node.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        _fail(f"{path}.{key}", "Must be a positive number of days.")
    return timedelta(days=value)


def _number(node, key, path):
    value = node.get(key)
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        number = None
    if isinstance(value, bool) or number is None or not number.is_finite() or number < 0:
        _fail(f"{path}.{key}", "Must be a non-negative number.")
    return number


def _channels(values, path) -> Q:
    """Events in these channels (kinds, codes, or "online")."""
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        _fail(path, "Must be a list of channel kinds or codes.")
    kinds = set()
    codes = set()
    for value in values:
        if value == "online":
            kinds.update(ONLINE_KINDS)
        elif value in ChannelKind.values:
            kinds.add(value)
        else:
            codes.add(value)
    return event_channels(kinds, codes)


def _node(node, path, now) -> Q:
    if not isinstance(node, dict) or not node:
        _fail(path, "Each rule must be a non-empty object.")
    if "all" in node or "any" in node:
        key = "all" if "all" in node else "any"
        children = node[key]
        if not isinstance(children, list) or not children or len(node) != 1:
            _fail(f"{path}.{key}", "Must be a non-empty list (and alone in its object).")
        compiled = [_node(child, f"{path}.{key}.{i}", now) for i, child in enumerate(children)]
        result = compiled[0]
        for part in compiled[1:]:
            result = (result & part) if key == "all" else (result | part)
        return result
    if "not" in node:
        if len(node) != 1:
            _fail(f"{path}.not", "Must be alone in its object.")
        return ~_node(node["not"], f"{path}.not", now)
    if "trait" in node:
        return _trait(node, path)
    if "identity" in node:
        return _identity(node, path)
    if "consent" in node:
        return _consent(node, path)
    if "event" in node:
        return _event(node, path, now)
    if "orders" in node:
        return _orders(node["orders"], f"{path}.orders", now)
    if "home_store" in node:
        return _home_store(node, path)
    if "near_store" in node:
        return _near_store(node, path)
    _fail(
        path,
        "Unknown rule; use all, any, not, trait, identity, consent, event, orders, "
        "home_store or near_store.",
    )


def _home_store(node, path) -> Q:
    if len(node) != 1:
        _fail(f"{path}.{sorted(set(node) - {'home_store'})[0]}", "Unknown key.")
    return home_store_is(store_named(node["home_store"], f"{path}.home_store", _fail))


def _near_store(node, path) -> Q:
    unknown = set(node) - {"near_store", "within_km"}
    if unknown:
        _fail(f"{path}.{sorted(unknown)[0]}", "Unknown key.")
    location = store_named(node["near_store"], f"{path}.near_store", _fail)
    km = node.get("within_km")
    if isinstance(km, bool) or not isinstance(km, (int, float)) or not 0 < km <= 20000:
        _fail(f"{path}.within_km", "Must be a number of kilometres above 0 (at most 20000).")
    return lives_near(location, km, f"{path}.near_store", _fail)


def _trait(node, path) -> Q:
    name = node["trait"]
    op = node.get("op", "eq")
    value = node.get("value")
    if not isinstance(name, str) or not name:
        _fail(f"{path}.trait", "Name a trait.")
    if op not in PROFILE_OPS:
        _fail(f"{path}.op", f"One of: {', '.join(sorted(PROFILE_OPS))}.")
    if op == "in" and not isinstance(value, list):
        _fail(f"{path}.value", "Must be a list for op 'in'.")
    return profile_condition(name, op, value)


def _identity(node, path) -> Q:
    kind = node["identity"]
    if kind not in IdentityKind.values:
        _fail(f"{path}.identity", f"One of: {', '.join(IdentityKind.values)}.")
    return Q(has_identity(kind, verified=bool(node.get("verified"))))


def _consent(node, path) -> Q:
    kind = node["consent"]
    purpose = node.get("purpose", ConsentPurpose.MARKETING)
    if kind not in ChannelKind.values:
        _fail(f"{path}.consent", f"One of: {', '.join(ChannelKind.values)}.")
    if purpose not in ConsentPurpose.values:
        _fail(f"{path}.purpose", f"One of: {', '.join(ConsentPurpose.values)}.")
    # Transactional: granted unless the latest decision withdrew it (DEFAULT_CONSENT).
    return consenting(kind, purpose)


def _event(node, path, now) -> Q:
    unknown = set(node) - EVENT_KEYS
    if unknown:
        _fail(f"{path}.{sorted(unknown)[0]}", "Unknown key.")
    name = node["event"]
    if not isinstance(name, str) or not name:
        _fail(f"{path}.event", "Name an event.")
    did = node.get("did", True)
    if not isinstance(did, bool):
        _fail(f"{path}.did", "Must be true or false.")
    channels = _channels(node["channels"], f"{path}.channels") if "channels" in node else None
    window = _days(node, "within_days", path)
    base = events_named(name, channels=channels, since=now - window if window else None)
    min_count = node.get("min_count")
    if min_count is not None and (
        isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1
    ):
        _fail(f"{path}.min_count", "Must be a whole number of at least 1.")
    min_value = _number(node, "min_value", path)
    condition = Q(has_event(base))
    if min_count and min_count > 1:
        condition &= event_count_at_least(base, min_count)
    if min_value is not None:
        condition &= event_total_between(base, low=min_value)
    return condition if did else ~condition


def _orders(spec, path, now) -> Q:
    if not isinstance(spec, dict) or not spec:
        _fail(path, "Must be an object of order conditions.")
    unknown = set(spec) - ORDER_KEYS
    if unknown:
        _fail(f"{path}.{sorted(unknown)[0]}", "Unknown key.")
    window = _days(spec, "within_days", path)
    since = now - window if window else None
    in_window = events_named(ORDER_COMPLETED, since=since)
    condition = Q(has_event(in_window))
    if "bought_in" in spec:
        bought_in = _channels(spec["bought_in"], f"{path}.bought_in")
        condition &= Q(has_event(events_named(ORDER_COMPLETED, since=since, channels=bought_in)))
    if "never_in" in spec:
        never_in = _channels(spec["never_in"], f"{path}.never_in")
        condition &= ~Q(has_event(events_named(ORDER_COMPLETED, channels=never_in)))
    if "only_in" in spec:
        inside = _channels(spec["only_in"], f"{path}.only_in")
        condition &= Q(has_event(events_named(ORDER_COMPLETED, since=since, channels=inside)))
        condition &= ~Q(has_event(events_named(ORDER_COMPLETED, since=since, outside=inside)))
    min_count = spec.get("min_count")
    if min_count is not None:
        if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
            _fail(f"{path}.min_count", "Must be a whole number of at least 1.")
        if min_count > 1:
            condition &= event_count_at_least(in_window, min_count)
    min_spent = _number(spec, "min_spent", path)
    max_spent = _number(spec, "max_spent", path)
    if min_spent is not None or max_spent is not None:
        condition &= event_total_between(in_window, low=min_spent, high=max_spent)
    recent = _days(spec, "last_purchase_within_days", path)
    if recent:
        condition &= Q(has_event(events_named(ORDER_COMPLETED, since=now - recent)))
    lapsed = _days(spec, "last_purchase_before_days", path)
    if lapsed:
        condition &= ~Q(has_event(events_named(ORDER_COMPLETED, since=now - lapsed)))
    return condition
