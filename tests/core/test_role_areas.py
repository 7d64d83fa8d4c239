"""Each role reaches its own area and nothing else: every staff page, admin page and partner
API endpoint of the URL map is walked as each role (and as an API key of each single scope).

`AREAS` names, for every URL in the map, the permission a GET and a POST (or an API method)
needs. What a role may do is then read from its group's permissions, which `core.roles`
sets, so the table and the role definitions cannot drift apart: a role is expected to get
403 wherever its group lacks the permission, and not 403 where it holds it. A URL missing
from the table fails the walk, so a new page cannot be forgotten.
"""

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.exceptions import Resolver404
from rest_framework.test import APIClient

from campaigns.factories import CampaignFactory, CouponPoolFactory, MessageTemplateFactory
from catalog.factories import ChannelFeedFactory, listed_product
from catalog.models import CatalogImport
from catalog.services import feeds
from core.factories import ChannelFactory, StaffUserFactory, api_key_with
from core.roles import INVENTORY_MANAGER, MARKETER, MERCHANDISER, SUPPORT_AGENT
from core.scopes import SCOPES
from customers.factories import MergeCandidateFactory, customer_with
from inventory.factories import WarehouseFactory, receive_stock
from inventory.models import Reservation
from inventory.services import request_transfer
from orders.factories import CartFactory, placed_order
from orders.models import CourierPickup
from orders.services import create_replacement, fulfil
from support.factories import ConversationFactory, MessageFactory
from support.services.reviews import submit_review

pytestmark = pytest.mark.django_db

WALKED_ROLES = [SUPPORT_AGENT, MARKETER, MERCHANDISER, INVENTORY_MANAGER]

# Markers used instead of a permission.
PUBLIC = "public"  # no login: links in messages, provider webhooks, the login page, health
ANY_STAFF = "any staff member"  # holds nothing of an area (home, admin index, API docs)
OWN = "acts on the caller's own session"  # logout, password change, language: never walked


@dataclass(frozen=True)
class Entry:
    """The permission each method needs. `None` for a method means the URL does not take
    it. A tuple needs all of its permissions. `kwargs(world)` gives real path arguments."""

    get: str | tuple | None = None
    post: str | tuple | None = None
    kwargs: object = None
    query: str = ""
    # API endpoints only: the scope each method needs, and the other write methods.
    scopes: dict = field(default_factory=dict)
    writes: dict = field(default_factory=dict)


def page(get=None, post=None, kwargs=None, query=""):
    return Entry(get=get, post=post, kwargs=kwargs, query=query)


def api(
    area,
    get=None,
    post=None,
    *,
    put=None,
    patch=None,
    delete=None,
    post_reads=False,
    kwargs=None,
    query="",
):
    """An endpoint of `area`: reads need `<area>:read`, writes `<area>:write`, except a POST
    that only computes (`post_reads`), which needs `<area>:read` like a GET."""
    scopes = {}
    if get:
        scopes["GET"] = f"{area}:read"
    if post:
        scopes["POST"] = f"{area}:read" if post_reads else f"{area}:write"
    writes = {m: perm for m, perm in (("PUT", put), ("PATCH", patch), ("DELETE", delete)) if perm}
    scopes.update({method: f"{area}:write" for method in writes})
    return Entry(get=get, post=post, kwargs=kwargs, query=query, scopes=scopes, writes=writes)


def special(kind, kwargs=None, query=""):
    return Entry(get=kind, kwargs=kwargs, query=query)


CUSTOMER = lambda w: {"public_id": w.customer.public_id}  # noqa: E731
CONVERSATION = lambda w: {"pk": w.conversation.pk}  # noqa: E731
ORDER = lambda w: {"number": w.order.number}  # noqa: E731
SEGMENT = lambda w: {"pk": w.campaign.segment_id}  # noqa: E731
TEMPLATE = lambda w: {"pk": w.template.pk}  # noqa: E731
CAMPAIGN = lambda w: {"pk": w.campaign.pk}  # noqa: E731
CHANNEL = lambda w: {"code": w.web.code}  # noqa: E731
REVIEW = lambda w: {"pk": w.review.pk}  # noqa: E731


def catalog_import(world):
    job = CatalogImport.objects.first() or CatalogImport.objects.create(
        source="api", filename="catalog.csv", file_format="csv", status="done"
    )
    return {"pk": job.pk}


ORDERS_READ, ORDERS_WRITE = "orders.view_order", "orders.change_order"
CAMPAIGNS_READ, CAMPAIGNS_WRITE = "campaigns.view_campaign", "campaigns.change_campaign"
SUPPORT_READ, SUPPORT_WRITE = "support.view_conversation", "support.change_conversation"

AREAS = {
    # --- core and the shell
    "home": special(ANY_STAFF),
    "channels": page(get="core.view_channel"),
    "channel-setup": page(get="core.change_channel", post="core.change_channel", kwargs=CHANNEL),
    "channel-inbound-secret": page(post="core.change_channel", kwargs=CHANNEL),
    "channel-test-message": page(post="core.change_channel", kwargs=CHANNEL),
    "channel-template-add": page(post="core.change_channel", kwargs=CHANNEL),
    "channel-template-deactivate": page(
        post="core.change_channel", kwargs=lambda w: {"code": w.web.code, "pk": 1}
    ),
    "display-preferences": special(ANY_STAFF),  # each member's own calendar and digits
    "two-factor": special(ANY_STAFF),  # each member's own second factor
    "healthz": special(PUBLIC),
    "metrics": special(PUBLIC),  # a bearer token or this machine only (tests/core/test_metrics.py)
    # Segment's tracking paths: a write key (customers:write) checked in the view, as Segment
    # does (tests/customers/test_segment_spec.py refuses a key without the scope).
    **{
        f"segment-{kind}": special(PUBLIC)
        for kind in ("batch", "track", "identify", "page", "screen", "alias", "group")
    },
    "login": special(PUBLIC),
    "logout": special(OWN),
    "set_language": special(OWN),
    "api-schema": special(ANY_STAFF),
    "api-docs": special(ANY_STAFF),
    # --- customers
    "customers:search": page(get="customers.view_customer"),
    "customers:duplicates": page(get="customers.view_mergecandidate"),
    "customers:channels-and-loyalty": page(get="customers.view_customer"),
    "customers:merge-candidate": page(
        post="customers.change_mergecandidate", kwargs=lambda w: {"pk": w.candidate.pk}
    ),
    "customers:separate-candidate": page(
        post="customers.change_mergecandidate", kwargs=lambda w: {"pk": w.candidate.pk}
    ),
    "customers:detail": page(get="customers.view_customer", kwargs=CUSTOMER),
    # --- reports: the index lists each role's own
    "reports:index": special(ANY_STAFF),
    "reports:acquisition": page(get="customers.view_customer"),
    "reports:ropo": page(get="customers.view_customer"),
    "reports:journeys": page(get="customers.view_customer"),
    "reports:returns": page(get=ORDERS_READ),
    "reports:retention": page(get="customers.view_customer"),
    "reports:campaigns": page(get=CAMPAIGNS_READ),
    "reports:support": page(get=SUPPORT_READ),
    # Staff who may only view customers flag a duplicate pair for a colleague; merging
    # itself needs customers.change_customer (checked inside the view).
    "customers:merge-duplicate": page(post="customers.view_customer", kwargs=CUSTOMER),
    # --- catalog
    "catalog:product-list": page(get="catalog.view_product"),
    "catalog:product-detail": page(
        get="catalog.view_product", kwargs=lambda w: {"pk": w.product.pk}
    ),
    "catalog:product-prices": page(
        post=("catalog.view_product", "catalog.change_variantlisting"),
        kwargs=lambda w: {"pk": w.product.pk, "channel": w.web.code},
    ),
    "catalog:feed-list": page(get="catalog.view_channelfeed"),
    "catalog:feed-regenerate": page(
        post="catalog.change_channelfeed", kwargs=lambda w: {"pk": w.feed.pk}
    ),
    "catalog:feed-file": page(
        get="catalog.view_channelfeed", kwargs=lambda w: {"pk": w.feed.pk, "kind": "feed"}
    ),
    "catalog:import": page(
        get=("catalog.add_product", "catalog.change_product"),
        post=("catalog.add_product", "catalog.change_product"),
    ),
    "catalog:export": page(get="catalog.view_product", kwargs=lambda w: {"fmt": "csv"}),
    # --- inventory
    "inventory:overview": page(get="inventory.view_stocklevel"),
    "inventory:product-stock": page(
        get="inventory.view_stocklevel", kwargs=lambda w: {"product_id": w.product.pk}
    ),
    "inventory:ledger": page(get="inventory.view_stockmovement"),
    "inventory:count-entry": page(
        get="inventory.add_stockmovement", post="inventory.add_stockmovement"
    ),
    "inventory:transfers": page(get="inventory.view_transfer", post="inventory.add_transfer"),
    "inventory:transfer-action": page(
        post="inventory.change_transfer", kwargs=lambda w: {"pk": w.transfer.pk, "action": "ship"}
    ),
    "inventory:transfer-detail": page(
        get="inventory.view_transfer",
        post="inventory.change_transfer",
        kwargs=lambda w: {"pk": w.transfer.pk},
    ),
    "inventory:transfer-pick-list": page(
        get="inventory.view_transfer", kwargs=lambda w: {"pk": w.transfer.pk}
    ),
    "inventory:alerts": page(get="inventory.view_stocklevel"),
    # --- orders
    "orders:order-list": page(get=ORDERS_READ),
    "orders:counter-return": page(get=ORDERS_WRITE, post=ORDERS_WRITE),
    "orders:returned-products": page(get=ORDERS_READ),
    "orders:pickup-collect": page(post=ORDERS_WRITE, kwargs=lambda w: {"pk": w.pickup.pk}),
    "orders:order-detail": page(get=ORDERS_READ, kwargs=ORDER),
    "orders:order-edit": page(get=ORDERS_WRITE, post=ORDERS_WRITE, kwargs=ORDER),
    "orders:order-action": page(
        post=ORDERS_WRITE, kwargs=lambda w: {"number": w.order.number, "action": "confirm"}
    ),
    # --- campaigns
    "campaigns:home": page(get="campaigns.view_campaign"),
    "campaigns:campaign-new": page(get="campaigns.add_campaign", post="campaigns.add_campaign"),
    "campaigns:campaign-detail": page(
        get="campaigns.view_campaign", post="campaigns.change_campaign", kwargs=CAMPAIGN
    ),
    "campaigns:segment-list": page(get="campaigns.view_segment"),
    "campaigns:segment-new": page(get="campaigns.view_segment", post="campaigns.add_segment"),
    "campaigns:segment-edit": page(
        get="campaigns.view_segment", post="campaigns.change_segment", kwargs=SEGMENT
    ),
    "campaigns:segment-count": page(get="campaigns.view_segment", post="campaigns.view_segment"),
    "campaigns:segment-ad-audiences": page(
        get="campaigns.view_adaudience", post="campaigns.change_adaudience", kwargs=SEGMENT
    ),
    "campaigns:segment-hashed-audience": page(get="campaigns.view_adaudience", kwargs=SEGMENT),
    "campaigns:template-list": page(get="campaigns.view_messagetemplate"),
    "campaigns:template-new": page(
        get="campaigns.view_messagetemplate", post="campaigns.add_messagetemplate"
    ),
    "campaigns:template-edit": page(
        get="campaigns.view_messagetemplate",
        post="campaigns.change_messagetemplate",
        kwargs=TEMPLATE,
    ),
    "campaigns:template-preview": page(
        get="campaigns.view_messagetemplate", post="campaigns.view_messagetemplate"
    ),
    "campaigns:journey-list": page(get="campaigns.view_journey"),
    "campaigns:attribution": page(get="campaigns.view_campaign"),
    "campaigns:loyalty": page(get="campaigns.view_loyaltyentry"),
    "campaigns:open-pixel": special(PUBLIC),
    "campaigns:click": special(PUBLIC),
    "campaigns:unsubscribe": special(PUBLIC),
    # --- support
    "support:inbox": page(get=SUPPORT_READ),
    "support:reports": page(get=SUPPORT_READ),
    "support:conversation": page(get=SUPPORT_READ, kwargs=CONVERSATION),
    # Live updates: the event stream, the list pane, "is replying" (read it; say it to answer).
    "support:events": page(get=SUPPORT_READ),
    "support:pane": page(get=SUPPORT_READ),
    "support:typing": page(get=SUPPORT_READ, post=SUPPORT_WRITE, kwargs=CONVERSATION),
    **{
        f"support:{action}": page(post=SUPPORT_WRITE, kwargs=CONVERSATION)
        for action in (
            "reply",
            "reply-template",
            "assign-me",
            "assign",
            "status",
            "priority",
            "tags",
            "order",
            "after-sales",
            "log-contact",
            "merge",
            "split",
        )
    },
    # The shop's chat widget: its script and a demo shop page (the visitor token guards data).
    "support:widget-script": special(PUBLIC),
    "support:widget-stylesheet": special(PUBLIC),
    "support:widget-demo": special(PUBLIC),
    # A file a visitor sent through the widget, for whoever may read conversations.
    "support:message-attachment": page(
        get=SUPPORT_READ, kwargs=lambda w: {"pk": w.attachment.pk, "index": 0}
    ),
    # Product reviews: moderation for support; the customer's page behind its signed link.
    "support:reviews": page(get="support.view_review"),
    "support:review-moderate": page(post="support.change_review", kwargs=REVIEW),
    "support:review-photo": page(get="support.view_review", kwargs=REVIEW),
    "support:review-form": special(PUBLIC),
    # --- the partner API (/api/v1/); staff sessions act through the same permissions
    "api-me": special(ANY_STAFF),
    "api-delivery-reports": special(PUBLIC),  # signed by the provider
    "api-twilio-status": special(PUBLIC),  # signed by Twilio (X-Twilio-Signature)
    "api-woocommerce-webhook": special(PUBLIC),  # signed by the shop (X-WC-Webhook-Signature)
    "api-support-inbound": special(PUBLIC),  # signed by the provider
    "api-webchat-session": special(PUBLIC),  # the chat widget's visitor token
    "api-webchat-messages": special(PUBLIC),
    "api-webchat-events": special(PUBLIC),  # the visitor token; a server-sent event stream
    "api-channels": api("channels", get="core.view_channel", post="core.add_channel"),
    "api-channel": api(
        "channels",
        get="core.view_channel",
        put="core.change_channel",
        patch="core.change_channel",
        kwargs=lambda w: {"code": w.web.code},
    ),
    **{
        name: api("customers", post="customers.change_customer")
        for name in ("api-identify", "api-track", "api-batch", "api-alias")
    },
    "api-customers": api("customers", get="customers.view_customer"),
    "api-channels-and-loyalty": api("customers", get="customers.view_customer"),
    "api-report-acquisition": api("customers", get="customers.view_customer"),
    "api-report-ropo": api("customers", get="customers.view_customer"),
    "api-report-journeys": api("customers", get="customers.view_customer"),
    "api-report-retention": api("customers", get="customers.view_customer"),
    "api-report-support": api("support", get=SUPPORT_READ),
    "api-report-campaigns": api("campaigns", get=CAMPAIGNS_READ),
    "api-customer": api("customers", get="customers.view_customer", kwargs=CUSTOMER),
    "api-customer-timeline": api("customers", get="customers.view_customer", kwargs=CUSTOMER),
    "api-customer-loyalty": api("loyalty", get="campaigns.view_loyaltyentry", kwargs=CUSTOMER),
    "api-customer-loyalty-earn": api("loyalty", post="campaigns.add_loyaltyentry", kwargs=CUSTOMER),
    "api-customer-loyalty-spend": api(
        "loyalty", post="campaigns.add_loyaltyentry", kwargs=CUSTOMER
    ),
    "api-customer-referral-code": api(
        "loyalty", post="campaigns.add_loyaltyentry", kwargs=CUSTOMER
    ),
    "api-customer-referral": api("loyalty", post="campaigns.add_loyaltyentry", kwargs=CUSTOMER),
    "api-referrals": api("loyalty", get="campaigns.view_referral"),
    "api-customer-recommendations": api(
        "customers", get="customers.view_customer", kwargs=CUSTOMER, query="channel=web"
    ),
    "api-customer-consents": api(
        "customers",
        get="customers.view_customer",
        post="customers.change_customer",
        kwargs=CUSTOMER,
    ),
    "api-customer-export": api("customers", post="customers.change_customer", kwargs=CUSTOMER),
    "api-customer-erase": api("customers", post="customers.delete_customer", kwargs=CUSTOMER),
    "api-products": api("catalog", get="catalog.view_product", post="catalog.change_product"),
    "api-product": api(
        "catalog", get="catalog.view_product", kwargs=lambda w: {"pk": w.product.pk}
    ),
    "api-variants": api("catalog", get="catalog.view_productvariant"),
    "api-variant-lookup": api("catalog", get="catalog.view_productvariant", query="code={sku}"),
    "api-variant-price": api(
        "catalog",
        put="catalog.change_variantlisting",
        kwargs=lambda w: {"sku": w.variant.sku, "channel": w.web.code},
    ),
    "api-feed": api(
        "catalog",
        get="catalog.view_channelfeed",
        kwargs=lambda w: {"code": w.web.code, "filename": "google.xml"},
    ),
    "api-catalog-imports": api("catalog", post="catalog.change_product"),
    "api-catalog-import": api("catalog", get="catalog.view_product", kwargs=catalog_import),
    "api-stock-movements": api(
        "inventory", get="inventory.view_stockmovement", post="inventory.add_stockmovement"
    ),
    "api-reservations": api("inventory", post="inventory.add_reservation"),
    "api-reservation": api(
        "inventory", get="inventory.view_reservation", kwargs=lambda w: {"pk": w.reservation.pk}
    ),
    "api-reservation-release": api(
        "inventory", post="inventory.change_reservation", kwargs=lambda w: {"pk": w.reservation.pk}
    ),
    "api-reservation-confirm": api(
        "inventory", post="inventory.change_reservation", kwargs=lambda w: {"pk": w.reservation.pk}
    ),
    "api-availability": api(
        "inventory", get="inventory.view_stocklevel", query="sku={sku}&channel=web"
    ),
    "api-availability-bulk": api("inventory", post="inventory.view_stocklevel", post_reads=True),
    "api-availability-explain": api(
        "inventory", get="inventory.view_stocklevel", query="sku={sku}&channel=web"
    ),
    "api-stores-nearby": api(
        "inventory", get="inventory.view_stocklevel", query="sku={sku}&lat=35.7&lng=51.4"
    ),
    "api-locations": api("inventory", get="inventory.view_location"),
    "api-transfers": api("inventory", get="inventory.view_transfer", post="inventory.add_transfer"),
    "api-transfer": api(
        "inventory", get="inventory.view_transfer", kwargs=lambda w: {"pk": w.transfer.pk}
    ),
    "api-transfer-ship": api(
        "inventory", post="inventory.change_transfer", kwargs=lambda w: {"pk": w.transfer.pk}
    ),
    "api-transfer-receive": api(
        "inventory", post="inventory.change_transfer", kwargs=lambda w: {"pk": w.transfer.pk}
    ),
    "api-orders": api("orders", get=ORDERS_READ, post=ORDERS_WRITE),
    "api-order": api("orders", get=ORDERS_READ, kwargs=ORDER),
    **{
        name: api("orders", post=ORDERS_WRITE, kwargs=ORDER)
        for name in (
            "api-order-status",
            "api-order-payment",
            "api-order-fulfilments",
            "api-order-lines",
        )
    },
    "api-order-line": api(
        "orders",
        patch=ORDERS_WRITE,
        delete=ORDERS_WRITE,
        kwargs=lambda w: {"number": w.order.number, "line_id": w.order.lines.first().pk},
    ),
    "api-returns": api("orders", get=ORDERS_READ, post=ORDERS_WRITE),
    "api-exchanges": api("orders", post=ORDERS_WRITE),
    "api-replacements": api("orders", post=ORDERS_WRITE),
    "api-pickup-collect": api(
        "orders", post=ORDERS_WRITE, kwargs=lambda w: {"pickup_id": w.pickup.pk}
    ),
    "api-returned-products": api("orders", get=ORDERS_READ),
    "api-return": api("orders", get=ORDERS_READ, kwargs=lambda w: {"number": w.ret.number}),
    "api-return-receive": api(
        "orders", post=ORDERS_WRITE, kwargs=lambda w: {"number": w.ret.number}
    ),
    "api-carts": api("orders", get=ORDERS_READ, post=ORDERS_WRITE),
    "api-cart": api("orders", get=ORDERS_READ, kwargs=lambda w: {"pk": w.cart.pk}),
    "api-cart-lines": api("orders", post=ORDERS_WRITE, kwargs=lambda w: {"pk": w.cart.pk}),
    "api-segments": api("campaigns", get=CAMPAIGNS_READ, post=CAMPAIGNS_WRITE),
    "api-segment-count": api("campaigns", post=CAMPAIGNS_READ, post_reads=True),
    "api-segment": api(
        "campaigns",
        get=CAMPAIGNS_READ,
        put=CAMPAIGNS_WRITE,
        patch=CAMPAIGNS_WRITE,
        kwargs=SEGMENT,
    ),
    "api-segment-audience": api("campaigns", get=CAMPAIGNS_READ, kwargs=SEGMENT),
    "api-templates": api("campaigns", get=CAMPAIGNS_READ, post=CAMPAIGNS_WRITE),
    "api-template": api(
        "campaigns",
        get=CAMPAIGNS_READ,
        put=CAMPAIGNS_WRITE,
        patch=CAMPAIGNS_WRITE,
        kwargs=TEMPLATE,
    ),
    "api-template-preview": api("campaigns", post=CAMPAIGNS_READ, post_reads=True, kwargs=TEMPLATE),
    "api-campaigns": api("campaigns", get=CAMPAIGNS_READ, post=CAMPAIGNS_WRITE),
    "api-campaign": api("campaigns", get=CAMPAIGNS_READ, kwargs=CAMPAIGN),
    **{
        name: api("campaigns", post=CAMPAIGNS_WRITE, kwargs=CAMPAIGN)
        for name in ("api-campaign-schedule", "api-campaign-send", "api-campaign-decide-winner")
    },
    "api-campaign-results": api("campaigns", get=CAMPAIGNS_READ, kwargs=CAMPAIGN),
    "api-coupon-pools": api("campaigns", get=CAMPAIGNS_READ, post=CAMPAIGNS_WRITE),
    "api-coupon-pool": api(
        "campaigns", get=CAMPAIGNS_READ, kwargs=lambda w: {"pk": w.coupon_pool.pk}
    ),
    "api-coupon-codes": api(
        "campaigns", post=CAMPAIGNS_WRITE, kwargs=lambda w: {"pk": w.coupon_pool.pk}
    ),
    "api-coupon-validate": api("campaigns", post=CAMPAIGNS_READ, post_reads=True),
    "api-journeys": api("campaigns", get=CAMPAIGNS_READ),
    "api-attribution": api("campaigns", get=CAMPAIGNS_READ),
    "api-support-conversations": api("support", get=SUPPORT_READ),
    "api-support-conversation": api("support", get=SUPPORT_READ, kwargs=CONVERSATION),
    "api-support-messages": api("support", get=SUPPORT_READ, kwargs=CONVERSATION),
    **{
        name: api("support", post=SUPPORT_WRITE, kwargs=CONVERSATION)
        for name in (
            "api-support-reply",
            "api-support-note",
            "api-support-assign",
            "api-support-status",
            "api-support-merge",
        )
    },
    "api-support-contacts": api("support", post=SUPPORT_WRITE),
    # Reviews are support's rows shown as product content: catalog's area reads them.
    "api-product-reviews": api(
        "catalog", get="catalog.view_product", kwargs=lambda w: {"pk": w.product.pk}
    ),
    "api-reviews-google-feed": api(
        "catalog", get="catalog.view_channelfeed", kwargs=lambda w: {"code": w.web.code}
    ),
    # --- the admin's own pages; its model pages follow the model's permissions (below)
    "admin:index": special(ANY_STAFF),
    "admin:login": special(PUBLIC),
    "admin/login/": special(PUBLIC),  # redirects to the staff login page
    "admin:auth_user_password_change": page(
        get="auth.change_user",
        post="auth.change_user",
        kwargs=lambda w: {"id": w.colleague.pk},
    ),
    "admin:logout": special(OWN),
    "admin:password_change": special(OWN),
    "admin:password_change_done": special(OWN),
    "admin:jsi18n": special(ANY_STAFF),
    # Redirects to the object's own page, which checks its own permission.
    "admin:view_on_site": special(OWN),
    # Answers with the permission of the model it searches (here: products).
    "admin:autocomplete": page(
        get="catalog.view_product",
        query="app_label=catalog&model_name=productvariant&field_name=product",
    ),
}

# The admin's model pages: `admin:<app>_<model>_<page>` needs the model's permission for that
# page, narrowed (never widened) by the ModelAdmin's own has_*_permission.
ADMIN_MODEL_PAGE = re.compile(r"^admin:(?P<app>[a-z_]+?)_(?P<model>[a-z]+)_(?P<page>[a-z]+)$")
ADMIN_PAGE_ACTIONS = {
    "changelist": ("view", None),
    "add": ("add", "add"),
    "change": ("view", "change"),
    "delete": ("delete", None),
    "history": ("view", None),
}
# Unnamed admin routes: `<model>/<id>/` only redirects to the change page; the final
# catch-all answers 404 (or the login page) and holds nothing.
ADMIN_UNNAMED = re.compile(r"^admin/([a-z_]+/[a-z]+/<path:object_id>/|\(\?P<url>\.\*\)\$)$")


# --- walking the URL map -------------------------------------------------------------------


def url_map():
    """[(key, route)] of every pattern: `namespace:name` where named, else the route."""

    def walk(patterns, prefix="", namespace=None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = namespace
                if pattern.namespace:
                    inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                route = prefix + str(pattern.pattern)
                if pattern.name:
                    name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                    yield name, route
                else:
                    yield route, route

    return list(walk(get_resolver().url_patterns))


def _model_admin(app, model):
    for registered, model_admin in admin.site._registry.items():
        if (registered._meta.app_label, registered._meta.model_name) == (app, model):
            return model_admin
    return None


def _admin_narrows(model_admin, action):
    """True when the ModelAdmin refuses `action` even to a superuser."""
    request = RequestFactory().get("/admin/")
    request.user = get_user_model()(is_staff=True, is_superuser=True, is_active=True)
    if action == "add":
        return not model_admin.has_add_permission(request)
    return not getattr(model_admin, f"has_{action}_permission")(request, None)


def admin_entry(key):
    match = ADMIN_MODEL_PAGE.match(key)
    if not match:
        return None
    app, model, admin_page = match["app"], match["model"], match["page"]
    model_admin = _model_admin(app, model)
    if model_admin is None or admin_page not in ADMIN_PAGE_ACTIONS:
        return None
    get_action, post_action = ADMIN_PAGE_ACTIONS[admin_page]

    def need(action):
        if action is None:
            return None
        if _admin_narrows(model_admin, action):
            return NOBODY
        return f"{app}.{action}_{model}"

    def kwargs(world):
        if admin_page in ("changelist", "add"):
            return {}
        obj = model_admin.model._default_manager.order_by("pk").first()
        return None if obj is None else {"object_id": obj.pk}

    return Entry(get=need(get_action), post=need(post_action), kwargs=kwargs)


NOBODY = "refused to everyone by its ModelAdmin"


def entry_for(key):
    return AREAS.get(key) or admin_entry(key)


def test_every_url_in_the_map_has_an_area():
    missing = [
        key
        for key, _route in url_map()
        if entry_for(key) is None and key != "admin:app_list" and not ADMIN_UNNAMED.match(key)
    ]
    assert not missing, f"URLs with no entry in AREAS (add one naming their permission): {missing}"


def test_the_table_names_only_urls_that_exist():
    keys = {key for key, _route in url_map()}
    assert not set(AREAS) - keys


# --- the data the paths point at ---------------------------------------------------------


@dataclass
class World:
    web: object
    customer: object
    product: object
    variant: object
    order: object
    ret: object
    pickup: object
    reservation: object
    cart: object
    transfer: object
    feed: object
    candidate: object
    campaign: object
    template: object
    coupon_pool: object
    conversation: object
    colleague: object
    attachment: object
    review: object = None


@pytest.fixture
def world(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private")},
        },
    }
    storages._storages.pop("attachments", None)
    web = ChannelFactory(code="web", name="Web shop", kind="web")
    store = ChannelFactory(code="store", name="Stores", kind="store")
    warehouse = WarehouseFactory(code="wh-main", channels=[web])
    product = listed_product({web: 120, store: 120}, name="Aria Runner", variants=2)
    variant, spare = product.variants.order_by("pk")
    receive_stock(variant, warehouse, 10)
    receive_stock(spare, warehouse, 10)
    customer = customer_with({"kind": "email", "value": "sara@example.com"}, first_name="Sara")
    shipped = placed_order(customer, web, [(variant.sku, 1)], payment_status="paid")
    fulfil(shipped)
    replacement = create_replacement(
        shipped, lines=[{"line_id": shipped.lines.first().pk, "quantity": 1}], channel=web
    )
    order = placed_order(customer, web, [(spare.sku, 1)])
    conversation = ConversationFactory(customer=customer)
    MessageFactory(conversation=conversation)
    photo = storages["attachments"].save("webchat/roles/photo.png", ContentFile(b"\x89PNG\r\n"))
    attachment = MessageFactory(
        conversation=conversation,
        attachments=[{"filename": "photo.png", "content_type": "image/png", "stored": photo}],
    )
    campaign = CampaignFactory()
    review, _created = submit_review(
        customer=customer,
        order=shipped,
        sku=variant.sku,
        rating=4,
        text="Comfortable",
        photo=ContentFile(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16, name="shoe.png"),
    )
    return World(
        web=web,
        customer=customer,
        product=product,
        variant=variant,
        order=order,
        ret=replacement.return_request,
        pickup=CourierPickup.objects.get(),
        reservation=Reservation.objects.filter(variant=spare).get(),
        cart=CartFactory(customer=customer, channel=web),
        transfer=request_transfer(
            variant=variant,
            from_location=warehouse,
            to_location=WarehouseFactory(code="wh-2"),
            quantity=1,
        ),
        feed=feeds.generate_feed(ChannelFeedFactory(channel=web)).feed,  # a built feed: 200
        candidate=MergeCandidateFactory(customer=customer),
        campaign=campaign,
        template=MessageTemplateFactory(),
        coupon_pool=CouponPoolFactory(),
        conversation=conversation,
        colleague=StaffUserFactory(username="colleague"),
        attachment=attachment,
        review=review,
    )


# --- the expectation, from the role's group ------------------------------------------------


def group_permissions(role):
    return {
        f"{app}.{codename}"
        for app, codename in Group.objects.get(name=role).permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


def may(perms, need):
    if need == ANY_STAFF:
        return True
    if need == NOBODY:
        return False
    needs = need if isinstance(need, tuple) else (need,)
    return all(one in perms for one in needs)


def _path(key, route_entry, world):
    kwargs = route_entry.kwargs(world) if route_entry.kwargs else {}
    if kwargs is None:
        return None
    name = key
    path = reverse(name, kwargs=kwargs)
    query = route_entry.query.format(sku=world.variant.sku)
    return f"{path}?{query}" if query else path


@dataclass
class Call:
    key: str
    method: str
    path: str
    need: object
    scope: str | None = None


def calls(world):
    """Every request of the walk: reads first, then writes (writes may change the data)."""
    reads, writes = [], []
    for key, _route in url_map():
        route_entry = entry_for(key)
        if route_entry is None or route_entry.get in (PUBLIC, OWN):
            continue
        path = _path(key, route_entry, world)
        if path is None:
            continue
        if route_entry.get:
            reads.append(Call(key, "GET", path, route_entry.get, route_entry.scopes.get("GET")))
        if route_entry.post:
            writes.append(Call(key, "POST", path, route_entry.post, route_entry.scopes.get("POST")))
        for method, need in route_entry.writes.items():
            writes.append(Call(key, method, path, need, route_entry.scopes[method]))
    for app_label in sorted({m._meta.app_label for m in admin.site._registry}):
        reads.append(
            Call("admin:app_list", "GET", reverse("admin:app_list", args=[app_label]), app_label)
        )
    return reads + writes


def send(client, call_):
    method = call_.method.lower()
    if call_.key.startswith("api-"):
        return getattr(client, method)(call_.path, {} if method != "get" else None, format="json")
    return getattr(client, method)(call_.path)


def _is_staff_page(call_, response):
    return not call_.key.startswith(("api-", "admin")) and response.get(
        "Content-Type", ""
    ).startswith("text/html")


def _app_index_allowed(perms, app_label):
    return any(perm.startswith(f"{app_label}.") for perm in perms)


@pytest.mark.parametrize("role", WALKED_ROLES)
def test_each_role_gets_403_outside_its_area_and_in_inside(world, role):
    perms = group_permissions(role)
    user = StaffUserFactory(username=role.lower().replace(" ", "_"), roles=[role])
    client = APIClient(raise_request_exception=False)  # a 500 is reported with the others
    client.force_login(user)
    wrong, allowed = [], 0
    for call_ in calls(world):
        response = send(client, call_)
        status = response.status_code
        if call_.key == "admin:app_list":
            # Django's admin answers an app index the user may see nothing of with 404; the
            # page would hold only links to the model pages, which answer 403 themselves.
            expected_ok = _app_index_allowed(perms, call_.need)
            good = status == 200 if expected_ok else status == 404
        elif may(perms, call_.need):
            allowed += 1
            good = status == 200 if call_.method == "GET" else status not in (403, 404, 500)
            if good and call_.method == "GET" and _is_staff_page(call_, response):
                parts = _PageParts()
                parts.feed(response.content.decode())
                wrong += [
                    f"{call_.path} links to {link}" for link in links_refused(parts.links, perms)
                ]
        else:
            good = status == 403
        if not good:
            wrong.append(f"{call_.method} {call_.path} ({call_.key}, needs {call_.need}): {status}")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)
    assert allowed, f"{role} may open nothing: the table or the role is wrong"


# --- partner API keys: a key of one scope reaches only that scope's endpoints ---------------


def _key_may(scope, need):
    if need is None:
        return True
    return scope == need or (need.endswith(":read") and scope == need[: -len("read")] + "write")


def test_an_api_key_of_one_scope_gets_403_on_every_endpoint_of_the_others(world):
    clients = {}
    for scope in sorted(SCOPES):
        _api_key, raw_key = api_key_with([scope], name=scope)
        clients[scope] = APIClient(raise_request_exception=False)
        clients[scope].credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    api_calls = [c for c in calls(world) if c.key.startswith("api-")]
    assert len({c.key for c in api_calls}) > 70  # the walk reached the whole API
    wrong = []
    for call_ in api_calls:
        for scope, client in clients.items():
            status = send(client, call_).status_code
            if call_.need == ANY_STAFF or _key_may(scope, call_.scope):
                good = status == 200 if call_.method == "GET" else status not in (403, 404, 500)
            else:
                good = status == 403
            if not good:
                wrong.append(
                    f"{scope}: {call_.method} {call_.path} (needs {call_.scope}): {status}"
                )
    assert not wrong, "\n".join(wrong)


def test_an_api_key_opens_no_staff_page(world, api_client_for):
    client = api_client_for(*SCOPES)
    for call_ in calls(world):
        if call_.method == "GET" and not call_.key.startswith(("api-", "admin:")):
            response = client.get(call_.path)
            assert response.status_code == 302, call_.path
            login = urlsplit(response["Location"]).path
            assert login in (reverse("login"), reverse("admin:login")), call_.path


# --- the roles' intent, pinned apart from core.roles ----------------------------------------

WRITE_ACTIONS = ("add", "change", "delete")


def _holds(role, app_label, actions=("view", *WRITE_ACTIONS)):
    return sorted(
        perm
        for perm in group_permissions(role)
        if perm.startswith(f"{app_label}.") and perm.split(".", 1)[1].split("_", 1)[0] in actions
    )


@pytest.mark.parametrize(
    ("role", "app_label", "actions"),
    [
        (SUPPORT_AGENT, "campaigns", ("view", *WRITE_ACTIONS)),
        (SUPPORT_AGENT, "inventory", WRITE_ACTIONS),
        (SUPPORT_AGENT, "catalog", WRITE_ACTIONS),
        (MARKETER, "support", ("view", *WRITE_ACTIONS)),
        (MARKETER, "inventory", WRITE_ACTIONS),
        (MARKETER, "customers", WRITE_ACTIONS),
        (MERCHANDISER, "support", ("view", *WRITE_ACTIONS)),
        (MERCHANDISER, "campaigns", ("view", *WRITE_ACTIONS)),
        (MERCHANDISER, "customers", ("view", *WRITE_ACTIONS)),
        (INVENTORY_MANAGER, "customers", ("view", *WRITE_ACTIONS)),
        (INVENTORY_MANAGER, "campaigns", ("view", *WRITE_ACTIONS)),
        (INVENTORY_MANAGER, "support", ("view", *WRITE_ACTIONS)),
        *[(role, "auth", ("view", *WRITE_ACTIONS)) for role in WALKED_ROLES],
    ],
)
def test_a_role_holds_nothing_outside_its_job(role, app_label, actions):
    """A too generous role definition fails here even though the walk above agrees with it."""
    assert _holds(role, app_label, actions) == []


@pytest.mark.parametrize(
    ("role", "own_writes"),
    [
        (SUPPORT_AGENT, ["support.change_conversation", "orders.add_return"]),
        (MARKETER, ["campaigns.change_campaign", "campaigns.change_segment"]),
        (MERCHANDISER, ["catalog.change_product", "catalog.change_channelfeed"]),
        (INVENTORY_MANAGER, ["inventory.add_stockmovement", "inventory.change_transfer"]),
    ],
)
def test_a_role_holds_its_own_job(role, own_writes):
    assert set(own_writes) <= group_permissions(role)


# --- the home dashboard: each role sees its area's figures and links only --------------------

HOME_PANELS = {
    SUPPORT_AGENT: {
        "channels",
        "customers.today",
        "catalog.summary",
        "orders.today",
        "support.inbox",
    },
    MARKETER: {
        "channels",
        "customers.today",
        "catalog.summary",
        "orders.today",
        "campaigns.summary",
    },
    MERCHANDISER: {"channels", "catalog.summary", "inventory.low_stock", "orders.today"},
    INVENTORY_MANAGER: {"channels", "catalog.summary", "inventory.low_stock", "orders.today"},
    None: set(),  # staff in no role yet
}


def links_refused(links, perms):
    """The links of a page (hrefs) that lead to a page of the map these permissions do not
    open: a page shows only the doors its reader may walk through."""
    refused = []
    for href in links:
        url = urlsplit(href)
        if url.netloc or not url.path.startswith("/") or url.path.startswith("/static/"):
            continue
        try:
            match = resolve(url.path)
        except Resolver404:
            refused.append(f"{href}: no such page")
            continue
        route_entry = entry_for(match.view_name)
        need = route_entry and route_entry.get
        if need not in (PUBLIC, OWN) and not (need and may(perms, need)):
            refused.append(f"{href} ({match.view_name}, needs {need})")
    return refused


class _PageParts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.panels, self.links = set(), set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("data-panel"):
            self.panels.add(attrs["data-panel"])
        if tag == "a" and attrs.get("href"):
            self.links.add(attrs["href"])


@pytest.mark.parametrize("role", [*WALKED_ROLES, None])
def test_home_shows_each_role_its_own_figures_and_links(world, client, role):
    MergeCandidateFactory()  # so the customers panel shows its "to review" link too
    user = StaffUserFactory(username=f"home_{role or 'none'}", roles=[role] if role else [])
    perms = group_permissions(role) if role else set()
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    parts = _PageParts()
    parts.feed(response.content.decode())
    assert parts.panels - {"placeholder"} == HOME_PANELS[role]
    refused = links_refused(parts.links, perms)
    assert not refused, f"{role} is shown links it may not open: {refused}"
    if role is None:
        assert b'class="figure"' not in response.content


# --- admin actions act with a write permission, never with view alone ------------------------


def test_every_admin_action_needs_more_than_view():
    lax = [
        f"{model._meta.label}.{name}"
        for model, model_admin in admin.site._registry.items()
        for func, name, _description in model_admin._get_base_actions()
        if not set(getattr(func, "allowed_permissions", ())) - {"view"}
    ]
    assert not lax, f"admin actions any viewer may run: {lax}"


def test_a_viewer_of_merge_candidates_cannot_approve_one_in_the_admin(client):
    candidate = MergeCandidateFactory()
    client.force_login(StaffUserFactory(username="agent", roles=[SUPPORT_AGENT]))
    response = client.post(
        reverse("admin:customers_mergecandidate_changelist"),
        {"action": "approve", "_selected_action": [candidate.pk]},
    )
    assert response.status_code in (200, 302)
    candidate.refresh_from_db()
    assert candidate.status == "pending"
    assert not candidate.customer.__class__.objects.filter(merged_into__isnull=False).exists()
