"""Staff pages of the catalog: product list with search, the product page (where it is
listed and at what price, plus panels other apps register), feeds with their refusals,
import and export."""

import tempfile

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from catalog import feeds, selectors
from catalog.forms import ImportForm, ProductSearchForm
from catalog.import_export import export_csv_lines, export_xlsx, import_catalog
from catalog.models import (
    Category,
    ChannelFeed,
    FeedRun,
    Product,
    ProductListing,
    ProductVariant,
    VariantListing,
)
from catalog.staff_ui import product_panels_for

PAGE_SIZE = 50


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


@staff_member_required
@permission_required("catalog.view_product", raise_exception=True)
def product_detail(request, pk):
    product = get_object_or_404(
        Product.objects.select_related("brand", "category").prefetch_related(
            "translations",
            "attribute_values__attribute",
            "media",
            Prefetch("listings", queryset=ProductListing.objects.select_related("channel")),
            Prefetch(
                "variants",
                queryset=ProductVariant.objects.prefetch_related(
                    Prefetch(
                        "listings",
                        queryset=VariantListing.objects.select_related("listing__channel"),
                    )
                ),
            ),
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
    return render(
        request,
        "catalog/product_detail.html",
        {
            "product": product,
            "listings": [{"listing": pl, "is_live": pl.is_live(now)} for pl in listings],
            "rows": rows,
            "panels": product_panels_for(request, product),
            "can_change": request.user.has_perm("catalog.change_product"),
        },
    )


@staff_member_required
@permission_required("catalog.view_channelfeed", raise_exception=True)
def feed_list(request):
    feed_rows = []
    for feed in ChannelFeed.objects.select_related("channel"):
        feed_rows.append(
            {"feed": feed, "run": feeds.latest_run(feed), "filename": feeds.feed_path(feed).name}
        )
    return render(
        request,
        "catalog/feed_list.html",
        {
            "feeds": feed_rows,
            "recent_runs": FeedRun.objects.select_related("feed__channel")[:20],
            "can_regenerate": request.user.has_perm("catalog.change_channelfeed"),
        },
    )


@staff_member_required
@permission_required("catalog.change_channelfeed", raise_exception=True)
@require_POST
def feed_regenerate(request, pk):
    feed = get_object_or_404(ChannelFeed.objects.select_related("channel"), pk=pk)
    run = feeds.generate_feed(feed)
    messages.success(
        request,
        _("%(feed)s regenerated: %(items)d items, %(refused)d refused.")
        % {"feed": feed, "items": run.item_count, "refused": run.refused_count},
    )
    return redirect("catalog:feed-list")


@staff_member_required
@permission_required("catalog.view_channelfeed", raise_exception=True)
def feed_file(request, pk, kind):
    """Staff download of a feed or its refusal report (partners use the API URL)."""
    feed = get_object_or_404(ChannelFeed.objects.select_related("channel"), pk=pk)
    path = feeds.current_file(feed)
    if kind in ("json", "csv"):
        path = feeds.report_path(feed, kind)
    return FileResponse(open(path, "rb"), as_attachment=False, filename=path.name)  # noqa: SIM115


@staff_member_required
@permission_required("catalog.add_product", raise_exception=True)
@permission_required("catalog.change_product", raise_exception=True)
def import_page(request):
    report = None
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            report = import_catalog(
                upload, filename=upload.name, dry_run=form.cleaned_data["dry_run"]
            )
            if report.applied:
                messages.success(
                    request,
                    _("Imported %(rows)d rows: %(created)d products created, %(updated)d updated.")
                    % {
                        "rows": report.rows,
                        "created": report.products_created,
                        "updated": report.products_updated,
                    },
                )
    else:
        form = ImportForm()
    status = 400 if report is not None and report.errors else 200
    return render(request, "catalog/import.html", {"form": form, "report": report}, status=status)


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
    refused = sum(
        run.refused_count
        for run in (feeds.latest_run(feed) for feed in ChannelFeed.objects.filter(is_active=True))
        if run
    )
    return {**counts, "refused": refused}
