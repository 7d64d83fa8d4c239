"""Orders tables: carts, orders from any channel and their lines, fulfilments, returns,
exchanges, replacements and courier pickups.

Stock is never written here: a line keeps a reference to the inventory reservation that holds
its units, and every stock change goes through `inventory.services`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from djmoney.models.fields import MoneyField

from orders.choices import (  # noqa: F401 (other modules of orders import them from here)
    AlertKind,
    CartStatus,
    FulfilmentMethod,
    LineStatus,
    OrderKind,
    OrderStatus,
    PartStatus,
    PaymentStatus,
    PickupStatus,
    ReturnKind,
    ReturnReason,
    ReturnStatus,
)

MONEY = {"max_digits": 14, "decimal_places": 2, "default_currency": settings.DEFAULT_CURRENCY}


class Cart(models.Model):
    """What a customer (known, or anonymous and known only by a cookie or device) is about to
    buy. One active cart per customer, whatever the channel: started in the app, it is the
    same cart on the web once the identities resolve to one customer."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        related_name="carts",
        on_delete=models.PROTECT,
    )
    channel = models.ForeignKey(
        "core.Channel",
        verbose_name=_("started in"),
        related_name="carts",
        on_delete=models.PROTECT,
    )
    last_channel = models.ForeignKey(
        "core.Channel",
        verbose_name=_("last used in"),
        related_name="+",
        on_delete=models.PROTECT,
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=CartStatus.choices,
        default=CartStatus.ACTIVE,
        db_index=True,
    )
    currency = models.CharField(_("currency"), max_length=3, default=settings.DEFAULT_CURRENCY)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_activity_at = models.DateTimeField(_("last activity"), default=timezone.now)
    abandoned_at = models.DateTimeField(_("abandoned"), null=True, blank=True)
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True)
    converted_order = models.ForeignKey(
        "Order",
        verbose_name=_("converted by order"),
        null=True,
        blank=True,
        related_name="converted_carts",
        on_delete=models.SET_NULL,
    )

    class Meta:
        ordering = ["-last_activity_at", "-id"]
        verbose_name = _("cart")
        verbose_name_plural = _("carts")
        indexes = [
            models.Index(
                fields=["last_activity_at"],
                condition=Q(status="active"),
                name="orders_cart_active_activity",
            )
        ]

    def __str__(self):
        return f"Cart {self.pk} ({self.status})"


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, related_name="lines", on_delete=models.CASCADE)
    variant = models.ForeignKey(
        "catalog.ProductVariant",
        verbose_name=pgettext_lazy("product", "variant"),
        on_delete=models.PROTECT,
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = MoneyField(_("unit price"), **MONEY)
    channel = models.ForeignKey(
        "core.Channel", verbose_name=_("added in"), related_name="+", on_delete=models.PROTECT
    )
    added_at = models.DateTimeField(_("added"), default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name = _("cart line")
        verbose_name_plural = _("cart lines")
        constraints = [
            models.UniqueConstraint(fields=["cart", "variant"], name="orders_cartline_variant"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orders_cartline_qty"),
        ]

    def __str__(self):
        return f"{self.quantity}× {self.variant_id}"

    @property
    def line_total(self):
        return self.unit_price * self.quantity


# The state machine: from -> the statuses it may move to.
ORDER_TRANSITIONS = {
    OrderStatus.PLACED: {OrderStatus.CONFIRMED, OrderStatus.CANCELLED},
    OrderStatus.CONFIRMED: {
        OrderStatus.PARTIALLY_FULFILLED,
        OrderStatus.FULFILLED,
        OrderStatus.CANCELLED,
    },
    OrderStatus.PARTIALLY_FULFILLED: {OrderStatus.FULFILLED},
    OrderStatus.FULFILLED: {OrderStatus.COMPLETED},
    OrderStatus.COMPLETED: set(),
    OrderStatus.CANCELLED: set(),
}
OPEN_STATUSES = (OrderStatus.PLACED, OrderStatus.CONFIRMED)


class Order(models.Model):
    """An order from any channel. `number` is what people read (W-100123: the prefix names
    the channel); `external_id` is the partner's own id, unique per channel, which makes
    creation idempotent."""

    number = models.CharField(_("number"), max_length=20, unique=True, null=True, blank=True)
    external_id = models.CharField(_("partner's order id"), max_length=120, blank=True)
    kind = models.CharField(
        _("kind"), max_length=12, choices=OrderKind.choices, default=OrderKind.SALE
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        related_name="orders",
        on_delete=models.PROTECT,
    )
    channel = models.ForeignKey(
        "core.Channel",
        verbose_name=_("placed in"),
        related_name="orders",
        on_delete=models.PROTECT,
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=OrderStatus.choices,
        default=OrderStatus.PLACED,
        db_index=True,
    )
    payment_status = models.CharField(
        _("payment status"),
        max_length=20,
        choices=PaymentStatus.choices,
        default=PaymentStatus.PENDING,
    )
    payment_reference = models.CharField(_("payment reference"), max_length=120, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default=settings.DEFAULT_CURRENCY)
    subtotal = MoneyField(_("subtotal"), **MONEY)
    discount = MoneyField(_("discount"), **MONEY)
    shipping = MoneyField(_("shipping"), **MONEY)
    total = MoneyField(_("total"), **MONEY)
    refunded = MoneyField(_("refunded"), **MONEY)
    coupon_code = models.CharField(_("coupon"), max_length=60, blank=True)
    coupon_description = models.CharField(_("coupon description"), max_length=200, blank=True)
    fulfilment_method = models.CharField(
        _("fulfilment method"),
        max_length=20,
        choices=FulfilmentMethod.choices,
        default=FulfilmentMethod.SHIP,
    )
    store = models.ForeignKey(
        "inventory.Location",
        verbose_name=_("store"),
        null=True,
        blank=True,
        related_name="orders",
        on_delete=models.PROTECT,
        help_text=_("The store of a pickup, ship-from-store or in-store order."),
    )
    shipping_name = models.CharField(_("ship to (name)"), max_length=200, blank=True)
    shipping_phone = models.CharField(_("ship to (phone)"), max_length=40, blank=True)
    shipping_address = models.TextField(_("shipping address"), blank=True)
    shipping_city = models.CharField(_("city"), max_length=100, blank=True)
    shipping_postcode = models.CharField(_("postcode"), max_length=20, blank=True)
    shipping_country = models.CharField(_("country"), max_length=2, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    original_order = models.ForeignKey(
        "self",
        verbose_name=_("original order"),
        null=True,
        blank=True,
        related_name="follow_up_orders",
        on_delete=models.PROTECT,
        help_text=_("The order an exchange or replacement order belongs to."),
    )
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("placed by staff"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )
    placed_at = models.DateTimeField(_("placed"), default=timezone.now, db_index=True)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    fulfilled_at = models.DateTimeField(_("fulfilled"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=~Q(external_id=""),
                name="orders_order_external_id_per_channel",
            )
        ]
        indexes = [
            models.Index(fields=["customer", "-placed_at"], name="orders_order_customer"),
            models.Index(fields=["channel", "-placed_at"], name="orders_order_channel"),
        ]

    def __str__(self):
        return self.number or f"order {self.pk}"

    @property
    def is_open(self):
        return self.status in OPEN_STATUSES


class OrderLine(models.Model):
    order = models.ForeignKey(Order, related_name="lines", on_delete=models.CASCADE)
    variant = models.ForeignKey(
        "catalog.ProductVariant",
        verbose_name=pgettext_lazy("product", "variant"),
        on_delete=models.PROTECT,
    )
    sku = models.CharField(_("SKU"), max_length=64)
    product_name = models.CharField(_("product"), max_length=255)
    quantity = models.PositiveIntegerField(_("quantity"))
    quantity_returned = models.PositiveIntegerField(_("returned"), default=0)
    unit_price = MoneyField(_("unit price"), **MONEY)
    line_total = MoneyField(_("line total"), **MONEY)
    fulfilment_method = models.CharField(
        _("fulfilment method"), max_length=20, choices=FulfilmentMethod.choices
    )
    location = models.ForeignKey(
        "inventory.Location",
        verbose_name=_("stock from"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.PROTECT,
    )
    pickup_location = models.ForeignKey(
        "inventory.Location",
        verbose_name=_("pickup at"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.PROTECT,
    )
    reservation = models.ForeignKey(
        "inventory.Reservation",
        verbose_name=_("reservation"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )
    status = models.CharField(
        _("status"), max_length=10, choices=LineStatus.choices, default=LineStatus.OPEN
    )
    channel = models.ForeignKey(
        "core.Channel",
        verbose_name=_("added in"),
        related_name="+",
        on_delete=models.PROTECT,
    )
    replaces_line = models.ForeignKey(
        "self",
        verbose_name=_("replaces line"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )
    created_at = models.DateTimeField(_("added"), default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orders_line_qty"),
            models.CheckConstraint(
                condition=Q(quantity_returned__lte=models.F("quantity")),
                name="orders_line_returned_le_qty",
            ),
        ]

    def __str__(self):
        return f"{self.quantity}× {self.sku}"

    @property
    def is_active(self):
        return self.status in (LineStatus.OPEN, LineStatus.FULFILLED)

    @classmethod
    def build(cls, order, variant, quantity, price, *, method, store, channel, replaces=None):
        """An unsaved line of `quantity` x `variant` at `price`: where it is picked up (a
        pickup line) or from where it leaves (any other method) is the one `store`."""
        pickup = method == FulfilmentMethod.PICKUP_IN_STORE
        return cls(
            order=order,
            variant=variant,
            sku=variant.sku,
            product_name=str(variant.product)[:255],
            quantity=quantity,
            unit_price=price,
            line_total=price * quantity,
            fulfilment_method=method,
            location=None if pickup else store,
            pickup_location=store if pickup else None,
            channel=channel,
            replaces_line=replaces,
        )

    @property
    def returnable_quantity(self):
        return self.quantity - self.quantity_returned if self.status == LineStatus.FULFILLED else 0


class OrderLinePart(models.Model):
    """Part of a line held at one location, when the channel's stock rule lets a line no
    single location can fill be split across several (2 units at the warehouse, 1 at a
    store that ships). Each part has its own reservation and is fulfilled on its own; the
    line is fulfilled when every part is. A split line's own `location` and `reservation`
    stay empty."""

    line = models.ForeignKey("OrderLine", related_name="parts", on_delete=models.CASCADE)
    location = models.ForeignKey(
        "inventory.Location",
        verbose_name=_("stock from"),
        related_name="+",
        on_delete=models.PROTECT,
    )
    reservation = models.ForeignKey(
        "inventory.Reservation",
        verbose_name=_("reservation"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    status = models.CharField(
        _("status"), max_length=10, choices=PartStatus.choices, default=PartStatus.OPEN
    )

    class Meta:
        ordering = ["line_id", "id"]
        verbose_name = _("line part")
        verbose_name_plural = _("line parts")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orders_line_part_qty"),
        ]

    def __str__(self):
        return f"{self.quantity}× @{self.location_id}"


class OrderAlert(models.Model):
    """Something staff must look at on an order (a pickup's transfer late or short), shown
    on the order page until someone resolves it. Its words come from `kind`, so each reader
    sees it in her own language; `details` holds the figures (SKU, store, units)."""

    order = models.ForeignKey(Order, related_name="alerts", on_delete=models.CASCADE)
    line = models.ForeignKey(
        "OrderLine", null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    kind = models.CharField(_("kind"), max_length=20, choices=AlertKind.choices)
    details = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("raised"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("order alert")
        verbose_name_plural = _("order alerts")
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(resolved_at=None), name="orders_alert_open"
            )
        ]

    def __str__(self):
        return f"{self.order_id}: {self.kind}"


class OrderStatusChange(models.Model):
    """The order's history of statuses: who moved it, when, through which channel."""

    order = models.ForeignKey(Order, related_name="status_changes", on_delete=models.CASCADE)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    channel = models.ForeignKey(
        "core.Channel", null=True, blank=True, related_name="+", on_delete=models.PROTECT
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    note = models.CharField(max_length=255, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["changed_at", "id"]
        verbose_name = _("order status change")
        verbose_name_plural = _("order status changes")

    def __str__(self):
        return f"{self.order_id}: {self.from_status} → {self.to_status}"

    @property
    def to_status_label(self):
        """The status in staff's words ("Placed"), as the order's own status reads."""
        if self.to_status in OrderStatus.values:
            return OrderStatus(self.to_status).label
        return self.to_status


class Fulfilment(models.Model):
    """Lines handed over (shipped, picked up, or taken in the store) from one location."""

    order = models.ForeignKey(Order, related_name="fulfilments", on_delete=models.CASCADE)
    location = models.ForeignKey(
        "inventory.Location",
        verbose_name=_("from"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.PROTECT,
    )
    method = models.CharField(_("method"), max_length=20, choices=FulfilmentMethod.choices)
    channel = models.ForeignKey(
        "core.Channel", verbose_name=_("channel"), related_name="+", on_delete=models.PROTECT
    )
    carrier = models.CharField(_("carrier"), max_length=80, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=120, blank=True)
    created_at = models.DateTimeField(_("fulfilled"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("fulfilment")
        verbose_name_plural = _("fulfilments")

    def __str__(self):
        return f"Fulfilment {self.pk} of {self.order_id}"


class FulfilmentLine(models.Model):
    fulfilment = models.ForeignKey(Fulfilment, related_name="lines", on_delete=models.CASCADE)
    order_line = models.ForeignKey(
        OrderLine, related_name="fulfilment_lines", on_delete=models.CASCADE
    )
    part = models.ForeignKey(
        "OrderLinePart",
        null=True,
        blank=True,
        related_name="fulfilment_lines",
        on_delete=models.CASCADE,
        help_text=_("For a split line: the part handed over."),
    )
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        verbose_name = _("fulfilment line")
        verbose_name_plural = _("fulfilment lines")
        # A line is handed over once, or, split, each of its parts once.
        constraints = [
            models.UniqueConstraint(
                fields=["order_line"],
                condition=Q(part__isnull=True),
                name="orders_line_fulfilled_once",
            ),
            models.UniqueConstraint(
                fields=["part"], condition=Q(part__isnull=False), name="orders_part_fulfilled_once"
            ),
        ]

    def __str__(self):
        return f"{self.quantity}× line {self.order_line_id}"


# Goods returned for these reasons cannot be sold again: they go to the damaged state.
DAMAGED_REASONS = frozenset({ReturnReason.DEFECT})


class Return(models.Model):
    """Goods coming back from an order, in any channel: the web order's shoes may come back
    at a store counter. `location` is where the goods arrive."""

    number = models.CharField(_("number"), max_length=20, unique=True, null=True, blank=True)
    order = models.ForeignKey(Order, related_name="returns", on_delete=models.PROTECT)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        related_name="returns",
        on_delete=models.PROTECT,
    )
    kind = models.CharField(
        _("kind"), max_length=12, choices=ReturnKind.choices, default=ReturnKind.RETURN
    )
    channel = models.ForeignKey(
        "core.Channel",
        verbose_name=_("initiated in"),
        related_name="returns",
        on_delete=models.PROTECT,
    )
    location = models.ForeignKey(
        "inventory.Location",
        verbose_name=_("received at"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.PROTECT,
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=ReturnStatus.choices,
        default=ReturnStatus.REQUESTED,
        db_index=True,
    )
    refund_amount = MoneyField(_("refund"), **MONEY)
    note = models.TextField(_("note"), blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    received_at = models.DateTimeField(_("received"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("return")
        verbose_name_plural = _("returns")

    def __str__(self):
        return self.number or f"return {self.pk}"


class ReturnLine(models.Model):
    return_request = models.ForeignKey(Return, related_name="lines", on_delete=models.CASCADE)
    order_line = models.ForeignKey(OrderLine, related_name="return_lines", on_delete=models.PROTECT)
    quantity = models.PositiveIntegerField(_("quantity"))
    reason = models.CharField(_("reason"), max_length=15, choices=ReturnReason.choices)
    restock = models.BooleanField(
        _("back to sellable stock"),
        help_text=_("False: the goods go to the damaged state (by reason)."),
    )
    refund_amount = MoneyField(_("refund"), **MONEY)

    class Meta:
        ordering = ["id"]
        verbose_name = _("return line")
        verbose_name_plural = _("return lines")
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="orders_rl_qty")]

    def __str__(self):
        return f"{self.quantity}× {self.order_line_id} ({self.reason})"


class Exchange(models.Model):
    """A return and the new goods given for it, recorded in one step."""

    return_request = models.OneToOneField(Return, related_name="exchange", on_delete=models.PROTECT)
    order = models.ForeignKey(Order, related_name="exchanges", on_delete=models.PROTECT)
    new_order = models.OneToOneField(Order, related_name="exchange_for", on_delete=models.PROTECT)
    channel = models.ForeignKey("core.Channel", related_name="+", on_delete=models.PROTECT)
    price_difference = MoneyField(
        _("price difference"),
        **MONEY,
        help_text=_("New goods minus returned goods: positive is due from the customer."),
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("exchange")
        verbose_name_plural = _("exchanges")

    def __str__(self):
        return f"Exchange {self.pk}"


class Replacement(models.Model):
    """A defect answered with new goods at no charge: a zero-price order shipped to the
    customer, and a courier who collects the defective goods."""

    order = models.ForeignKey(Order, related_name="replacements", on_delete=models.PROTECT)
    new_order = models.OneToOneField(
        Order, related_name="replacement_for", on_delete=models.PROTECT
    )
    return_request = models.OneToOneField(
        Return, related_name="replacement", on_delete=models.PROTECT
    )
    channel = models.ForeignKey("core.Channel", related_name="+", on_delete=models.PROTECT)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("replacement")
        verbose_name_plural = _("replacements")

    def __str__(self):
        return f"Replacement {self.pk}"


class CourierPickup(models.Model):
    """A task for a courier: collect goods from the customer (a defective pair), usually
    while delivering the replacement."""

    return_request = models.OneToOneField(
        Return, related_name="courier_pickup", on_delete=models.PROTECT
    )
    deliver_order = models.ForeignKey(
        Order,
        verbose_name=_("deliver at the same visit"),
        null=True,
        blank=True,
        related_name="courier_pickups",
        on_delete=models.SET_NULL,
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=PickupStatus.choices,
        default=PickupStatus.SCHEDULED,
        db_index=True,
    )
    contact_name = models.CharField(_("name"), max_length=200, blank=True)
    contact_phone = models.CharField(_("phone"), max_length=40, blank=True)
    address = models.TextField(_("address"), blank=True)
    deliver_to = models.ForeignKey(
        "inventory.Location",
        verbose_name=_("bring the goods to"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.PROTECT,
    )
    scheduled_for = models.DateField(_("scheduled for"), null=True, blank=True)
    carrier = models.CharField(_("carrier"), max_length=80, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    collected_at = models.DateTimeField(_("collected"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("courier pickup")
        verbose_name_plural = _("courier pickups")

    def __str__(self):
        return f"Pickup {self.pk} ({self.status})"
