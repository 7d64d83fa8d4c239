"""Staff pages of the catalog: product list with search, the product page (where it is
listed and at what price, plus panels other apps register), feeds with their refusals,
import and export."""

import tempfile

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from catalog import feed_formats, import_jobs, selectors, services
from catalog.errors import FeedNotReady, ImportTooLarge, InvalidImport, InvalidProductData
from catalog.forms import ChannelPricesForm, ImportForm, ProductSearchForm
from catalog.import_export import export_csv_lines, export_xlsx
from catalog.models import (
    CatalogImport,
    Category,
    ChannelFeed,
    Product,
    ProductListing,
    ProductVariant,
    VariantListing,
)
from catalog.services import feeds
from catalog.staff_ui import product_panels_for
from catalog.tasks import send_build
from core.models import Channel

PAGE_SIZE = 50
HISTORY_SIZE = 20


@staff_member_required
@permission_required("catalog.view_product", raise_exception=True)
def product_list(request):
    form = ProductSearchForm(request.GET or None)
    products = Product.objects.select_related("brand", "category").annotate(
        variant_count=Count("variants", distinct=True),
        channel_count=Count("listings", distinct=True),
    )
    query = ""
    if form.is_valid():
        query = form.cleaned_data["q"]
        if form.cleaned_data["category"]:
            category = Category.objects.filter(slug=form.cleaned_data["category"]).first()
            if category:
                products = products.filter(category__path__startswith=category.path)
    products = selectors.search_products(query, products) if query else products.order_by("name")
    page = Paginator(products, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "catalog/product_list.html",
        {
            "form": form,
            "page": page,
            "query": query,
            "categories": Category.objects.all(),
            "full_text": selectors.is_postgres(),
        },
    )


def _variant_prices() -> Prefetch:
    """Each variant with its prices on every channel: the price table and the price form."""
    return Prefetch(
        "variants",
        queryset=ProductVariant.objects.prefetch_related(
            Prefetch("listings", queryset=VariantListing.objects.select_related("listing__channel"))
        ),
    )


@staff_member_required
@permission_required("catalog.view_product", raise_exception=True)
def product_detail(request, pk):
    return _product_page(request, pk)


@staff_member_required
@permission_required("catalog.view_product", raise_exception=True)
@permission_required("catalog.change_variantlisting", raise_exception=True)
@require_POST
def product_prices(request, pk, channel):
    """The product page's price form for one channel: the changed rows go to the service
    the API uses; errors come back on the page next to their fields."""
    product = get_object_or_404(Product.objects.prefetch_related(_variant_prices()), pk=pk)
    selling = get_object_or_404(Channel.objects.selling(), code=channel)
    form = _price_form(product, selling, data=request.POST)
    if form.is_valid():
        rows = form.changed_rows()
        try:
            services.set_variant_prices(selling, rows)
        except InvalidProductData as error:
            form.add_service_errors(error)
        else:
            if rows:
                messages.success(
                    request,
                    ngettext(
                        "%(count)d price set on %(channel)s.",
                        "%(count)d prices set on %(channel)s.",
                        len(rows),
                    )
                    % {"count": len(rows), "channel": selling.name},
                )
            else:
                messages.info(
                    request, _("No price changed on %(channel)s.") % {"channel": selling.name}
                )
            url = reverse("catalog:product-detail", args=[product.pk])
            return redirect(f"{url}?{urlencode({'prices': selling.code})}#prices")
    return _product_page(request, pk, price_form=form, status=400)


def _price_form(product, channel, data=None):
    variants = list(product.variants.all())
    current = {
        vl.variant_id: vl
        for variant in variants
        for vl in variant.listings.all()
        if vl.listing.channel_id == channel.pk
    }
    return ChannelPricesForm(data, channel=channel, variants=variants, current=current)


def _product_page(request, pk, *, price_form=None, status=200):
    product = get_object_or_404(
        Product.objects.select_related("brand", "category").prefetch_related(
            "translations",
            "attribute_values__attribute",
            "media",
            Prefetch("listings", queryset=ProductListing.objects.select_related("channel")),
            _variant_prices(),
        ),
        pk=pk,
    )
    listings = list(product.listings.all())
    now = timezone.now()
    rows = []
    for variant in product.variants.all():
        by_channel = {vl.listing.channel_id: vl for vl in variant.listings.all()}
        rows.append(
            {"variant": variant, "cells": [by_channel.get(pl.channel_id) for pl in listings]}
        )
    selling = []
    if request.user.has_perm("catalog.change_variantlisting"):
        selling = list(Channel.objects.selling().order_by("name"))
    if price_form is None and selling:
        # The channel asked for, else the first one the product is listed on.
        listed = {pl.channel_id for pl in listings}
        asked = request.GET.get("prices")
        channel = next(
            (c for c in selling if c.code == asked),
            next((c for c in selling if c.pk in listed), selling[0]),
        )
        price_form = _price_form(product, channel)
    return render(
        request,
        "catalog/product_detail.html",
        {
            "product": product,
            "listings": [{"listing": pl, "is_live": pl.is_live(now)} for pl in listings],
            "rows": rows,
            "panels": product_panels_for(request, product),
            "can_change": request.user.has_perm("catalog.change_product"),
            "price_form": price_form,
            "selling_channels": selling,
        },
        status=status,
    )


@staff_member_required
@permission_required("catalog.view_channelfeed", raise_exception=True)
def feed_list(request):
    channel_feeds = list(ChannelFeed.objects.select_related("channel"))
    runs = feeds.latest_runs(channel_feeds)
    pending = feeds.builds_pending(channel_feeds)
    feed_rows = [
        {
            "feed": feed,
            "run": runs.get(feed.pk),
            "filename": feeds.feed_filename(feed),
            "pending": feed.pk in pending,
        }
        for feed in channel_feeds
    ]
    return render(
        request,
        "catalog/feed_list.html",
        {
            "feeds": feed_rows,
            "can_regenerate": request.user.has_perm("catalog.change_channelfeed"),
        },
    )


@staff_member_required
@permission_required("catalog.change_channelfeed", raise_exception=True)
@require_POST
def feed_regenerate(request, pk):
    """Queue a build (a 50,000-item feed is not built inside a request); a build already
    queued or running stands for this one."""
    feed = get_object_or_404(ChannelFeed.objects.select_related("channel"), pk=pk)
    run = feeds.request_build(feed)
    messages.success(
        request,
        _("%(feed)s is being regenerated in the background; reload this page to see the new run.")
        % {"feed": feed},
    )
    response = redirect("catalog:feed-list")
    if run is not None:
        send_build(run, after=response)
    return response


@staff_member_required
@permission_required("catalog.view_channelfeed", raise_exception=True)
def feed_file(request, pk, kind):
    """Staff download of a feed or its refusal report (partners use the API URL); 503 with
    Retry-After while it is not built yet, as the API answers."""
    feed = get_object_or_404(ChannelFeed.objects.select_related("channel"), pk=pk)
    kind = kind if kind in feeds.REPORT_KINDS else "feed"
    try:
        stored, _run = feeds.open_latest(feed, kind)
    except FeedNotReady as not_ready:
        response = HttpResponse(
            _("This file is being generated; try again in %(seconds)d seconds.")
            % {"seconds": not_ready.retry_after},
            status=503,
            content_type="text/plain; charset=utf-8",
        )
        response["Retry-After"] = str(not_ready.retry_after)
        if not_ready.queued is not None:
            send_build(not_ready.queued, after=response)
        return response
    filename = feeds.feed_filename(feed) if kind == "feed" else feeds.report_filename(feed, kind)
    response = FileResponse(stored, as_attachment=False, filename=filename)
    response["Content-Security-Policy"] = feed_formats.FILE_POLICY
    return response


@staff_member_required
@permission_required("catalog.add_product", raise_exception=True)
@permission_required("catalog.change_product", raise_exception=True)
def import_page(request):
    """Upload and import at once (the same service as the API's job, run in the request),
    with the history of every import, partners' included."""
    result = None
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                job = import_jobs.create_import(
                    source=CatalogImport.Source.STAFF,
                    upload=form.cleaned_data["file"],
                    dry_run=form.cleaned_data["dry_run"],
                    user=request.user,
                    start=False,
                )
            except (InvalidImport, ImportTooLarge) as refusal:
                form.add_error("file", refusal.message)
            else:
                result = import_jobs.run_import(job.pk)
                if result.status == CatalogImport.Status.DONE and not result.dry_run:
                    messages.success(
                        request,
                        _(
                            "Imported %(rows)d rows: %(created)d products created, "
                            "%(updated)d updated."
                        )
                        % {
                            "rows": result.rows_done,
                            "created": result.products_created,
                            "updated": result.products_updated,
                        },
                    )
    else:
        form = ImportForm()
    history = CatalogImport.objects.select_related("created_by", "api_key")[:HISTORY_SIZE]
    status = 400 if form.errors or (result is not None and result.errors) else 200
    return render(
        request,
        "catalog/import.html",
        {"form": form, "result": result, "history": history},
        status=status,
    )


@staff_member_required
@permission_required("catalog.view_product", raise_exception=True)
def export(request, fmt):
    if fmt not in ("csv", "xlsx"):
        raise Http404(_("Export as csv or xlsx."))
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    if fmt == "xlsx":
        target = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
        export_xlsx(target)
        target.seek(0)
        return FileResponse(target, as_attachment=True, filename=f"catalog-{stamp}.xlsx")
    response = StreamingHttpResponse(export_csv_lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="catalog-{stamp}.csv"'
    return response


def dashboard_context(request):
    counts = selectors.catalog_counts()
    runs = feeds.latest_runs(ChannelFeed.objects.filter(is_active=True))
    refused = sum(run.refused_count for run in runs.values())
    return {**counts, "refused": refused}
