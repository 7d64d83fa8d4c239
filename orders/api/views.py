"""Orders partner API: orders from any channel (idempotent creation, filters, status,
fulfilments, edits), returns, exchanges, replacements and courier pickups, carts. Thin:
parse, call one service, shape the answer."""

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.authentication import ApiClient
from customers.selectors import (
    customer_by_public_id,
    customer_for_identity,
    parse_identity_or_error,
)
from customers.services import resolve_customer
from orders import selectors, services
from orders.api import serializers as s
from orders.errors import OrderError
from orders.models import Cart, CourierPickup, Order, Return
from orders.services.common import channel_of

READ = "orders.view_order"
WRITE = "orders.change_order"


class OrdersDoor:
    scope_area = "orders"
    staff_permissions = {"read": READ, "write": WRITE}


def staff_of(request):
    return None if isinstance(request.user, ApiClient) else request.user


def channel_for(request, code, *, field="channel"):
    """The channel named in the body, else the API key's own channel."""
    if code:
        return channel_of(code, field=field)
    if isinstance(request.user, ApiClient) and request.user.api_key.channel_id:
        return request.user.api_key.channel
    raise OrderError(
        "Name the channel.", fields={field: ["Required (this API key has no channel)."]}
    )


def parse(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def order_or_404(number, *, lock=False) -> Order:
    order = selectors.order_by_number(number)
    if order is None:
        raise Http404
    return order


def order_for_body(number) -> Order:
    order = selectors.order_by_number(number)
    if order is None:
        raise OrderError(f"No order has the number {number}.", fields={"order": ["Unknown order."]})
    return order


def fresh(order) -> dict:
    return s.OrderOut(selectors.order_by_number(order.number)).data


def customer_from(data, channel):
    if data.get("customer_id"):
        return customer_by_public_id(data["customer_id"])
    body = data["customer"]
    return resolve_customer(
        body["identities"], traits=body.get("traits") or None, channel=channel, source="orders-api"
    )


@extend_schema(
    parameters=[
        OpenApiParameter("channel", str, description="Channel code"),
        OpenApiParameter("status", str),
        OpenApiParameter("method", str, description="Fulfilment method of the order or a line"),
        OpenApiParameter("store", str, description="Location code of the order or a line"),
        OpenApiParameter("customer", str, description="Customer public id"),
        OpenApiParameter("kind", str, description="sale, exchange or replacement"),
    ]
)
class OrderListView(OrdersDoor, generics.ListCreateAPIView):
    """List orders from every channel (filters: channel, status, method, store, customer,
    kind), or create one from any channel. Creation is idempotent by `external_id` per channel
    (the first order is answered with 200) and by the Idempotency-Key header."""

    serializer_class = s.OrderOut
    filter_backends = []

    def get_queryset(self):
        query = s.OrderQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        customer = customer_by_public_id(params["customer"]) if params.get("customer") else None
        return selectors.with_lines(
            selectors.orders_list(
                channel=params.get("channel"),
                status=params.get("status"),
                method=params.get("method"),
                store=params.get("store"),
                customer=customer,
                kind=params.get("kind"),
            )
        )

    @extend_schema(request=s.OrderIn, responses={201: s.OrderOut, 200: s.OrderOut})
    def post(self, request):
        data = parse(s.OrderIn, request)
        channel = channel_for(request, data.get("channel"))
        existing = services.placing.existing_order(channel, (data.get("external_id") or "").strip())
        if existing is not None:
            return Response(fresh(existing), status=status.HTTP_200_OK)
        customer = customer_from(data, channel)
        placed = services.place_order(
            customer=customer,
            channel=channel,
            lines=[dict(line) for line in data["lines"]],
            external_id=data.get("external_id", ""),
            fulfilment_method=data.get("fulfilment_method"),
            store=data.get("store") or None,
            shipping=dict(data.get("shipping") or {}),
            coupon_code=data.get("coupon_code", ""),
            payment_status=data.get("payment_status"),
            payment_reference=data.get("payment_reference", ""),
            notes=data.get("notes", ""),
            placed_by=staff_of(request),
        )
        code = status.HTTP_201_CREATED if placed.created else status.HTTP_200_OK
        return Response(fresh(placed.order), status=code)


class OrderDetailView(OrdersDoor, generics.RetrieveAPIView):
    """One order with its lines (and their stock reservations)."""

    serializer_class = s.OrderOut
    lookup_field = "number"

    def get_object(self):
        return order_or_404(self.kwargs["number"])


class OrderStatusView(OrdersDoor, APIView):
    """Move the order: confirmed, fulfilled (every open line handed over), completed or
    cancelled (stock and coupon released). Illegal moves get 409 illegal_transition."""

    @extend_schema(request=s.OrderStatusIn, responses={200: s.OrderOut})
    def post(self, request, number):
        data = parse(s.OrderStatusIn, request)
        order = order_or_404(number)
        channel = channel_of(data["channel"]) if data.get("channel") else None
        services.set_status(
            order, data["status"], channel=channel, by=staff_of(request), note=data.get("note", "")
        )
        return Response(fresh(order))


class OrderPaymentView(OrdersDoor, APIView):
    """Record the payment status a payment partner reports (no gateway here)."""

    @extend_schema(request=s.OrderPaymentIn, responses={200: s.OrderOut})
    def post(self, request, number):
        data = parse(s.OrderPaymentIn, request)
        order = order_or_404(number)
        services.record_payment(
            order, status=data["payment_status"], reference=data.get("payment_reference", "")
        )
        return Response(fresh(order))


class OrderFulfilmentView(OrdersDoor, APIView):
    """Hand over lines (all open ones by default): their reserved units become sales."""

    @extend_schema(request=s.OrderFulfilmentIn, responses={201: s.OrderFulfilmentOut(many=True)})
    def post(self, request, number):
        data = parse(s.OrderFulfilmentIn, request)
        order = order_or_404(number)
        fulfilments = services.fulfil(
            order,
            line_ids=data.get("lines"),
            part_ids=data.get("parts"),
            channel=channel_of(data["channel"]) if data.get("channel") else None,
            by=staff_of(request),
            carrier=data.get("carrier", ""),
            tracking_number=data.get("tracking_number", ""),
        )
        return Response(
            s.OrderFulfilmentOut(fulfilments, many=True).data, status=status.HTTP_201_CREATED
        )


class OrderLinesView(OrdersDoor, APIView):
    """Add a line to an open order (a phone call: "add the red pair too"); stock is reserved."""

    @extend_schema(request=s.OrderAddLineIn, responses={201: s.OrderOut})
    def post(self, request, number):
        data = parse(s.OrderAddLineIn, request)
        order = order_or_404(number)
        services.add_line(
            order,
            sku=data["sku"],
            quantity=data["quantity"],
            channel=data["channel"],
            method=data.get("fulfilment_method"),
            store=data.get("store") or None,
            by=staff_of(request),
        )
        return Response(fresh(order), status=status.HTTP_201_CREATED)


class OrderLineView(OrdersDoor, APIView):
    """Change an open line's variant (PATCH) or remove it (DELETE, body {channel}); stock
    follows."""

    @extend_schema(request=s.OrderChangeLineIn, responses={200: s.OrderOut})
    def patch(self, request, number, line_id):
        data = parse(s.OrderChangeLineIn, request)
        order = order_or_404(number)
        services.change_variant(
            order, line_id=line_id, sku=data["sku"], channel=data["channel"], by=staff_of(request)
        )
        return Response(fresh(order))

    @extend_schema(
        parameters=[OpenApiParameter("channel", str, required=True)],
        request=None,
        responses={200: s.OrderOut},
    )
    def delete(self, request, number, line_id):
        order = order_or_404(number)
        channel = channel_for(request, request.query_params.get("channel"))
        services.remove_line(order, line_id=line_id, channel=channel, by=staff_of(request))
        return Response(fresh(order))


def _return_lines(order, lines, *, with_reason=True):
    """line_id as given, or the order's fulfilled line of the SKU with units left."""
    items = []
    for index, line in enumerate(lines):
        line_id = line.get("line_id")
        if not line_id:
            found = services.line_of(order, line["sku"])
            if found is None:
                raise OrderError(
                    f"Order {order.number} has no line of {line['sku']}.",
                    fields={f"lines.{index}.sku": ["Not in this order."]},
                )
            line_id = found.pk
        item = {"line_id": line_id, "quantity": line["quantity"]}
        if with_reason:
            item["reason"] = line["reason"]
        items.append(item)
    return items


def returns_queryset():
    return selectors.returns_list().select_related(
        "courier_pickup__deliver_to", "exchange__new_order", "replacement__new_order"
    )


@extend_schema(
    parameters=[
        OpenApiParameter("channel", str),
        OpenApiParameter("status", str),
        OpenApiParameter("kind", str),
        OpenApiParameter("location", str),
    ]
)
class ReturnListView(OrdersDoor, generics.ListCreateAPIView):
    """Returns from any channel (the goods may come back at a store for a web order). With
    `receive: true` the goods are taken at `location` at once, stock and refund included."""

    serializer_class = s.ReturnOut
    filter_backends = []

    def get_queryset(self):
        params = self.request.query_params
        return selectors.returns_list(
            channel=params.get("channel"),
            status=params.get("status"),
            kind=params.get("kind"),
            location=params.get("location"),
        ).select_related(
            "courier_pickup__deliver_to", "exchange__new_order", "replacement__new_order"
        )

    @extend_schema(request=s.ReturnIn, responses={201: s.ReturnOut})
    def post(self, request):
        data = parse(s.ReturnIn, request)
        order = order_for_body(data["order"])
        ret = services.create_return(
            order,
            lines=_return_lines(order, data["lines"]),
            channel=channel_for(request, data["channel"]),
            location=data.get("location") or None,
            receive=data["receive"],
            note=data.get("note", ""),
            by=staff_of(request),
        )
        return Response(
            s.ReturnOut(returns_queryset().get(pk=ret.pk)).data, status=status.HTTP_201_CREATED
        )


class ReturnDetailView(OrdersDoor, generics.RetrieveAPIView):
    serializer_class = s.ReturnOut

    def get_object(self):
        ret = returns_queryset().filter(number=self.kwargs["number"]).first()
        if ret is None:
            raise Http404
        return ret


class ReturnReceiveView(OrdersDoor, APIView):
    """The goods of a return arrived at a location: stock back, or to the damaged state."""

    @extend_schema(request=s.ReturnReceiveIn, responses={200: s.ReturnOut})
    def post(self, request, number):
        data = parse(s.ReturnReceiveIn, request)
        ret = Return.objects.filter(number=number).first()
        if ret is None:
            raise Http404
        services.receive_return(
            ret,
            location=data.get("location") or None,
            channel=data.get("channel"),
            by=staff_of(request),
        )
        return Response(s.ReturnOut(returns_queryset().get(pk=ret.pk)).data)


class ExchangeView(OrdersDoor, APIView):
    """An exchange in one step: the return and the new goods (taken at the store counter
    when `location` is given, else shipped)."""

    @extend_schema(request=s.ExchangeIn, responses={201: s.ReturnOut})
    def post(self, request):
        data = parse(s.ExchangeIn, request)
        order = order_for_body(data["order"])
        record = services.exchange(
            order,
            return_lines=_return_lines(order, data["return_lines"]),
            new_lines=[dict(line) for line in data["new_lines"]],
            channel=channel_for(request, data["channel"]),
            location=data.get("location") or None,
            note=data.get("note", ""),
            by=staff_of(request),
        )
        return Response(
            s.ReturnOut(returns_queryset().get(pk=record.return_request_id)).data,
            status=status.HTTP_201_CREATED,
        )


class ReplacementView(OrdersDoor, APIView):
    """A replacement for a defect: a zero-price order shipped to the customer and a courier
    pickup of the defective goods."""

    @extend_schema(request=s.ReplacementIn, responses={201: s.ReturnOut})
    def post(self, request):
        data = parse(s.ReplacementIn, request)
        order = order_for_body(data["order"])
        lines = _return_lines(order, [{**line, "reason": "defect"} for line in data["lines"]])
        replacement = services.create_replacement(
            order,
            lines=lines,
            channel=channel_for(request, data["channel"]),
            deliver_to=data.get("deliver_to") or None,
            scheduled_for=data.get("scheduled_for"),
            carrier=data.get("carrier", ""),
            note=data.get("note", ""),
            by=staff_of(request),
        )
        return Response(
            s.ReturnOut(returns_queryset().get(pk=replacement.return_request_id)).data,
            status=status.HTTP_201_CREATED,
        )


class PickupCollectView(OrdersDoor, APIView):
    """The courier collected the goods: the return is received where the pickup delivers."""

    @extend_schema(request=s.PickupCollectIn, responses={200: s.ReturnOut})
    def post(self, request, pickup_id):
        data = parse(s.PickupCollectIn, request)
        pickup = CourierPickup.objects.filter(pk=pickup_id).first()
        if pickup is None:
            raise Http404
        services.collect_pickup(
            pickup,
            location=data.get("location") or None,
            channel=data.get("channel"),
            by=staff_of(request),
        )
        return Response(s.ReturnOut(returns_queryset().get(pk=pickup.return_request_id)).data)


def carts_queryset():
    return selectors.carts_list()


@extend_schema(
    parameters=[
        OpenApiParameter("customer", str, description="Customer public id"),
        OpenApiParameter("identity", str, description="kind:value, e.g. cookie:abc123"),
        OpenApiParameter("status", str),
    ]
)
class CartListView(OrdersDoor, generics.ListCreateAPIView):
    """Carts. POST names the shopper by identities (a cookie, a device, an email) and answers
    their one active cart, whatever channel it was started in."""

    serializer_class = s.CartOut
    filter_backends = []

    def get_queryset(self):
        params = self.request.query_params
        customer = None
        if params.get("customer"):
            customer = customer_by_public_id(params["customer"])
        elif params.get("identity"):
            customer = customer_for_identity(parse_identity_or_error(params["identity"]))
            if customer is None:
                return Cart.objects.none()
        return selectors.carts_list(customer=customer, status=params.get("status"))

    @extend_schema(request=s.CartIn, responses={200: s.CartOut})
    def post(self, request):
        data = parse(s.CartIn, request)
        channel = channel_for(request, data.get("channel"))
        customer = resolve_customer(data["identities"], channel=channel, source="orders-api")
        cart = services.cart_for(customer, channel)
        return Response(s.CartOut(carts_queryset().get(pk=cart.pk)).data)


class CartDetailView(OrdersDoor, generics.RetrieveAPIView):
    serializer_class = s.CartOut

    def get_queryset(self):
        return carts_queryset()


class CartLinesView(OrdersDoor, APIView):
    """Set how many of a variant the cart holds (0 removes it), at the channel's price now."""

    @extend_schema(request=s.CartLineIn, responses={200: s.CartOut})
    def post(self, request, pk):
        data = parse(s.CartLineIn, request)
        cart = Cart.objects.select_related("last_channel").filter(pk=pk).first()
        if cart is None:
            raise Http404
        channel = channel_of(data["channel"]) if data.get("channel") else cart.last_channel
        services.set_cart_line(cart, sku=data["sku"], quantity=data["quantity"], channel=channel)
        return Response(s.CartOut(carts_queryset().get(pk=cart.pk)).data)


class ReturnedProductsView(OrdersDoor, APIView):
    """Which variants come back most over the last 30, 90 or 365 days: units sold on sale
    orders in every channel, how many came back (returns, exchanges, replacements), the
    rate and the reasons given, most returned first."""

    @extend_schema(
        parameters=[OpenApiParameter("days", int, enum=list(selectors.RETURN_WINDOWS), default=90)],
        responses={200: s.ReturnedProductsOut},
    )
    def get(self, request):
        raw = request.query_params.get("days", "90")
        if raw not in {str(window) for window in selectors.RETURN_WINDOWS}:
            raise OrderError(
                f"days must be one of {', '.join(map(str, selectors.RETURN_WINDOWS))}.",
                fields={"days": ["One of 30, 90 or 365."]},
            )
        days = int(raw)
        rows = selectors.most_returned_products(days=days)
        return Response(
            {
                "days": days,
                "results": [
                    {
                        **row,
                        "reasons": [
                            {"reason": reason, "units": units} for reason, units in row["reasons"]
                        ],
                    }
                    for row in rows
                ],
            }
        )
