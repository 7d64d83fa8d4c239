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

Channels are channel kinds or codes; "online" means the web shop and the app. Each node
compiles to EXISTS / correlated sub-queries, so a whole segment is one SELECT, never a loop
over customers in Python.
"""

import json
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    OuterRef,
    Q,
    Sum,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext, pgettext

from campaigns.errors import InvalidRules
from core import l10n
from core.models import ChannelKind
from customers.event_names import label_of
from customers.models import (
    Consent,
    ConsentPurpose,
    ConsentStatus,
    Customer,
    Event,
    Identity,
    IdentityKind,
)

ONLINE_KINDS = ("web", "mobile_app")
TRAIT_FIELDS = {
    "first_name",
    "last_name",
    "locale",
    "preferred_channel",
    "is_anonymous",
    "orders_count",
    "created_at",
    "last_seen_at",
}
TRAIT_OPS = {"eq", "ne", "in", "contains", "gte", "lte", "exists"}
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
MONEY = DecimalField(max_digits=18, decimal_places=4)

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


def audience_base():
    """Customers a segment may hold: live, known, not erased."""
    return Customer.objects.live().filter(erased_at__isnull=True, is_anonymous=False)


def segment_queryset(rules, *, now=None):
    """The customers matching `rules`, as one queryset. Raises InvalidRules naming the path."""
    condition = compile_rules(rules, now=now)
    return audience_base().filter(condition)


def count_members(rules, *, now=None) -> int:
    return segment_queryset(rules, now=now).count()


def matches(rules, customer, *, now=None) -> bool:
    """Does this one customer satisfy the rules now (journey conditions)?"""
    if not rules:
        return True
    condition = compile_rules(rules, now=now)
    return Customer.objects.filter(pk=customer.pk).filter(condition).exists()


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
    condition = Q(channel__kind__in=sorted(kinds)) if kinds else Q(pk__in=[])
    if codes:
        condition |= Q(channel__code__in=sorted(codes))
    return condition


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
    _fail(path, "Unknown rule; use all, any, not, trait, identity, consent, event or orders.")


def _trait(node, path) -> Q:
    name = node["trait"]
    op = node.get("op", "eq")
    value = node.get("value")
    if not isinstance(name, str) or not name:
        _fail(f"{path}.trait", "Name a trait.")
    if op not in TRAIT_OPS:
        _fail(f"{path}.op", f"One of: {', '.join(sorted(TRAIT_OPS))}.")
    field = name if name in TRAIT_FIELDS else f"traits__{name}"
    if op == "exists":
        if name in TRAIT_FIELDS:
            return ~Q(**{field: ""}) & Q(**{f"{field}__isnull": False})
        return Q(traits__has_key=name)
    if op == "in" and not isinstance(value, list):
        _fail(f"{path}.value", "Must be a list for op 'in'.")
    lookup = {"eq": "", "ne": "", "in": "__in", "contains": "__icontains", "gte": "__gte"}.get(
        op, "__lte"
    )
    condition = Q(**{f"{field}{lookup}": value})
    return ~condition if op == "ne" else condition


def _identity(node, path) -> Q:
    kind = node["identity"]
    if kind not in IdentityKind.values:
        _fail(f"{path}.identity", f"One of: {', '.join(IdentityKind.values)}.")
    identities = Identity.objects.filter(customer=OuterRef("pk"), kind=kind)
    if node.get("verified"):
        identities = identities.filter(is_verified=True)
    return Q(Exists(identities))


def latest_decision_is(channel_kind, purpose, status) -> Exists:
    """EXISTS a decision with this status that no later decision (same channel kind and
    purpose) overrides. Anti-joins, which PostgreSQL hashes over the whole consent table,
    instead of a "latest row" sub-query run once per customer."""
    later = Consent.objects.filter(
        customer=OuterRef("customer"), channel_kind=channel_kind, purpose=purpose
    ).filter(
        Q(recorded_at__gt=OuterRef("recorded_at"))
        | Q(recorded_at=OuterRef("recorded_at"), id__gt=OuterRef("id"))
    )
    return Exists(
        Consent.objects.filter(
            customer=OuterRef("pk"), channel_kind=channel_kind, purpose=purpose, status=status
        ).exclude(Exists(later))
    )


def _consent(node, path) -> Q:
    kind = node["consent"]
    purpose = node.get("purpose", ConsentPurpose.MARKETING)
    if kind not in ChannelKind.values:
        _fail(f"{path}.consent", f"One of: {', '.join(ChannelKind.values)}.")
    if purpose not in ConsentPurpose.values:
        _fail(f"{path}.purpose", f"One of: {', '.join(ConsentPurpose.values)}.")
    if purpose == ConsentPurpose.TRANSACTIONAL:
        # Granted unless the latest decision withdrew it (customers.selectors.DEFAULT_CONSENT).
        return ~Q(latest_decision_is(kind, purpose, ConsentStatus.WITHDRAWN))
    return Q(latest_decision_is(kind, purpose, ConsentStatus.GRANTED))


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
    base = Event.objects.filter(name=name)
    if "channels" in node:
        base = base.filter(_channels(node["channels"], f"{path}.channels"))
    window = _days(node, "within_days", path)
    if window:
        base = base.filter(occurred_at__gte=now - window)
    events = base.filter(customer=OuterRef("pk"))
    min_count = node.get("min_count")
    if min_count is not None and (
        isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1
    ):
        _fail(f"{path}.min_count", "Must be a whole number of at least 1.")
    min_value = _number(node, "min_value", path)
    condition = Q(Exists(events))
    if min_count and min_count > 1:
        condition &= _count_at_least(base, min_count)
    if min_value is not None:
        condition &= _value_between(base, low=min_value)
    return condition if did else ~condition


# Counts and sums are one grouped sub-query over the matching events (`pk IN (SELECT
# customer_id ... GROUP BY customer_id HAVING ...)`): one pass over the events instead of a
# correlated aggregate per customer, which is what keeps a 100,000-customer segment fast.
def _count_at_least(events, minimum) -> Q:
    counted = events.order_by().values("customer").annotate(n=Count("id")).filter(n__gte=minimum)
    return Q(pk__in=counted.values("customer"))


def _value_between(events, *, low=None, high=None) -> Q:
    summed = (
        events.order_by().values("customer").annotate(v=Sum(Cast(KT("properties__total"), MONEY)))
    )
    if low is not None:
        summed = summed.filter(v__gte=low)
    if high is not None:
        summed = summed.filter(v__lte=high)
    return Q(pk__in=summed.values("customer"))


def _orders(spec, path, now) -> Q:
    if not isinstance(spec, dict) or not spec:
        _fail(path, "Must be an object of order conditions.")
    unknown = set(spec) - ORDER_KEYS
    if unknown:
        _fail(f"{path}.{sorted(unknown)[0]}", "Unknown key.")
    all_orders = Event.objects.filter(name="order_completed")
    window = _days(spec, "within_days", path)
    in_window = all_orders.filter(occurred_at__gte=now - window) if window else all_orders
    orders = all_orders.filter(customer=OuterRef("pk"))
    scoped = in_window.filter(customer=OuterRef("pk"))
    condition = Q(Exists(scoped))
    if "bought_in" in spec:
        condition &= Q(Exists(scoped.filter(_channels(spec["bought_in"], f"{path}.bought_in"))))
    if "never_in" in spec:
        condition &= ~Q(Exists(orders.filter(_channels(spec["never_in"], f"{path}.never_in"))))
    if "only_in" in spec:
        inside = _channels(spec["only_in"], f"{path}.only_in")
        condition &= Q(Exists(scoped.filter(inside)))
        condition &= ~Q(Exists(scoped.exclude(inside & Q(channel__isnull=False))))
    min_count = spec.get("min_count")
    if min_count is not None:
        if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
            _fail(f"{path}.min_count", "Must be a whole number of at least 1.")
        if min_count > 1:
            condition &= _count_at_least(in_window, min_count)
    min_spent = _number(spec, "min_spent", path)
    max_spent = _number(spec, "max_spent", path)
    if min_spent is not None or max_spent is not None:
        condition &= _value_between(in_window, low=min_spent, high=max_spent)
    recent = _days(spec, "last_purchase_within_days", path)
    if recent:
        condition &= Q(Exists(orders.filter(occurred_at__gte=now - recent)))
    lapsed = _days(spec, "last_purchase_before_days", path)
    if lapsed:
        condition &= ~Q(Exists(orders.filter(occurred_at__gte=now - lapsed)))
    return condition


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
    try:
        label = str(Customer._meta.get_field(name).verbose_name)
    except Exception:  # noqa: BLE001 (a custom trait: any key of Customer.traits)
        label = f"«{name}»"
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
    return "?"
