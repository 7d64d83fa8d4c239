"""The template sandbox: what a message template written by a user may read, and nothing else.

Campaign templates, their translations and journeys' messages are written by marketers and by
API keys with only `campaigns:write`. They render over plain values built here (dicts, lists,
strings, numbers, dates), never a model, queryset or manager, so no path through a template
reaches a password hash, a channel's secrets or another customer. `check_template` refuses,
naming it, any variable that is not in ALLOWED_VARIABLES and any tag that loads or reveals
something ({% load %}, {% debug %}, {% url %}...); `ENGINE` knows no loader and no tag library,
so {% include %}, {% extends %} and {% load i18n %} do not even compile.

Values that need a query (her last order, the products she looked at, her email) are callables
computed once, on first use: a template that does not read them costs no query.

Amounts also come ready to show in her language (`total_display`: ۱٬۲۵۰٬۰۰۰ ریال for a Persian
customer), and messages render in her language's calendar and digits (rendering wraps them in
core.l10n.for_customer), so `{{ last_order.occurred_at|date }}` is a Jalali date in Persian.
"""

from collections import ChainMap
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from functools import cache

from django.template import Engine, Template, defaultfilters
from django.template import defaulttags as tags
from django.template.base import FilterExpression, TextNode, Variable, VariableNode
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.errors import InvalidTemplate
from campaigns.services import loyalty
from campaigns.services.coupons import describe_discount
from campaigns.services.links import site_url
from campaigns.services.recommendations import recommendation_values
from catalog.selectors import product_cards
from core import l10n
from core.review_links import review_url
from customers.selectors import latest_event_of, newest_identity_value, skus_viewed_not_bought
from orders.services.common import reference_channel

RECOMMENDED_PRODUCTS = 3
# Keys of a message's context that journeys fill from the event that started the run.
JOURNEY_DATA = ("trigger", "cart", "order")


@dataclass
class Allowed:
    """What a variable holds: a plain value; a dict with these `keys`; a list of `items`; or
    event `data` (JSON the customer's own event carried: any key below it may be read)."""

    description: str = ""
    keys: dict = field(default_factory=dict)
    items: "Allowed | None" = None
    data: bool = False

    def below(self, name: str) -> "Allowed | None":
        if self.data:
            return self
        if name in self.keys:
            return self.keys[name]
        if self.items is not None and name.isdigit():
            return self.items
        return None

    def item(self) -> "Allowed":
        """What a {% for %} over it gives."""
        if self.items is not None:
            return self.items
        return self if self.data else PLAIN


PLAIN = Allowed()

ORDER_LINE = Allowed(
    keys={
        "sku": Allowed(gettext_lazy("The SKU.")),
        "quantity": Allowed(gettext_lazy("How many.")),
        "price": Allowed(gettext_lazy("The unit price.")),
    },
)
PRODUCT = Allowed(
    keys={
        "sku": Allowed(gettext_lazy("The SKU she looked at.")),
        "name": Allowed(gettext_lazy("Its title, in her language when translated.")),
        "url": Allowed(gettext_lazy("Its page on the shop (from the feeds' product URL).")),
    },
)
RECOMMENDATION = Allowed(
    keys={
        "sku": Allowed(gettext_lazy("The SKU in stock for her, her usual size first.")),
        "name": Allowed(gettext_lazy("Its title, in her language when translated.")),
        "size": Allowed(gettext_lazy("Its size.")),
        "colour": Allowed(gettext_lazy("Its colour.")),
        "price": Allowed(gettext_lazy("Its price on the web shop.")),
        "currency": Allowed(gettext_lazy("The price's currency.")),
        "reason": Allowed(
            gettext_lazy("Why it is suggested: bought, or viewed, together with something of hers.")
        ),
    },
)


ALLOWED_VARIABLES: dict[str, Allowed] = {
    "first_name": Allowed(gettext_lazy("The customer's first name.")),
    "last_name": Allowed(gettext_lazy("The customer's last name.")),
    "customer": Allowed(
        gettext_lazy("The customer herself, in plain values."),
        keys={
            "first_name": Allowed(gettext_lazy("Her first name.")),
            "last_name": Allowed(gettext_lazy("Her last name.")),
            "display_name": Allowed(gettext_lazy("Her full name.")),
            "locale": Allowed(gettext_lazy("Her language, e.g. fa-IR.")),
            "email": Allowed(gettext_lazy("Her newest email address.")),
            "phone": Allowed(gettext_lazy("Her newest phone number.")),
        },
    ),
    "coupon": Allowed(
        gettext_lazy("The coupon issued to her with this message; empty without a coupon pool."),
        keys={
            "code": Allowed(gettext_lazy("The code to type at checkout or show in store.")),
            "discount": Allowed(gettext_lazy('What it gives: "10%" or "5 USD".')),
            "valid_until": Allowed(gettext_lazy("Its last moment (a date; use |date).")),
            "minimum_spend": Allowed(gettext_lazy("The least an order must come to.")),
        },
    ),
    "last_order": Allowed(
        gettext_lazy("Her latest order, in any channel; empty if she has none."),
        keys={
            "number": Allowed(gettext_lazy("The order number.")),
            "total": Allowed(gettext_lazy("Its total.")),
            "total_display": Allowed(
                gettext_lazy("Its total as she reads it: her digits, IRR without cents.")
            ),
            "currency": Allowed(gettext_lazy("Its currency.")),
            "channel": Allowed(gettext_lazy("Where she placed it.")),
            "occurred_at": Allowed(gettext_lazy("When (a date; use |date).")),
            "products": Allowed(gettext_lazy("Its lines."), items=ORDER_LINE),
        },
    ),
    "recommended_products": Allowed(
        gettext_lazy("Up to 3 products she looked at recently and did not buy."),
        items=PRODUCT,
    ),
    "recommendations": Allowed(
        gettext_lazy(
            "Up to 3 products for her (bought or viewed with hers by others, in stock on the "
            "web shop, her size first): the same list as the recommendations API."
        ),
        items=RECOMMENDATION,
    ),
    "loyalty": Allowed(
        gettext_lazy("Her loyalty points, the same figures as the 360 page and the API."),
        keys={
            "balance": Allowed(gettext_lazy("Her points now.")),
            "balance_display": Allowed(gettext_lazy("The same, in her digits.")),
            "value": Allowed(gettext_lazy("What they take off an order (in currency).")),
            "value_display": Allowed(gettext_lazy("The same, as she reads an amount.")),
            "currency": Allowed(gettext_lazy("The currency her points are valued in.")),
            "tier": Allowed(gettext_lazy("Her tier; empty below the first.")),
            "next_tier": Allowed(gettext_lazy("The tier after hers; empty at the top.")),
            "expiring_points": Allowed(gettext_lazy("Points that expire within 30 days.")),
            "expiring_at": Allowed(gettext_lazy("When the first of them expire (use |date).")),
            "spend_code": Allowed(
                gettext_lazy("The code that spends all her points at checkout or in store.")
            ),
            "referral_code": Allowed(gettext_lazy("Her code to give to friends, if she has one.")),
        },
    ),
    "unsubscribe_url": Allowed(gettext_lazy("Her one-click unsubscribe link.")),
    "review_url": Allowed(
        gettext_lazy(
            "Her signed link to review the products of the order (the journey's order, else "
            "her latest), open for 60 days; the shop's home page without an order."
        )
    ),
    "trigger": Allowed(
        gettext_lazy("Journeys: the properties of the event that started the run."), data=True
    ),
    "cart": Allowed(
        gettext_lazy("Journeys: the same, for a cart (products, total, currency, cart_id)."),
        data=True,
    ),
    "order": Allowed(
        gettext_lazy("Journeys: the same, for an order (order_id, total, currency, products)."),
        data=True,
    ),
}

FORLOOP = Allowed(
    keys={
        name: PLAIN
        for name in ("counter", "counter0", "revcounter", "revcounter0", "first", "last")
    }
)
FORLOOP.keys["parentloop"] = FORLOOP


def variable_rows() -> list[tuple[str, str]]:
    """(path, description) of every allowed variable, for the editor page and the API
    schema: `coupon.code`, `recommended_products[].name`, `order.…` for event data."""
    rows = []

    def walk(path, allowed):
        if allowed.description:
            rows.append((path, str(allowed.description)))
        if allowed.data:
            rows.append((f"{path}.…", _("Any property of that event.")))
        for name, inner in allowed.keys.items():
            walk(f"{path}.{name}", inner)
        if allowed.items is not None:
            walk(f"{path}[]", allowed.items)

    for name, allowed in ALLOWED_VARIABLES.items():
        walk(name, allowed)
    return rows


def variables_help() -> str:
    """The allowed variables in one text, in English (the API schema's description of the
    templates operations)."""
    with translation.override(None):
        rows = variable_rows()
    lines = [
        "Django template language over plain values. Only these variables may be read; a "
        "template that reads anything else, or uses {% load %}, {% include %}, {% extends %}, "
        "{% debug %}, {% url %} or {% regroup %}, is refused with a 400 naming it. Inside "
        "{% for %}: forloop.counter, .counter0, .revcounter, .revcounter0, .first, .last.",
    ]
    lines += [f"- {path}: {description}" for path, description in rows]
    return "\n".join(lines)


# --- the engine and the check -----------------------------------------------------------


class _SandboxEngine(Engine):
    # Without django.template.loader_tags: {% include %}, {% extends %} and {% block %} are
    # unknown tags; without libraries, {% load %} finds nothing to load.
    default_builtins = ["django.template.defaulttags", "django.template.defaultfilters"]


ENGINE = _SandboxEngine(dirs=[], app_dirs=False, loaders=[], libraries={}, debug=False)

# Filters whose result has the shape of their input, and those that pick one item of a list.
KEEPS_SHAPE = {
    defaultfilters.default,
    defaultfilters.default_if_none,
    defaultfilters.dictsort,
    defaultfilters.dictsortreversed,
    defaultfilters.slice_filter,
}
PICKS_ITEM = {defaultfilters.first, defaultfilters.last, defaultfilters.random}


class _Refused(Exception):
    pass


def check_template(template: Template, part: str) -> None:
    """Raise InvalidTemplate, naming `part` and the variable or tag, when the compiled
    template reads anything outside ALLOWED_VARIABLES or uses a tag outside the plain ones
    (if, for, with, firstof, cycle, filter, spaceless, now, comment, verbatim...)."""
    try:
        _check_nodes(template.nodelist, ChainMap({}, ALLOWED_VARIABLES))
    except _Refused as refused:
        message = str(refused)
        raise InvalidTemplate(f"{part}: {message}", fields={part: [message]}) from None


def _check_nodes(nodelist, scope):
    for node in nodelist:
        check = NODE_CHECKS.get(type(node))
        if check is None:
            token = getattr(node, "token", None)
            name = token.contents.split()[0] if token and token.contents else type(node).__name__
            raise _Refused(f"Tag not allowed: {name}")
        check(node, scope)


def _check_variable(variable: Variable, scope) -> Allowed:
    if variable.lookups is None:
        return PLAIN  # a literal
    root, *path = variable.lookups
    allowed = scope.get(root)
    if allowed is None:
        raise _Refused(f"Unknown variable: {root}")
    for depth, name in enumerate(path, start=2):
        allowed = allowed.below(name)
        if allowed is None:
            raise _Refused("Unknown variable: " + ".".join(variable.lookups[:depth]))
    return allowed


def _check_expression(expression: FilterExpression, scope) -> Allowed:
    """Check every variable the expression reads (filter arguments too); return what it
    gives."""
    for _function, arguments in expression.filters:
        for is_variable, argument in arguments:
            if is_variable:
                _check_variable(argument, scope)
    if isinstance(expression.var, Variable):
        allowed = _check_variable(expression.var, scope)
    else:
        allowed = PLAIN
    for function, _arguments in expression.filters:
        if function in PICKS_ITEM:
            allowed = allowed.item()
        elif function not in KEEPS_SHAPE:
            allowed = PLAIN
    return allowed


def _check_condition(condition, scope):
    """An {% if %} condition: a tree of operators over literals holding expressions."""
    if condition is None:
        return
    if isinstance(getattr(condition, "value", None), FilterExpression):
        _check_expression(condition.value, scope)
        return
    _check_condition(getattr(condition, "first", None), scope)
    _check_condition(getattr(condition, "second", None), scope)


def _check_if(node, scope):
    for condition, nodelist in node.conditions_nodelists:
        _check_condition(condition, scope)
        _check_nodes(nodelist, scope)


def _check_for(node, scope):
    item = _check_expression(node.sequence, scope).item()
    if len(node.loopvars) == 1:
        bound = {node.loopvars[0]: item}
    else:  # {% for key, value in order.items %}: each part of an item
        bound = {name: item.item() for name in node.loopvars}
    _check_nodes(node.nodelist_loop, scope.new_child({**bound, "forloop": FORLOOP}))
    _check_nodes(node.nodelist_empty, scope)


def _check_with(node, scope):
    bound = {name: _check_expression(value, scope) for name, value in node.extra_context.items()}
    _check_nodes(node.nodelist, scope.new_child(bound))


def _check_filter_tag(node, scope):
    # {% filter lower %}: its expression is "var|lower" over the block's output; only the
    # filters' arguments come from the template.
    for _function, arguments in node.filter_expr.filters:
        for is_variable, argument in arguments:
            if is_variable:
                _check_variable(argument, scope)
    _check_nodes(node.nodelist, scope)


def _check_expressions(*names, binds=None):
    """A tag whose attributes `names` hold expressions (or lists of them); the name in its
    attribute `binds` ({% cycle ... as row %}) is plain from there on."""

    def check(node, scope):
        for name in names:
            value = getattr(node, name)
            for expression in value if isinstance(value, list | tuple) else [value]:
                if isinstance(expression, FilterExpression):
                    _check_expression(expression, scope)
        bound = getattr(node, binds, None) if binds else None
        if bound:
            scope[bound] = PLAIN

    return check


def _check_children(node, scope):
    for name in node.child_nodelists:
        _check_nodes(getattr(node, name, None) or [], scope)


def _check_ifchanged(node, scope):
    _check_expressions("_varlist")(node, scope)
    _check_children(node, scope)


def _nothing(node, scope):
    pass


NODE_CHECKS = {
    TextNode: _nothing,
    VariableNode: lambda node, scope: _check_expression(node.filter_expression, scope),
    tags.IfNode: _check_if,
    tags.ForNode: _check_for,
    tags.WithNode: _check_with,
    tags.FilterNode: _check_filter_tag,
    tags.AutoEscapeControlNode: _check_children,
    tags.SpacelessNode: _check_children,
    tags.IfChangedNode: _check_ifchanged,
    tags.FirstOfNode: _check_expressions("vars", binds="asvar"),
    tags.CycleNode: _check_expressions("cyclevars", binds="variable_name"),
    tags.WidthRatioNode: _check_expressions("val_expr", "max_expr", "max_width", binds="asvar"),
    tags.LoremNode: _check_expressions("count"),
    tags.NowNode: _check_expressions(binds="asvar"),
    tags.ResetCycleNode: _nothing,
    tags.CommentNode: _nothing,
    tags.TemplateTagNode: _nothing,
    tags.VerbatimNode: _nothing,
}


# --- the values -------------------------------------------------------------------------


def customer_values(customer) -> dict:
    """The customer as plain values; her email and phone are read only if a template does."""
    customer_id = customer.pk
    return {
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "display_name": customer.display_name,
        "locale": customer.locale,
        "email": cache(lambda: newest_identity_value(customer_id, "email")),
        "phone": cache(lambda: newest_identity_value(customer_id, "phone")),
    }


def coupon_values(code) -> dict | None:
    """A CouponCode as plain values; None without one."""
    if code is None:
        return None
    pool = code.pool
    return {
        "code": code.code,
        "discount": describe_discount(pool),
        "valid_until": pool.valid_until,
        "minimum_spend": pool.minimum_spend,
    }


def last_order_values(customer_id) -> dict | None:
    """Her latest order_completed event as the plain `last_order` of ALLOWED_VARIABLES."""
    event = latest_event_of(customer_id, "order_completed")
    if event is None:
        return None
    properties = event["properties"]
    return {
        "number": str(properties.get("order_id") or ""),
        "total": properties.get("total"),
        "total_display": l10n.format_money(properties.get("total"), properties.get("currency")),
        "currency": properties.get("currency") or "",
        "channel": event["channel"],
        "occurred_at": event["occurred_at"],
        "products": [
            {"sku": line.get("sku"), "quantity": line.get("quantity"), "price": line.get("price")}
            for line in properties.get("products") or []
            if isinstance(line, dict)
        ],
    }


def recommended_products_values(customer_id, language) -> list[dict]:
    # Ask for more SKUs than shown: one whose variant no longer exists is left out.
    skus = skus_viewed_not_bought(customer_id, limit=RECOMMENDED_PRODUCTS * 3)
    return product_cards(skus, language=language)[:RECOMMENDED_PRODUCTS]


def recommendations_values(customer) -> list[dict]:
    """The recommendations API's list for her on the web shop (messages are read there)."""
    return recommendation_values(customer, channel=reference_channel())


def review_url_value(customer, journey_data) -> str:
    """The review page of the journey's order (order_completed's order_id), else of her
    latest order; the shop's home without one."""
    order = (journey_data or {}).get("order") or {}
    number = order.get("order_id") if isinstance(order, dict) else None
    if not number:
        number = (last_order_values(customer.pk) or {}).get("number")
    return review_url(customer.public_id, number) if number else site_url("/")


def loyalty_values(customer) -> dict:
    """Her loyalty summary as plain values, its figures also ready to show in her digits."""
    values = loyalty.summary(customer)
    values.pop("next_tier_spend", None)
    values["balance_display"] = l10n.format_number(values["balance"])
    values["value_display"] = (
        l10n.format_money(values["value"], values["currency"]) if values["value"] else ""
    )
    return values


def message_context(customer, *, coupon=None, unsubscribe_link="", journey_data=None) -> dict:
    """Everything a template may read for this customer, as plain values (see
    ALLOWED_VARIABLES). `journey_data` gives trigger, cart and order; other keys are
    ignored."""
    customer_id = customer.pk
    language = customer.locale
    context = {
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "customer": customer_values(customer),
        "coupon": coupon_values(coupon),
        "last_order": cache(lambda: last_order_values(customer_id)),
        "recommended_products": cache(lambda: recommended_products_values(customer_id, language)),
        "recommendations": cache(lambda: recommendations_values(customer)),
        "loyalty": cache(lambda: loyalty_values(customer)),
        "unsubscribe_url": unsubscribe_link or site_url("/"),
        "review_url": cache(lambda: review_url_value(customer, journey_data)),
    }
    for name in JOURNEY_DATA:
        context[name] = displayable((journey_data or {}).get(name) or {})
    return context


def displayable(data: dict) -> dict:
    """Event data (an order, a cart) with its amounts also ready to show: `total_display` and
    each product's `price_display` and `quantity_display`, in the language and digits in force (the customer's:
    rendering builds the context inside core.l10n.for_customer)."""
    if not isinstance(data, dict) or "currency" not in data:
        return data
    currency = data.get("currency")
    shown = dict(data)
    if "total" in data:
        shown["total_display"] = l10n.format_money(data.get("total"), currency)
    products = data.get("products")
    if isinstance(products, list):
        shown["products"] = [
            {
                **line,
                "price_display": l10n.format_money(line.get("price"), currency),
                "quantity_display": l10n.format_number(line.get("quantity")),
            }
            if isinstance(line, dict) and "price" in line
            else line
            for line in products
        ]
    return shown


def sample_context() -> dict:
    """Made-up values of the same shape, for previewing a template without a customer."""
    now = timezone.now()
    first_name, last_name = _("Sara"), _("Example")
    line = {"sku": "ARIA-RUN-BLK-38", "quantity": 1, "price": "89.00"}
    order = {"order_id": "W-1001", "total": "89.00", "currency": "USD", "products": [line]}
    return {
        "first_name": first_name,
        "last_name": last_name,
        "customer": {
            "first_name": first_name,
            "last_name": last_name,
            "display_name": f"{first_name} {last_name}",
            "locale": "",
            "email": "sara@example.com",
            "phone": "+989121234567",
        },
        "coupon": {
            "code": "WELCOME-ABCD2345",
            "discount": "10%",
            "valid_until": now + timedelta(days=30),
            "minimum_spend": Decimal("0"),
        },
        "last_order": {
            "number": "W-1001",
            "total": "89.00",
            "currency": "USD",
            "channel": _("Web shop"),
            "occurred_at": now - timedelta(days=12),
            "products": [line],
        },
        "recommended_products": [
            {
                "sku": "ARIA-RUN-WHT-38",
                "name": "Aria Runner",
                "url": "https://shop.example.com/p/aria-runner",
            }
        ],
        "recommendations": [
            {
                "sku": "ARIA-RUN-WHT-38",
                "name": "Aria Runner",
                "size": "38",
                "colour": _("White"),
                "price": "89.00",
                "currency": "USD",
                "reason": "bought_together",
            }
        ],
        "loyalty": {
            "balance": 1250,
            "balance_display": l10n.format_number(1250),
            "value": "12.50",
            "value_display": l10n.format_money("12.50", "USD"),
            "currency": "USD",
            "tier": _("Gold"),
            "next_tier": _("Platinum"),
            "expiring_points": 200,
            "expiring_at": now + timedelta(days=20),
            "spend_code": "POINTS-1250",
            "referral_code": "REF-ABCD234",
        },
        "unsubscribe_url": site_url("/"),
        "review_url": review_url("00000000-0000-0000-0000-000000000000", "W-1001"),
        # An order's keys, and those of "your size is back in your store" (store_local).
        "trigger": {**order, "product": "Aria Runner", "size": "38", "store": "Tajrish"},
        "cart": {"cart_id": 1, "total": "89.00", "currency": "USD", "products": [line]},
        "order": order,
    }
