"""Catalog API: products and variants with listings and prices, upserts, price changes,
lookup by SKU or barcode, the channel feeds and catalog imports. Thin: parse, call a service
or selector, shape the answer."""

import hmac

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import feed_formats, import_jobs, selectors, services
from catalog.api.serializers import (
    CatalogImportSerializer,
    ImportRowsSerializer,
    ImportUploadSerializer,
    LookupQuerySerializer,
    PartialPriceInSerializer,
    ProductInSerializer,
    ProductQuerySerializer,
    ProductSerializer,
    VariantListingSerializer,
    VariantQuerySerializer,
    VariantWithProductSerializer,
)
from catalog.errors import (
    FeedNotConfigured,
    FeedNotReady,
    ImportNotFound,
    InvalidProductData,
    VariantNotFound,
)
from catalog.models import CatalogImport, Category, FeedFormat, Product, ProductVariant
from catalog.services import feeds
from catalog.tasks import send_build
from core.api.authentication import ApiClient
from core.api.parsers import JSONParser
from core.api.permissions import HasScope


def _query(serializer_class, request):
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    data = dict(query.validated_data)
    if data.get("channel"):
        data["channel"] = services.channel_by_code(data["channel"])
    if data.get("category"):
        category = Category.objects.filter(slug=data["category"]).first()
        if category is None:
            raise InvalidProductData(
                f"No category with slug {data['category']}.", fields={"category": ["Unknown."]}
            )
        data["category"] = category
    return data


class ProductListView(generics.ListCreateAPIView):
    """Products with variants, listings and per-channel prices. POST creates or updates a
    product by slug (a retry of the same body changes nothing)."""

    serializer_class = ProductSerializer
    scope_area = "catalog"
    staff_permissions = {"read": "catalog.view_product", "write": "catalog.change_product"}
    filter_backends: list = []
    queryset = Product.objects.none()

    def get_queryset(self):
        query = _query(ProductQuerySerializer, self.request)
        products = selectors.products_for_api(
            channel=query.get("channel"),
            category=query.get("category"),
            updated_since=query.get("updated_since"),
        )
        if query.get("q"):
            products = selectors.search_products(query["q"], products)
        return products

    @extend_schema(parameters=[ProductQuerySerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=ProductInSerializer,
        responses={200: ProductSerializer, 201: ProductSerializer},
    )
    def post(self, request, *args, **kwargs):
        incoming = ProductInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        product, created = services.upsert_product(incoming.validated_data)
        product = selectors.products_for_api().get(pk=product.pk)
        return Response(
            ProductSerializer(product).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ProductDetailView(generics.RetrieveAPIView):
    serializer_class = ProductSerializer
    scope_area = "catalog"
    staff_permissions = {"read": "catalog.view_product"}
    queryset = selectors.products_for_api()


class VariantListView(generics.ListAPIView):
    """Variants with their product and per-channel prices."""

    serializer_class = VariantWithProductSerializer
    scope_area = "catalog"
    staff_permissions = {"read": "catalog.view_productvariant"}
    filter_backends: list = []
    queryset = ProductVariant.objects.none()

    def get_queryset(self):
        query = _query(VariantQuerySerializer, self.request)
        return selectors.variants_for_api(**query)

    @extend_schema(parameters=[VariantQuerySerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class VariantLookupView(APIView):
    """The variant whose SKU or barcode is `code` (a POS scan, a marketplace order line)."""

    scope_area = "catalog"
    staff_permissions = {"read": "catalog.view_productvariant"}

    @extend_schema(parameters=[LookupQuerySerializer], responses=VariantWithProductSerializer)
    def get(self, request):
        query = LookupQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        variant = selectors.variant_by_code(query.validated_data["code"])
        if variant is None:
            raise VariantNotFound(f"No variant has SKU or barcode {query.validated_data['code']}.")
        variant = selectors.variants_for_api().get(pk=variant.pk)
        return Response(VariantWithProductSerializer(variant).data)


class VariantPriceView(APIView):
    """Set a variant's price on one channel (PUT is idempotent: the same body twice leaves
    the same price)."""

    scope_area = "catalog"
    staff_permissions = {
        "read": "catalog.view_variantlisting",
        "write": "catalog.change_variantlisting",
    }

    @extend_schema(request=PartialPriceInSerializer, responses=VariantListingSerializer)
    def put(self, request, sku, channel):
        variant = selectors.variant_by_sku(sku)
        if variant is None:
            raise VariantNotFound(f"No variant has SKU {sku}.")
        channel_obj = services.channel_by_code(channel)
        body = PartialPriceInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        current = selectors.prices_for([variant], channel_obj).get(variant.pk)
        if "price" not in data and current is None:
            raise InvalidProductData("A price is required.", fields={"price": ["Required."]})
        listing = services.set_variant_price(
            variant,
            channel_obj,
            price=data.get("price", current.amount if current else None),
            compare_at_price=data.get("compare_at_price"),
            is_listed=data.get("is_listed", True),
            currency=data.get("currency"),
        )
        return Response(VariantListingSerializer(listing).data)


# --- feeds ------------------------------------------------------------------------------


class IgnoreAcceptHeader(BaseContentNegotiation):
    """Feeds answer their own file type whatever the fetcher puts in Accept."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class FeedTokenOrScope(BasePermission):
    """A feed's own token (`?token=`) for fetchers that cannot send headers, else a key
    with catalog:read or a staff session with catalog.view_channelfeed."""

    message = "Send a catalog:read API key or the feed's token (?token=...)."

    def has_permission(self, request, view):
        token = request.query_params.get("token")
        if token:
            feed = view.feed_from(view.kwargs)
            return feed is not None and hmac.compare_digest(token, feed.token)
        return HasScope().has_permission(request, view)


REPORT_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8"}
FEED_FILES = sorted(
    list(feed_formats.FILENAMES)
    + [f"{code}-refusals.{kind}" for code in FeedFormat.values for kind in REPORT_TYPES]
)


class FeedView(APIView):
    """A channel feed at a stable URL: `google.xml`, `meta.csv`, `marketplace.csv`,
    `catalogue.html`, and the refusal reports `<format>-refusals.json` / `.csv` listing every
    item left out and why. Streams the latest built file from the feeds storage (rebuilt by
    Celery when products change). A feed with no file yet is never built inside the request:
    the answer is 503 with Retry-After, and one build is queued however many ask."""

    scope_area = "catalog"
    staff_permissions = {"read": "catalog.view_channelfeed"}
    permission_classes = [FeedTokenOrScope]
    content_negotiation_class = IgnoreAcceptHeader

    @staticmethod
    def _parse(filename):
        if filename in feed_formats.FILENAMES:
            return feed_formats.FILENAMES[filename], None
        stem, _dot, kind = filename.rpartition(".")
        code, _sep, suffix = stem.partition("-")
        if suffix == "refusals" and code in FeedFormat.values and kind in REPORT_TYPES:
            return code, kind
        return None, None

    def feed_from(self, kwargs):
        format_code, _report = self._parse(kwargs["filename"])
        if format_code is None:
            return None
        try:
            return feeds.feed_for(kwargs["code"], format_code)
        except FeedNotConfigured:
            return None

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if isinstance(exc, FeedNotReady):
            response["Retry-After"] = str(exc.retry_after)
            if exc.queued is not None:
                send_build(exc.queued, after=response)
        return response

    @extend_schema(
        parameters=[
            OpenApiParameter("code", str, OpenApiParameter.PATH, description="Channel code."),
            OpenApiParameter("filename", str, OpenApiParameter.PATH, enum=FEED_FILES),
            OpenApiParameter("token", str, description="The feed's token, instead of a key."),
        ],
        responses={
            (200, "application/xml"): OpenApiResponse(OpenApiTypes.STR, description="Google"),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="Meta, marketplace"),
            (200, "text/html"): OpenApiResponse(OpenApiTypes.STR, description="Catalogue"),
            (200, "application/json"): OpenApiResponse(
                OpenApiTypes.OBJECT, description="Refusal report"
            ),
            (503, "application/json"): OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="Not built yet: a build is queued; fetch again after Retry-After "
                "seconds (`feed_not_ready`).",
            ),
        },
    )
    def get(self, request, code, filename):
        format_code, report = self._parse(filename)
        if format_code is None:
            raise FeedNotConfigured(f"No feed file {filename}. Known: {', '.join(FEED_FILES)}.")
        feed = feeds.feed_for(code, format_code)
        stored, run = feeds.open_latest(feed, report or "feed")
        if report:
            content_type = REPORT_TYPES[report]
        else:
            content_type = feed_formats.FORMATS[format_code].content_type
        response = FileResponse(stored, content_type=content_type, filename=filename)
        response["Content-Security-Policy"] = feed_formats.FILE_POLICY
        response["Last-Modified"] = run.finished_at.strftime("%a, %d %b %Y %H:%M:%S GMT")
        response["X-Feed-Items"] = str(run.item_count)
        response["X-Feed-Refused"] = str(run.refused_count)
        return response


# --- imports ----------------------------------------------------------------------------


class CatalogImportListView(APIView):
    """Import products, variants and prices: a CSV or XLSX file in the export's shape
    (multipart, field `file`) or the rows as JSON. Answers 202 at once with the import (its
    `url` is also the Location); a worker checks every row and applies them all in one
    transaction, or, when any row is bad, refuses the whole import listing every bad cell by
    line and column. `dry_run`: report what would change (SKUs not in the catalog come as
    `new_variants`) and write nothing."""

    scope_area = "catalog"
    staff_permissions = {"write": "catalog.change_product"}
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(
        request={
            "multipart/form-data": ImportUploadSerializer,
            "application/json": ImportRowsSerializer,
        },
        responses={
            202: CatalogImportSerializer,
            413: OpenApiResponse(
                description="The file is larger than the import limit (`import_too_large`, "
                "`limit` in bytes) or the body larger than the API accepts."
            ),
        },
    )
    def post(self, request):
        who = {}
        if isinstance(request.user, ApiClient):
            who["api_key"] = request.user.api_key
        else:
            who["user"] = request.user
        # A file (CSV, XLSX) as multipart, or the rows themselves as JSON.
        if (request.content_type or "").startswith("multipart/"):
            body = ImportUploadSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            given = {"upload": body.validated_data["file"]}
        else:
            body = ImportRowsSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            given = {"rows": body.validated_data["rows"]}
        job = import_jobs.create_import(
            source=CatalogImport.Source.API,
            dry_run=body.validated_data["dry_run"],
            **given,
            **who,
        )
        job.refresh_from_db()  # in the embedded mode the job already ran on commit
        data = CatalogImportSerializer(job).data
        return Response(
            data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": request.build_absolute_uri(data["url"])},
        )


class CatalogImportDetailView(APIView):
    """An import: its status (queued, running, done, refused, failed), progress, counts,
    the SKUs it creates and every bad cell by line and column."""

    scope_area = "catalog"
    staff_permissions = {"read": "catalog.view_product"}

    @extend_schema(responses=CatalogImportSerializer)
    def get(self, request, pk):
        job = CatalogImport.objects.filter(pk=pk).first()
        if job is None:
            raise ImportNotFound(f"No catalog import {pk}.")
        return Response(CatalogImportSerializer(job).data)
