"""A WooCommerce order (and customer) becoming ours, through the services the partner API
uses: customers.resolve_customer for the buyer, orders.place_order for a new order (its
external id is the WooCommerce id, so the same order never becomes two), and the order's
state machine (set_status: confirm, fulfil, complete, cancel) and record_payment for what the
shop's status says since.

Updates may arrive late and out of order: each WooCommerce order keeps the
date_modified_gmt of the last version applied (OrderLink, locked while one is applied), and
an update no newer than it is ignored.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from core.api.errors import DomainError
from customers.errors import InvalidIdentity
from customers.normalise import normalise_email, normalise_phone
from customers.services import resolve_customer
from orders.choices import OrderStatus, PaymentStatus
from orders.services import LineInput, ShippingInput, place_order, record_payment, set_status
from orders.woocommerce import payloads
from orders.woocommerce.models import OrderLink
from orders.woocommerce.services.catalog import variant_for

SOURCE = "woocommerce"

# WooCommerce's order statuses -> the state our order is brought to. Statuses a plugin adds
# (and any other) leave our order where it is.
STATE_OF = {
    "pending": OrderStatus.PLACED,  # awaiting payment
    "on-hold": OrderStatus.PLACED,  # awaiting a bank transfer or a check
    "processing": OrderStatus.CONFIRMED,  # paid, to be shipped
    "completed": OrderStatus.COMPLETED,  # shipped
    "cancelled": OrderStatus.CANCELLED,
    "failed": OrderStatus.CANCELLED,  # the payment failed
    "refunded": OrderStatus.CANCELLED,
}
PAYMENT_OF = {
    "pending": PaymentStatus.PENDING,
    "on-hold": PaymentStatus.PENDING,
    "processing": PaymentStatus.PAID,
    "completed": PaymentStatus.PAID,
    "refunded": PaymentStatus.REFUNDED,
}
# Never an order of ours: checkout drafts (the block checkout) and the bin.
NOT_ORDERS = {"checkout-draft", "auto-draft", "draft", "trash"}
# The steps from each state towards a later one (set_status does one step each).
FORWARD = {
    OrderStatus.CONFIRMED: [OrderStatus.CONFIRMED],
    OrderStatus.COMPLETED: [OrderStatus.CONFIRMED, OrderStatus.FULFILLED, OrderStatus.COMPLETED],
}
RANK = {
    OrderStatus.PLACED: 0,
    OrderStatus.CONFIRMED: 1,
    OrderStatus.PARTIALLY_FULFILLED: 2,
    OrderStatus.FULFILLED: 3,
    OrderStatus.COMPLETED: 4,
}
# Our services' field names -> WooCommerce's, so a refusal names what the shop sent.
FIELD_NAMES = (
    ("lines.", "line_items."),
    ("shipping.address", "shipping.address_1"),
    ("payment_status", "status"),
)


def partner_of(channel) -> str:
    """The partner of the shop's customer ids as external-id identities."""
    return f"woocommerce:{channel.code}"


def _identities(channel, data: dict, *, prefix: str) -> list[dict]:
    """Email, phone and the shop's customer id (when not a guest) as identities; a phone
    that is not one is left out rather than refusing the order."""
    billing = payloads.section(data, "billing")
    email = payloads.text(data, "email") or payloads.text(billing, "email", field="billing.email")
    found = []
    if email:
        try:
            found.append({"kind": "email", "value": normalise_email(email)})
        except ValueError:
            payloads.refuse(f"{prefix}email", _("Not an email address."))
    phone = payloads.text(billing, "phone", field="billing.phone")
    if phone:
        try:
            found.append({"kind": "phone", "value": normalise_phone(phone)})
        except ValueError:
            pass
    customer_id = payloads.whole(data, "customer_id" if prefix else "id", required=False)
    if customer_id:
        found.append(
            {"kind": "external_id", "value": str(customer_id), "partner": partner_of(channel)}
        )
    if not found:
        payloads.refuse(
            f"{prefix}email", _("Required when the shop names no customer id or phone.")
        )
    return found


def _traits(data: dict) -> dict:
    billing = payloads.section(data, "billing")
    traits = {}
    for name in ("first_name", "last_name"):
        value = payloads.text(data, name, limit=100) or payloads.text(billing, name, limit=100)
        if value:
            traits[name] = value
    return traits


def resolve_buyer(channel, data: dict, *, prefix: str = "billing."):
    try:
        return resolve_customer(
            _identities(channel, data, prefix=prefix),
            traits=_traits(data),
            channel=channel,
            source=SOURCE,
        )
    except InvalidIdentity as error:
        payloads.refuse(f"{prefix}email", "; ".join(sum(error.fields.values(), [])) or str(error))


def apply_customer(channel, data: dict) -> tuple[str, str]:
    """customer.created / customer.updated: the shop's customer is one of ours, by email,
    phone and the shop's customer id."""
    payloads.whole(data, "id", minimum=1)
    customer = resolve_buyer(channel, data, prefix="")
    return "applied", _("Customer %(id)s.") % {"id": customer.pk}


def _renamed(error: DomainError) -> DomainError:
    """The same error, its fields named as WooCommerce names them."""
    renamed = {}
    for name, problems in error.fields.items():
        for ours, theirs in FIELD_NAMES:
            if name.startswith(ours):
                name = theirs + name[len(ours) :]
                break
        renamed[name] = problems
    error.fields = renamed
    return error


def _lines(channel, data: dict) -> list[LineInput]:
    lines = []
    for index, item in enumerate(payloads.items(data, "line_items")):
        field = f"line_items.{index}"
        quantity = payloads.whole(item, "quantity", field=f"{field}.quantity", minimum=1)
        product_id = payloads.whole(item, "product_id", field=f"{field}.product_id", required=False)
        variation_id = payloads.whole(
            item, "variation_id", field=f"{field}.variation_id", required=False
        )
        sku = payloads.text(item, "sku", field=f"{field}.sku", limit=64)
        variant = variant_for(channel, product_id=product_id, variation_id=variation_id, sku=sku)
        if variant is None:
            payloads.refuse(
                f"{field}.sku",
                _("No variant of ours has SKU %(sku)s; link the product first.")
                % {"sku": sku or "-"},
            )
        lines.append(LineInput(sku=variant.sku, quantity=quantity))
    if not lines:
        payloads.refuse("line_items", _("An order needs at least one line."))
    return lines


def _shipping(data: dict) -> ShippingInput:
    """The shipping address, or the billing address when the order has none (local pickup,
    a shop that does not ask for one)."""
    shipping = payloads.section(data, "shipping")
    billing = payloads.section(data, "billing")
    source, name = (
        (shipping, "shipping") if payloads.text(shipping, "address_1") else (billing, "billing")
    )
    street = ", ".join(
        part
        for part in (
            payloads.text(source, "address_1", field=f"{name}.address_1"),
            payloads.text(source, "address_2", field=f"{name}.address_2"),
        )
        if part
    )
    if not street:
        payloads.refuse("shipping.address_1", _("Required: the order has no address to ship to."))
    person = " ".join(
        part
        for part in (payloads.text(source, "first_name"), payloads.text(source, "last_name"))
        if part
    )
    return ShippingInput(
        name=person[:200],
        phone=(payloads.text(source, "phone") or payloads.text(billing, "phone"))[:40],
        address=street,
        city=payloads.text(source, "city", limit=100),
        postcode=payloads.text(source, "postcode", limit=20),
        country=payloads.text(source, "country", limit=2).upper(),
    )


def apply_order(channel, data: dict) -> tuple[str, str]:
    """order.created / order.updated: place the order the first time it is seen (whichever
    topic brings it), then bring its state and payment to what the shop's status says.
    Returns (outcome, detail): "ignored" for a version no newer than the one applied, a
    draft, or an order first seen already cancelled. Raises InvalidPayload naming the
    WooCommerce field, or the order services' errors (unknown price, insufficient stock,
    an illegal move) with their fields renamed to WooCommerce's."""
    woo_id = payloads.whole(data, "id", minimum=1)
    modified = payloads.gmt(data, "date_modified_gmt")
    status = payloads.text(data, "status", limit=30)
    if not status:
        payloads.refuse("status", _("Required."))
    currency = payloads.text(data, "currency", limit=3).upper()
    if currency and currency != channel.currency:
        payloads.refuse(
            "currency",
            _("The channel sells in %(currency)s.") % {"currency": channel.currency},
        )
    try:
        with transaction.atomic():
            OrderLink.objects.bulk_create(
                [OrderLink(channel=channel, woo_order_id=woo_id)], ignore_conflicts=True
            )
            # Deliveries of one order queue here, so two versions never interleave.
            link = OrderLink.objects.select_for_update().get(channel=channel, woo_order_id=woo_id)
            if link.modified_at is not None and modified <= link.modified_at:
                return "ignored", _("Not newer than the version applied (%(at)s).") % {
                    "at": link.modified_at.isoformat()
                }
            if link.order is None:
                if status in NOT_ORDERS or STATE_OF.get(status) == OrderStatus.CANCELLED:
                    _remember(link, status, modified)
                    return "ignored", _("Not an order yet: %(status)s.") % {"status": status}
                link.order = _place(channel, data, woo_id, status)
                detail = _("Order %(number)s placed.") % {"number": link.order.number}
            else:
                detail = _("Order %(number)s updated.") % {"number": link.order.number}
            order = _follow(channel, link.order, status)
            _remember(link, status, modified)
            return "applied", detail + " " + _("Now %(status)s.") % {
                "status": order.get_status_display()
            }
    except DomainError as error:
        raise _renamed(error) from None


def _place(channel, data: dict, woo_id: int, status: str):
    customer = resolve_buyer(channel, data)
    placed = place_order(
        customer=customer,
        channel=channel,
        lines=_lines(channel, data),
        external_id=str(woo_id),
        shipping=_shipping(data),
        payment_status=PAYMENT_OF.get(status, PaymentStatus.PENDING),
        payment_reference=payloads.text(data, "transaction_id", limit=120),
        notes=payloads.text(data, "customer_note", limit=2000),
    )
    return placed.order


def _follow(channel, order, status: str):
    """Bring our order to the state the shop's status names, one allowed step at a time
    through set_status (what the API's status update calls); never backwards (a late
    `processing` after `completed` changes nothing)."""
    order.refresh_from_db()
    payment = PAYMENT_OF.get(status)
    if payment and payment != order.payment_status:
        order = record_payment(order, status=payment)
    target = STATE_OF.get(status)
    note = _("WooCommerce: %(status)s") % {"status": status}
    if target == OrderStatus.CANCELLED:
        if order.is_open:
            order = set_status(order, OrderStatus.CANCELLED, channel=channel, note=note)
        return order
    for step in FORWARD.get(target, []):
        if order.status in RANK and RANK[order.status] < RANK[step]:
            order = set_status(order, step, channel=channel, note=note)
            order.refresh_from_db()
    return order


def _remember(link, status: str, modified) -> None:
    link.woo_status = status
    link.modified_at = modified
    link.save(update_fields=["order", "woo_status", "modified_at"])
