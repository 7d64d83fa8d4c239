"""Inventory API: movement batches from POS and warehouse systems, the ledger, reservations,
available to promise (one SKU or thousands), "why is this 0?", the store locator and the
locations. Thin: parse, call a service or selector, shape the answer."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.selectors import variant_by_sku
from core.api.authentication import ApiClient
from core.api.pagination import NewestFirstCursorPagination
from core.api.serializers import StrictSerializer
from core.selectors import channel_for
from inventory import selectors, services
from inventory.api.serializers import (
    AvailabilityQuerySerializer,
    BulkAvailabilityBody,
    BulkAvailabilityInSerializer,
    ExplainQuerySerializer,
    MovementBatch,
    MovementBatchResultSerializer,
    NearbyQuerySerializer,
    NearbySerializer,
    ReceiptInSerializer,
    StockAvailabilitySerializer,
    StockExplainSerializer,
    StockLocationSerializer,
    StockMovementBatchInSerializer,
    StockMovementSerializer,
    StockReservationInSerializer,
    StockReservationSerializer,
    TransferInSerializer,
    TransferQuerySerializer,
    TransferSerializer,
    decode,
)
from inventory.errors import UnknownChannel, UnknownSku
from inventory.models import Location, MovementReason, Reservation

ERRORS = {
    400: OpenApiResponse(description="Invalid input; `fields` names each offending field."),
    409: OpenApiResponse(description="`insufficient_stock` or `illegal_transition`."),
}


def _channel(code):
    return channel_for(code, error=UnknownChannel)


def _variant(sku):
    variant = variant_by_sku(sku)
    if variant is None:
        raise UnknownSku(f"No variant has the SKU {sku}.", fields={"sku": ["Unknown SKU."]})
    return variant


def _query(serializer_class, request, lists=()):
    data = {key: request.query_params.get(key) for key in request.query_params}
    for key in lists:
        if key in request.query_params:
            data[key] = request.query_params.getlist(key)
    query = serializer_class(data=data)
    query.is_valid(raise_exception=True)
    return query.validated_data


class LedgerQuerySerializer(StrictSerializer):
    sku = serializers.CharField(required=False)
    location = serializers.CharField(required=False)
    reason = serializers.ChoiceField(choices=MovementReason.choices, required=False)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    cursor = serializers.CharField(required=False)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=500)


class StockMovementsView(generics.ListAPIView):
    """The stock ledger (GET, newest first, cursor-paged) and movement batches from store
    and warehouse systems (POST). A batch is applied item by item: unknown SKUs, locations
    or channels are refused with the reason while the rest is applied; replaying a batch
    (same source and idempotency keys) changes nothing; late and out-of-order movements and
    counts give the right level."""

    serializer_class = StockMovementSerializer
    pagination_class = NewestFirstCursorPagination
    filter_backends: list = []
    scope_area = "inventory"
    staff_permissions = {
        "read": "inventory.view_stockmovement",
        "write": "inventory.add_stockmovement",
    }

    def get_queryset(self):
        query = _query(LedgerQuerySerializer, self.request)
        location = None
        if query.get("location"):
            location = Location.objects.filter(code=query["location"]).first()
            if location is None:
                return selectors.ledger().none()
        return selectors.ledger(
            location=location,
            sku=query.get("sku"),
            reason=query.get("reason"),
            since=query.get("since"),
            until=query.get("until"),
        )

    @extend_schema(parameters=[LedgerQuerySerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=StockMovementBatchInSerializer,
        responses={200: MovementBatchResultSerializer, 400: ERRORS[400]},
    )
    def post(self, request, *args, **kwargs):
        batch = decode(request.body, MovementBatch)
        default_channel = None
        if isinstance(request.user, ApiClient) and request.user.api_key.channel_id:
            default_channel = request.user.api_key.channel.code
        items = [
            services.MovementInput(
                sku=item.sku,
                location=item.location,
                reason=item.reason,
                idempotency_key=item.idempotency_key,
                occurred_at=item.occurred_at,
                quantity=item.quantity,
                counted_quantity=item.counted_quantity,
                channel=item.channel or default_channel,
                reference=item.reference,
                note=item.note,
                source=item.source,
            )
            for item in batch.movements
        ]
        results = services.record_movements(items)
        statuses = [r.status for r in results]
        return Response(
            {
                "applied": statuses.count("applied"),
                "duplicates": statuses.count("duplicate"),
                "refused": statuses.count("refused"),
                "results": [r.as_dict() for r in results],
            }
        )


class ReservationCreateView(APIView):
    """Hold units of a SKU at a location, or where the channel's rule chooses (priority,
    nearest to lat/lng, most stock), or at a pickup store (its own stock, or by a transfer
    when the channel allows). 409 `insufficient_stock` when not enough is available."""

    scope_area = "inventory"
    staff_permissions = {"read": "inventory.view_reservation", "write": "inventory.add_reservation"}

    @extend_schema(
        request=StockReservationInSerializer,
        responses={201: StockReservationSerializer, 400: ERRORS[400], 409: ERRORS[409]},
    )
    def post(self, request):
        incoming = StockReservationInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        reservation = services.reserve(
            sku=data["sku"],
            quantity=data["quantity"],
            location=data.get("location"),
            channel=data.get("channel"),
            pickup_location=data.get("pickup_location"),
            lat=data.get("lat"),
            lng=data.get("lng"),
            expires_in=data.get("expires_in"),
            reference=data.get("reference", ""),
        )
        return Response(_reservation(reservation.pk), status=status.HTTP_201_CREATED)


def _reservation(pk):
    reservation = get_object_or_404(
        Reservation.objects.select_related("variant", "location", "pickup_location", "channel"),
        pk=pk,
    )
    return StockReservationSerializer(reservation).data


class ReservationDetailView(generics.RetrieveAPIView):
    serializer_class = StockReservationSerializer
    queryset = Reservation.objects.select_related(
        "variant", "location", "pickup_location", "channel"
    )
    scope_area = "inventory"
    staff_permissions = {"read": "inventory.view_reservation"}


class ReservationReleaseView(APIView):
    """Give the held units back. Releasing twice changes nothing."""

    scope_area = "inventory"
    staff_permissions = {"write": "inventory.change_reservation"}

    @extend_schema(request=None, responses={200: StockReservationSerializer, 409: ERRORS[409]})
    def post(self, request, pk):
        services.release(pk)
        return Response(_reservation(pk))


class ReservationConfirmView(APIView):
    """The held units are sold: a sale movement in the ledger. Confirming twice changes
    nothing."""

    scope_area = "inventory"
    staff_permissions = {"write": "inventory.change_reservation"}

    @extend_schema(request=None, responses={200: StockReservationSerializer, 409: ERRORS[409]})
    def post(self, request, pk):
        services.confirm(pk)
        return Response(_reservation(pk))


def _availability(skus, channel_code):
    channel = _channel(channel_code)
    units, unknown = selectors.available_to_promise_by_sku(skus, channel)
    if unknown and not units:
        raise UnknownSku(
            f"No variant has the SKU {unknown[0]}." if len(unknown) == 1 else "No SKU is known.",
            fields={"sku": ["Unknown SKU."]},
        )
    return {
        "channel": channel.code,
        "items": [{"sku": sku, "units": units[sku]} for sku in dict.fromkeys(skus) if sku in units],
        "unknown_skus": unknown,
    }


class AvailabilityView(APIView):
    """Units a channel may promise per SKU: on hand - reserved - safety stock over the
    locations serving the channel, times the channel's share. Repeat `sku` for many."""

    scope_area = "inventory"
    staff_permissions = {"read": "inventory.view_stocklevel"}

    @extend_schema(
        parameters=[AvailabilityQuerySerializer], responses={200: StockAvailabilitySerializer}
    )
    def get(self, request):
        query = _query(AvailabilityQuerySerializer, request, lists=("sku",))
        return Response(_availability(query["sku"], query["channel"]))


class BulkAvailabilityView(APIView):
    """The same for up to 5,000 SKUs in one body."""

    scope_area = "inventory"
    required_scopes = {"POST": "inventory:read"}
    staff_permissions = {"read": "inventory.view_stocklevel", "write": "inventory.view_stocklevel"}

    @extend_schema(
        request=BulkAvailabilityInSerializer, responses={200: StockAvailabilitySerializer}
    )
    def post(self, request):
        body = decode(request.body, BulkAvailabilityBody)
        return Response(_availability(body.skus, body.channel))


class AvailabilityExplainView(APIView):
    """Why a SKU shows the figure it shows on a channel ("why is this 0?"): the reasons and
    each location's part, including stock at locations that do not count and why."""

    scope_area = "inventory"
    staff_permissions = {"read": "inventory.view_stocklevel"}

    @extend_schema(parameters=[ExplainQuerySerializer], responses={200: StockExplainSerializer})
    def get(self, request):
        query = _query(ExplainQuerySerializer, request)
        variant = _variant(query["sku"])
        channel = _channel(query["channel"])
        answer = selectors.why_unavailable(variant, channel)
        data = {"sku": variant.sku, "channel": channel.code, **answer}
        data["reasons"] = [{"code": r.code, "message": r.message} for r in answer["reasons"]]
        return Response(StockExplainSerializer(data).data)


class NearbyStoresView(APIView):
    """Stores that allow pickup and have the SKU available, nearest first, with distance
    (km) and units."""

    scope_area = "inventory"
    staff_permissions = {"read": "inventory.view_stocklevel"}

    @extend_schema(parameters=[NearbyQuerySerializer], responses={200: NearbySerializer})
    def get(self, request):
        query = _query(NearbyQuerySerializer, request)
        variant = _variant(query["sku"])
        channel = _channel(query["channel"]) if query.get("channel") else None
        stores = selectors.stores_nearby(
            variant,
            query["lat"],
            query["lng"],
            limit=query["limit"],
            max_km=query.get("max_km"),
            channel=channel,
        )
        return Response(NearbySerializer({"sku": variant.sku, "stores": stores}).data)


class LocationListView(generics.ListAPIView):
    """Stores, warehouses and dropship suppliers with the channels each serves."""

    serializer_class = StockLocationSerializer
    queryset = (
        Location.objects.select_related("supplied_by")
        .prefetch_related("channels")
        .order_by("priority", "code")
    )
    filterset_fields = ["kind", "city", "country", "allows_pickup", "serves_online", "is_active"]
    ordering_fields = ["code", "name", "priority"]
    scope_area = "inventory"
    staff_permissions = {"read": "inventory.view_location"}


def _transfer(pk):
    transfer = selectors.transfer_detail(pk)
    if transfer is None:
        raise NotFound(_("No transfer %(id)s.") % {"id": pk})
    return TransferSerializer(transfer).data


class TransferListView(generics.ListAPIView):
    """Transfers between locations with their lines (GET, newest first, filtered by status,
    source, destination and SKU) and a new transfer of one or more SKUs (POST; nothing moves
    until it is shipped). Idempotent with an Idempotency-Key."""

    serializer_class = TransferSerializer
    pagination_class = NewestFirstCursorPagination
    filter_backends: list = []
    scope_area = "inventory"
    staff_permissions = {"read": "inventory.view_transfer", "write": "inventory.add_transfer"}

    def get_queryset(self):
        query = _query(TransferQuerySerializer, self.request)
        return selectors.transfers(
            status=query.get("status"),
            from_location=query.get("from"),
            to_location=query.get("to"),
            sku=query.get("sku"),
        )

    @extend_schema(parameters=[TransferQuerySerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=TransferInSerializer,
        responses={201: TransferSerializer, 400: ERRORS[400], 409: ERRORS[409]},
    )
    def post(self, request, *args, **kwargs):
        incoming = TransferInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        transfer = services.create_transfer(
            from_location=data["from"],
            to_location=data["to"],
            lines=[
                services.TransferLineInput(sku=line["sku"], quantity=line["quantity"])
                for line in data["lines"]
            ],
            reference=data.get("reference", ""),
            expected_at=data.get("expected_at"),
        )
        return Response(_transfer(transfer.pk), status=status.HTTP_201_CREATED)


class TransferDetailView(APIView):
    """One transfer with its lines: asked, shipped, received, damaged and still on its way."""

    scope_area = "inventory"
    staff_permissions = {"read": "inventory.view_transfer"}

    @extend_schema(
        responses={200: TransferSerializer, 404: OpenApiResponse(description="No such transfer.")}
    )
    def get(self, request, pk):
        return Response(_transfer(pk))


class TransferShipView(APIView):
    """Every line leaves the source (transfer-out movements); the units are in transit.
    409 when it was already shipped or the source lacks free units."""

    scope_area = "inventory"
    staff_permissions = {"write": "inventory.change_transfer"}

    @extend_schema(request=None, responses={200: TransferSerializer, 409: ERRORS[409]})
    def post(self, request, pk):
        _transfer(pk)
        services.ship(pk)
        return Response(_transfer(pk))


class TransferReceiveView(APIView):
    """A receipt at the destination: per SKU the units received in good condition and the
    damaged ones (written off). Partial receipts keep the transfer in transit; receiving
    more than is on its way is a 400 naming the line."""

    scope_area = "inventory"
    staff_permissions = {"write": "inventory.change_transfer"}

    @extend_schema(
        request=ReceiptInSerializer,
        responses={200: TransferSerializer, 400: ERRORS[400], 409: ERRORS[409]},
    )
    def post(self, request, pk):
        incoming = ReceiptInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        lines = incoming.validated_data.get("lines")
        _transfer(pk)
        services.receive_units(
            pk,
            None
            if lines is None
            else [
                services.ReceiptLineInput(
                    sku=line["sku"], received=line["received"], damaged=line["damaged"]
                )
                for line in lines
            ],
        )
        return Response(_transfer(pk))
