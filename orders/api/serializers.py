"""Shapes of the orders API: strict inputs (unknown fields refused by name) and outputs."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.serializers import StrictSerializer
from orders.models import (
    Cart,
    CartLine,
    FulfilmentMethod,
    Order,
    OrderLine,
    OrderStatus,
    PaymentStatus,
    Return,
    ReturnLine,
    ReturnReason,
)


@extend_schema_field(OpenApiTypes.STR)
class MoneyAmountField(serializers.Field):
    """Money as a decimal string ("120.00"); the currency is a sibling field."""

    def to_representation(self, value):
        return f"{value.amount:.2f}"


@extend_schema_field(
    {
        "type": "string",
        "description": "defect, size, colour or changed_mind (defect goes to damaged stock)",
    }
)
class ReturnReasonField(serializers.ChoiceField):
    """A return reason. Documented as a string (not a named enum) so it never collides
    with inventory's movement `reason` in the schema."""

    def __init__(self, **kwargs):
        super().__init__(ReturnReason.choices, **kwargs)


# --- inputs -------------------------------------------------------------------------


class ShopperIdentityIn(StrictSerializer):
    kind = serializers.CharField()
    value = serializers.CharField()
    partner = serializers.CharField(required=False, allow_blank=True)
    verified = serializers.BooleanField(required=False)


class OrderCustomerIn(StrictSerializer):
    identities = ShopperIdentityIn(many=True)
    traits = serializers.DictField(required=False)


class OrderShippingIn(StrictSerializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=40)
    address = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    city = serializers.CharField(required=False, allow_blank=True, max_length=100)
    postcode = serializers.CharField(required=False, allow_blank=True, max_length=20)
    country = serializers.CharField(required=False, allow_blank=True, max_length=2)


class OrderLineIn(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=10000)
    fulfilment_method = serializers.ChoiceField(FulfilmentMethod.choices, required=False)
    store = serializers.CharField(required=False, allow_blank=True, max_length=40)


class OrderIn(StrictSerializer):
    external_id = serializers.CharField(required=False, allow_blank=True, max_length=120)
    channel = serializers.CharField(
        required=False, max_length=50, help_text="Channel code; defaults to the API key's channel."
    )
    customer = OrderCustomerIn(required=False)
    customer_id = serializers.UUIDField(required=False)
    lines = OrderLineIn(many=True)
    fulfilment_method = serializers.ChoiceField(
        FulfilmentMethod.choices, required=False, default=FulfilmentMethod.SHIP
    )
    store = serializers.CharField(required=False, allow_blank=True, max_length=40)
    shipping = OrderShippingIn(required=False)
    coupon_code = serializers.CharField(required=False, allow_blank=True, max_length=60)
    payment_status = serializers.ChoiceField(
        PaymentStatus.choices, required=False, default=PaymentStatus.PENDING
    )
    payment_reference = serializers.CharField(required=False, allow_blank=True, max_length=120)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    def validate_lines(self, lines):
        if not lines:
            raise serializers.ValidationError("An order needs at least one line.")
        return lines

    def validate(self, data):
        if not data.get("customer") and not data.get("customer_id"):
            raise serializers.ValidationError(
                {"customer": ["Give customer (identities) or customer_id."]}
            )
        return data


class OrderStatusIn(StrictSerializer):
    status = serializers.ChoiceField(OrderStatus.choices)
    channel = serializers.CharField(required=False, max_length=50)
    note = serializers.CharField(required=False, allow_blank=True, max_length=255)


class OrderPaymentIn(StrictSerializer):
    payment_status = serializers.ChoiceField(PaymentStatus.choices)
    payment_reference = serializers.CharField(required=False, allow_blank=True, max_length=120)


class OrderFulfilmentIn(StrictSerializer):
    lines = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        help_text="Line ids to hand over; all open lines when left out.",
    )
    parts = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**62),
        required=False,
        help_text="Part ids of split lines to hand over on their own (see lines[].parts).",
    )
    channel = serializers.CharField(required=False, max_length=50)
    carrier = serializers.CharField(required=False, allow_blank=True, max_length=80)
    tracking_number = serializers.CharField(required=False, allow_blank=True, max_length=120)


class OrderAddLineIn(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=10000, default=1)
    channel = serializers.CharField(
        max_length=50, help_text="Where the change was asked, e.g. phone."
    )
    fulfilment_method = serializers.ChoiceField(FulfilmentMethod.choices, required=False)
    store = serializers.CharField(required=False, allow_blank=True, max_length=40)


class OrderChangeLineIn(StrictSerializer):
    sku = serializers.CharField(max_length=64, help_text="The new variant.")
    channel = serializers.CharField(max_length=50)


class ReturnLineIn(StrictSerializer):
    line_id = serializers.IntegerField(required=False, min_value=1)
    sku = serializers.CharField(required=False, max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=10000, default=1)
    reason = ReturnReasonField()

    def validate(self, data):
        if not data.get("line_id") and not data.get("sku"):
            raise serializers.ValidationError({"line_id": ["Give line_id or sku."]})
        return data


class ReturnIn(StrictSerializer):
    order = serializers.CharField(max_length=20, help_text="Order number, e.g. W-100123.")
    channel = serializers.CharField(max_length=50)
    location = serializers.CharField(required=False, allow_blank=True, max_length=40)
    receive = serializers.BooleanField(
        default=False, help_text="The goods are here now (a store counter): receive at once."
    )
    lines = ReturnLineIn(many=True, allow_empty=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ReturnReceiveIn(StrictSerializer):
    location = serializers.CharField(required=False, allow_blank=True, max_length=40)
    channel = serializers.CharField(required=False, max_length=50)


class ExchangeNewLineIn(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=10000, default=1)


class ExchangeIn(StrictSerializer):
    order = serializers.CharField(max_length=20)
    channel = serializers.CharField(max_length=50)
    location = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=40,
        help_text="The store counter: goods received and new goods taken there at once.",
    )
    return_lines = ReturnLineIn(many=True, allow_empty=False)
    new_lines = ExchangeNewLineIn(many=True, allow_empty=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ReplacementLineIn(StrictSerializer):
    line_id = serializers.IntegerField(required=False, min_value=1)
    sku = serializers.CharField(required=False, max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=10000, default=1)

    def validate(self, data):
        if not data.get("line_id") and not data.get("sku"):
            raise serializers.ValidationError({"line_id": ["Give line_id or sku."]})
        return data


class ReplacementIn(StrictSerializer):
    order = serializers.CharField(max_length=20)
    channel = serializers.CharField(max_length=50)
    lines = ReplacementLineIn(many=True, allow_empty=False)
    deliver_to = serializers.CharField(required=False, allow_blank=True, max_length=40)
    scheduled_for = serializers.DateField(required=False)
    carrier = serializers.CharField(required=False, allow_blank=True, max_length=80)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class PickupCollectIn(StrictSerializer):
    location = serializers.CharField(required=False, allow_blank=True, max_length=40)
    channel = serializers.CharField(required=False, max_length=50)


class CartIn(StrictSerializer):
    identities = ShopperIdentityIn(many=True, allow_empty=False)
    channel = serializers.CharField(required=False, max_length=50)


class CartLineIn(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=0, max_value=10000)
    channel = serializers.CharField(required=False, max_length=50)


class OrderQuery(StrictSerializer):
    channel = serializers.CharField(required=False)
    status = serializers.ChoiceField(OrderStatus.choices, required=False)
    method = serializers.ChoiceField(FulfilmentMethod.choices, required=False)
    store = serializers.CharField(required=False)
    customer = serializers.UUIDField(required=False)
    kind = serializers.CharField(required=False)
    page = serializers.IntegerField(required=False)
    page_size = serializers.IntegerField(required=False)
    ordering = serializers.CharField(required=False)


# --- outputs ------------------------------------------------------------------------


class OrderLineTransferOut(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField(help_text="requested, in_transit, received, cancelled")
    locals()["from"] = serializers.CharField(source="from_location.code")
    to = serializers.CharField(source="to_location.code")
    expected_at = serializers.DateTimeField(allow_null=True)


class OrderAlertOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField(help_text="transfer_late, pickup_replanned, pickup_released")
    details = serializers.JSONField()
    created_at = serializers.DateTimeField()


class OrderLinePartOut(serializers.Serializer):
    id = serializers.IntegerField()
    location = serializers.CharField(source="location.code")
    quantity = serializers.IntegerField()
    status = serializers.CharField(help_text="open, fulfilled, released")
    reservation = serializers.IntegerField(source="reservation_id", allow_null=True)


class OrderLineOut(serializers.ModelSerializer):
    unit_price = MoneyAmountField()
    line_total = MoneyAmountField()
    location = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    pickup_location = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    channel = serializers.SlugRelatedField(slug_field="code", read_only=True)
    reservation_status = serializers.SerializerMethodField()
    transfer = serializers.SerializerMethodField()
    parts = OrderLinePartOut(
        many=True,
        read_only=True,
        help_text="A line split across locations: each part's location, units and status.",
    )
    status = serializers.CharField(read_only=True, help_text="open, fulfilled, cancelled, removed")
    fulfilment_method = serializers.CharField(read_only=True)

    class Meta:
        model = OrderLine
        fields = [
            "id",
            "sku",
            "product_name",
            "quantity",
            "quantity_returned",
            "unit_price",
            "line_total",
            "fulfilment_method",
            "location",
            "pickup_location",
            "reservation",
            "reservation_status",
            "transfer",
            "parts",
            "status",
            "channel",
            "replaces_line",
        ]

    def get_reservation_status(self, line) -> str | None:
        return line.reservation.status if line.reservation_id and line.reservation else None

    @extend_schema_field(OrderLineTransferOut(allow_null=True))
    def get_transfer(self, line) -> dict | None:
        """The transfer bringing a pickup's units to the store, newest first."""
        if not line.reservation_id or line.reservation is None:
            return None
        found = list(line.reservation.transfers.all())
        if not found:
            return None
        return OrderLineTransferOut(found[0]).data


class OrderOut(serializers.ModelSerializer):
    channel = serializers.SlugRelatedField(slug_field="code", read_only=True)
    customer_id = serializers.UUIDField(source="customer.public_id", read_only=True)
    store = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    original_order = serializers.SlugRelatedField(
        slug_field="number", read_only=True, allow_null=True
    )
    subtotal = MoneyAmountField()
    discount = MoneyAmountField()
    shipping = MoneyAmountField()
    total = MoneyAmountField()
    refunded = MoneyAmountField()
    lines = OrderLineOut(many=True, read_only=True)
    alerts = serializers.SerializerMethodField(help_text="Open alerts staff must handle.")
    shipping_to = serializers.SerializerMethodField()
    status = serializers.CharField(
        read_only=True,
        help_text="placed, confirmed, partially_fulfilled, fulfilled, completed, cancelled",
    )
    kind = serializers.CharField(read_only=True, help_text="sale, exchange or replacement")
    payment_status = serializers.CharField(read_only=True)
    fulfilment_method = serializers.CharField(read_only=True)

    class Meta:
        model = Order
        fields = [
            "number",
            "external_id",
            "kind",
            "channel",
            "customer_id",
            "status",
            "payment_status",
            "payment_reference",
            "currency",
            "subtotal",
            "discount",
            "shipping",
            "total",
            "refunded",
            "coupon_code",
            "fulfilment_method",
            "store",
            "shipping_to",
            "notes",
            "original_order",
            "placed_at",
            "confirmed_at",
            "fulfilled_at",
            "completed_at",
            "cancelled_at",
            "lines",
            "alerts",
        ]

    @extend_schema_field(OrderAlertOut(many=True))
    def get_alerts(self, order) -> list:
        return OrderAlertOut(
            [alert for alert in order.alerts.all() if alert.resolved_at is None], many=True
        ).data

    def get_shipping_to(self, order) -> dict:
        return {
            "name": order.shipping_name,
            "phone": order.shipping_phone,
            "address": order.shipping_address,
            "city": order.shipping_city,
            "postcode": order.shipping_postcode,
            "country": order.shipping_country,
        }


class OrderFulfilmentOut(serializers.Serializer):
    id = serializers.IntegerField()
    location = serializers.CharField(source="location.code", allow_null=True)
    method = serializers.CharField()
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    created_at = serializers.DateTimeField()


class ReturnLineOut(serializers.ModelSerializer):
    sku = serializers.CharField(source="order_line.sku", read_only=True)
    line_id = serializers.IntegerField(source="order_line_id", read_only=True)
    refund_amount = MoneyAmountField()
    reason = serializers.CharField(read_only=True, help_text="defect, size, colour or changed_mind")

    class Meta:
        model = ReturnLine
        fields = ["line_id", "sku", "quantity", "reason", "restock", "refund_amount"]


class ReturnOut(serializers.ModelSerializer):
    order = serializers.SlugRelatedField(slug_field="number", read_only=True)
    channel = serializers.SlugRelatedField(slug_field="code", read_only=True)
    location = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    refund_amount = MoneyAmountField()
    currency = serializers.CharField(source="order.currency", read_only=True)
    lines = ReturnLineOut(many=True, read_only=True)
    pickup = serializers.SerializerMethodField()
    exchange_order = serializers.SerializerMethodField()
    replacement_order = serializers.SerializerMethodField()
    status = serializers.CharField(read_only=True, help_text="requested, received, cancelled")
    kind = serializers.CharField(read_only=True, help_text="return, exchange or replacement")

    class Meta:
        model = Return
        fields = [
            "number",
            "order",
            "kind",
            "channel",
            "location",
            "status",
            "refund_amount",
            "currency",
            "note",
            "created_at",
            "received_at",
            "lines",
            "pickup",
            "exchange_order",
            "replacement_order",
        ]

    def get_pickup(self, ret) -> dict | None:
        pickup = getattr(ret, "courier_pickup", None)
        if pickup is None:
            return None
        return {
            "id": pickup.pk,
            "status": pickup.status,
            "deliver_to": pickup.deliver_to.code if pickup.deliver_to else None,
            "scheduled_for": pickup.scheduled_for.isoformat() if pickup.scheduled_for else None,
        }

    def get_exchange_order(self, ret) -> str | None:
        exchange = getattr(ret, "exchange", None)
        return exchange.new_order.number if exchange else None

    def get_replacement_order(self, ret) -> str | None:
        replacement = getattr(ret, "replacement", None)
        return replacement.new_order.number if replacement else None


class CartLineOut(serializers.ModelSerializer):
    sku = serializers.CharField(source="variant.sku", read_only=True)
    unit_price = MoneyAmountField()
    channel = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = CartLine
        fields = ["sku", "quantity", "unit_price", "channel", "added_at"]


class CartOut(serializers.ModelSerializer):
    customer_id = serializers.UUIDField(source="customer.public_id", read_only=True)
    channel = serializers.SlugRelatedField(slug_field="code", read_only=True)
    last_channel = serializers.SlugRelatedField(slug_field="code", read_only=True)
    converted_order = serializers.SlugRelatedField(
        slug_field="number", read_only=True, allow_null=True
    )
    lines = CartLineOut(many=True, read_only=True)
    total = serializers.SerializerMethodField()
    status = serializers.CharField(read_only=True, help_text="active, abandoned or converted")

    class Meta:
        model = Cart
        fields = [
            "id",
            "customer_id",
            "channel",
            "last_channel",
            "status",
            "currency",
            "total",
            "created_at",
            "last_activity_at",
            "abandoned_at",
            "converted_order",
            "lines",
        ]

    def get_total(self, cart) -> str:
        total = sum(line.unit_price.amount * line.quantity for line in cart.lines.all())
        return f"{total:.2f}"


class ReturnReasonCountOut(serializers.Serializer):
    reason = serializers.CharField()
    units = serializers.IntegerField()


class ReturnedProductOut(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    sold = serializers.IntegerField(help_text="Units sold on sale orders in the period.")
    returned = serializers.IntegerField(help_text="Of those, units that came back.")
    rate = serializers.FloatField(help_text="returned / sold")
    reasons = ReturnReasonCountOut(many=True)


class ReturnedProductsOut(serializers.Serializer):
    days = serializers.IntegerField()
    results = ReturnedProductOut(many=True)
