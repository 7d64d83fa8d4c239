"""Customers partner API: identify, track, batch, alias, customers, timeline, consent, privacy.

Thin doors: bodies of the ingest endpoints are decoded and validated with msgspec (fast, and
the one definition of the contract), then handed to one service each.
"""

import msgspec
from django.db.models import prefetch_related_objects
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.authentication import ApiClient
from core.api.pagination import NewestFirstCursorPagination
from core.api.parsers import check_json_body
from core.models import AuditAction
from core.services import audit
from customers.errors import CustomerNotFound
from customers.payloads import AliasIn, BatchIn, IdentifyIn, TrackIn, decode
from customers.selectors import (
    consent_history,
    current_consents,
    customer_by_public_id,
    customer_for_identity,
    customers_list,
    parse_identity_or_error,
    search_customers,
    stay_by_channels_used,
    timeline_for,
)
from customers.services import (
    erase_customer,
    export_customer,
    ingest_batch,
    record_consent,
    resolve_customer,
    track_event,
)
from customers.services.identities import ChannelLookup, identity_keys

from . import serializers as s

READ = "customers.view_customer"
WRITE = "customers.change_customer"


def source_of(request) -> str:
    """Who sent it: the partner's key name, or the staff user."""
    if isinstance(request.user, ApiClient):
        return request.user.api_key.name
    return f"staff:{request.user.get_username()}"


def default_channel_of(request):
    if isinstance(request.user, ApiClient):
        return request.user.api_key.channel
    return None


def body_of(request, type_):
    # A batch judges each item alone: ingest_batch refuses the item holding a NUL.
    check_json_body(request.body, nul_allowed=type_ is BatchIn)
    try:
        return decode(request.body, type_)
    except msgspec.DecodeError as error:
        raise exceptions.ParseError(f"Malformed JSON: {error}") from None


def with_identities(customer):
    """A live customer a service just returned, with its identities loaded in one query."""
    prefetch_related_objects([customer], "identities")
    return customer


def customer_by_public_id_prefetched(public_id):
    """The live customer (following merges), with identities loaded for the serializer."""
    return customers_list().get(pk=customer_by_public_id(public_id).pk)


class IngestView(APIView):
    required_scopes = {"POST": "customers:write"}
    staff_permissions = {"read": READ, "write": WRITE}


class IdentifyView(IngestView):
    """Name a person by their identities (and traits): returns the one customer they are,
    created or merged as the identity rules say."""

    @extend_schema(request=s.IdentifyRequestSerializer, responses=s.CustomerEnvelopeSerializer)
    def post(self, request):
        payload = body_of(request, IdentifyIn)
        channel = ChannelLookup(default=default_channel_of(request))(payload.channel)
        customer = resolve_customer(
            payload.identities, traits=payload.traits, channel=channel, source=source_of(request)
        )
        return Response({"customer": s.CustomerSerializer(with_identities(customer)).data})


class TrackView(IngestView):
    """Record one event on the person's timeline. A repeated message_id stores nothing."""

    @extend_schema(request=s.TrackRequestSerializer, responses=s.TrackResponseSerializer)
    def post(self, request):
        payload = body_of(request, TrackIn)
        channel = ChannelLookup(default=default_channel_of(request))(payload.channel)
        event, created = track_event(
            payload.identities,
            payload.event,
            properties=payload.properties,
            channel=channel,
            occurred_at=payload.occurred_at,
            message_id=payload.message_id,
            source=source_of(request),
        )
        return Response(
            {
                "status": "ok" if created else "duplicate",
                "customer": s.CustomerSerializer(with_identities(event.customer)).data,
                "event": s.EventSerializer(event).data,
            }
        )


class BatchView(IngestView):
    """Up to 1,000 identify/track items at once, processed in bulk. One result per item, by
    index; a bad item gets an error and never costs the good ones."""

    @extend_schema(request=s.BatchRequestSerializer, responses=s.BatchResponseSerializer)
    def post(self, request):
        payload = body_of(request, BatchIn)
        results = ingest_batch(
            payload.items, source=source_of(request), default_channel=default_channel_of(request)
        )
        counts = {"ok": 0, "duplicate": 0, "error": 0}
        stored = 0
        body = []
        for result in results:
            counts[result.status] += 1
            if result.status == "ok" and result.event_id:
                stored += 1
            body.append(result.as_dict())
        document = {
            "results": body,
            "stored": stored,
            "duplicates": counts["duplicate"],
            "errors": counts["error"],
        }
        # Always JSON: msgspec writes a thousand results in a fraction of the time DRF's
        # renderer takes (BatchResponseSerializer documents the same shape).
        return HttpResponse(_encode_json(document), content_type="application/json")


def _encode_json(document) -> bytes:
    # Error messages may be lazy translations; they render as the active language's text.
    return msgspec.json.encode(document, enc_hook=str)


class AliasView(IngestView):
    """Link an identity (typically a cookie) to a person we already know by another one."""

    @extend_schema(request=s.AliasRequestSerializer, responses=s.CustomerEnvelopeSerializer)
    def post(self, request):
        payload = body_of(request, AliasIn)
        (known,) = identity_keys([payload.identity], field="identity")
        identity_keys([payload.alias], field="alias")  # names the field if the alias is bad
        if customer_for_identity(known) is None:
            raise CustomerNotFound(
                "No customer has this identity.", fields={"identity": ["Unknown identity."]}
            )
        channel = ChannelLookup(default=default_channel_of(request))(payload.channel)
        customer = resolve_customer(
            [payload.identity, payload.alias], channel=channel, source=source_of(request)
        )
        return Response({"customer": s.CustomerSerializer(with_identities(customer)).data})


class CustomerListView(generics.ListAPIView):
    """Customers, newest first. `?identity=kind:value` finds one by any identity, normalised
    as on input (`email:Sara@Example.com`, `phone:0912 123 4567`,
    `external_id:shopify:42`); `?q=` searches names, emails, phones and identity values."""

    serializer_class = s.CustomerSerializer
    scope_area = "customers"
    staff_permissions = {"read": READ}
    filter_backends = []

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "identity", str, description="kind:value, e.g. email:sara@example.com"
            ),
            OpenApiParameter("q", str, description="Name, email, phone or any identity value."),
            OpenApiParameter("is_anonymous", bool),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        customers = customers_list()
        if params.get("identity"):
            key = parse_identity_or_error(params["identity"])
            customers = customers.filter(
                identities__kind=key.kind,
                identities__value=key.value,
                identities__partner=key.partner,
            )
        if params.get("q"):
            customers = search_customers(params["q"])
        if params.get("is_anonymous") in ("true", "false"):
            customers = customers.filter(is_anonymous=params["is_anonymous"] == "true")
        return customers


class CustomerDetailView(generics.RetrieveAPIView):
    """One customer. The id of a merged profile answers with the profile it was merged into."""

    serializer_class = s.CustomerSerializer
    scope_area = "customers"
    staff_permissions = {"read": READ}
    lookup_field = "public_id"

    def get_object(self):
        customer = customer_by_public_id_prefetched(self.kwargs["public_id"])
        audit.record(AuditAction.API_READ, customer.public_id, detail={"read": "profile"})
        return customer


class TimelinePagination(NewestFirstCursorPagination):
    ordering = ("-occurred_at", "-id")
    page_size = 50


class TimelineView(generics.ListAPIView):
    """Every event of the customer across channels, newest first, cursor paged."""

    serializer_class = s.EventSerializer
    pagination_class = TimelinePagination
    scope_area = "customers"
    staff_permissions = {"read": READ}
    filter_backends = []

    @extend_schema(
        parameters=[
            OpenApiParameter("channel", str, description="A channel kind or code."),
            OpenApiParameter("name", str, description="An event name."),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        customer = customer_by_public_id(self.kwargs["public_id"])
        audit.record(AuditAction.API_READ, customer.public_id, detail={"read": "timeline"})
        params = self.request.query_params
        return timeline_for(customer, channel=params.get("channel"), name=params.get("name"))


class ConsentView(APIView):
    """The consent in force per channel kind and purpose (latest wins) and the history;
    POST appends a decision."""

    scope_area = "customers"
    staff_permissions = {"read": READ, "write": WRITE}

    def _body(self, customer):
        return {
            "current": s.ConsentSerializer(current_consents(customer), many=True).data,
            "history": s.ConsentSerializer(consent_history(customer), many=True).data,
        }

    @extend_schema(responses=s.ConsentsSerializer)
    def get(self, request, public_id):
        return Response(self._body(customer_by_public_id(public_id)))

    @extend_schema(request=s.ConsentWriteSerializer, responses={201: s.ConsentsSerializer})
    def post(self, request, public_id):
        customer = customer_by_public_id(public_id)
        serializer = s.ConsentWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        record_consent(
            customer,
            channel_kind=data["channel"],
            purpose=data["purpose"],
            granted=data["status"] == "granted",
            source=data.get("source") or source_of(request),
            recorded_at=data.get("recorded_at"),
        )
        return Response(self._body(customer), status=status.HTTP_201_CREATED)


class ExportView(APIView):
    """Everything held about the customer, across all apps, as one JSON document."""

    required_scopes = {"POST": "customers:write"}
    staff_permissions = {"write": WRITE}

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, public_id):
        customer = customer_by_public_id(public_id)
        document = export_customer(
            customer, requested_by=_staff_of(request), source=source_of(request)
        )
        response = Response(document)
        response["Content-Disposition"] = (
            f'attachment; filename="customer-{customer.public_id}.json"'
        )
        return response


class EraseView(APIView):
    """Remove the customer's personal data across all apps (anonymised aggregates stay)."""

    required_scopes = {"POST": "customers:write"}
    staff_permissions = {"write": "customers.delete_customer"}

    @extend_schema(request=None, responses=s.ErasedSerializer)
    def post(self, request, public_id):
        customer = customer_by_public_id(public_id)
        erasure = erase_customer(
            customer, requested_by=_staff_of(request), source=source_of(request)
        )
        customer = customer_by_public_id_prefetched(customer.public_id)
        return Response(
            {"customer": s.CustomerSerializer(customer).data, "erased_at": erasure.created_at}
        )


def _staff_of(request):
    return None if isinstance(request.user, ApiClient) else request.user


class ChannelsAndLoyaltyView(APIView):
    """Do customers who use more channels stay longer? Known customers by the number of
    kinds of channel they used, with their average time as customers, how many were seen
    in the last `active_days` days (default 90) and their average orders."""

    scope_area = "customers"
    staff_permissions = {"read": READ}

    @extend_schema(
        parameters=[OpenApiParameter("active_days", int, default=90)],
        responses={200: s.ChannelsAndLoyaltyOut},
    )
    def get(self, request):
        raw = request.query_params.get("active_days", "90")
        if not raw.isdigit() or not 1 <= int(raw) <= 3650:
            raise exceptions.ValidationError(
                {"active_days": ["A whole number of days, 1 to 3650."]}
            )
        active_days = int(raw)
        rows = stay_by_channels_used(active_days=active_days)
        return Response(
            {
                "active_days": active_days,
                "results": [
                    {
                        "channels": row["group"],
                        "customers": row["customers"],
                        "average_days_as_customer": row["stay_days"],
                        "active": row["active"],
                        "average_orders": float(row["orders"] or 0),
                    }
                    for row in rows
                ],
            }
        )
