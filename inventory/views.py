"""Staff pages of inventory: locations, stock per product with "why is this 0?", the
ledger, stock count entry, transfers and low-stock alerts. Thin: forms parse, services
write, selectors read."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, F, Sum, Window
from django.db.models.functions import RowNumber
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from catalog.selectors import product_by_id, variants_by_code
from core.api.errors import DomainError
from core.l10n import normalise_digits
from core.models import Channel
from inventory import selectors, services
from inventory.forms import CountForm, LedgerFilterForm, NearbyForm, TransferForm
from inventory.models import Location, TransferLine, TransferStatus

PAGE_SIZE = 50


def _perm(codename):
    return permission_required(f"inventory.{codename}", raise_exception=True)


@staff_member_required
@_perm("view_stocklevel")
def overview(request):
    locations = list(
        Location.objects.select_related("supplied_by")
        .prefetch_related("channels")
        .order_by("kind", "priority", "code")
    )
    totals = selectors.totals_by_location()
    for location in locations:
        location.skus, location.units = totals.get(location.pk, (0, 0))
    return render(
        request,
        "inventory/overview.html",
        {
            "locations": locations,
            "low_stock_count": selectors.low_stock_count(),
            "open_transfers": selectors.open_transfers().count(),
        },
    )


def product_stock_context(request, product, *, with_reasons=True):
    """Stock by location per variant of `product`, and per selling channel the units it may
    promise with, for every variant at 0, the reasons why."""
    variants = list(product.variants.all().order_by("position", "id"))
    channels = list(Channel.objects.selling().order_by("name"))
    overview = selectors.stock_overview(variants, channels)
    by_variant = overview["levels"]
    locations = sorted(
        {level.location for levels in by_variant.values() for level in levels},
        key=lambda loc: (loc.priority, loc.code),
    )
    rows = []
    for variant in variants:
        cells = {level.location_id: level for level in by_variant.get(variant.pk, [])}
        rows.append({"variant": variant, "cells": [cells.get(loc.pk) for loc in locations]})
    atp = []
    for channel in channels:
        answers = overview["channels"][channel.pk]
        entries = [
            {
                "variant": variant,
                "units": answers[variant.pk]["units"],
                "reasons": answers[variant.pk]["reasons"]
                if with_reasons and answers[variant.pk]["units"] == 0
                else [],
            }
            for variant in variants
        ]
        atp.append({"channel": channel, "entries": entries})
    return {"locations": locations, "rows": rows, "atp": atp, "product": product}


def product_panel_context(request, product):
    return product_stock_context(request, product, with_reasons=True)


@staff_member_required
@_perm("view_stocklevel")
def product_stock(request, product_id):
    product = product_by_id(product_id)
    if product is None:
        raise Http404
    context = product_stock_context(request, product)
    nearby_form = NearbyForm(request.GET or None)
    nearby = []
    if nearby_form.is_bound and nearby_form.is_valid():
        lat, lng = nearby_form.cleaned_data["lat"], nearby_form.cleaned_data["lng"]
        for variant in context["rows"]:
            stores = selectors.stores_nearby(variant["variant"], lat, lng, limit=5)
            nearby.append({"variant": variant["variant"], "stores": stores})
    context.update({"nearby_form": nearby_form, "nearby": nearby})
    return render(request, "inventory/product_stock.html", context)


@staff_member_required
@_perm("view_stockmovement")
def ledger(request):
    form = LedgerFilterForm(request.GET or None)
    filters = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {
            "sku": data.get("sku") or None,
            "location": data.get("location"),
            "reason": data.get("reason") or None,
            "since": _day_start(data.get("since")),
            "until": _day_start(data.get("until"), plus_days=1),
        }
    movements = selectors.ledger(**filters)
    page = Paginator(movements, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "inventory/ledger.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


def _day_start(day, plus_days=0):
    if not day:
        return None
    moment = dt.datetime.combine(day + dt.timedelta(days=plus_days), dt.time.min)
    return timezone.make_aware(moment)


@staff_member_required
@_perm("add_stockmovement")
def count_entry(request):
    form = CountForm(request.POST or None, initial={"location": request.GET.get("location")})
    results = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            results = services.record_count(
                location=data["location"],
                lines=data["lines"],
                occurred_at=data.get("occurred_at"),
                reference=data.get("reference", ""),
                source=f"staff:{request.user.get_username()}",
            )
        except DomainError as error:
            _add_error(form, error)
            if "lines" in error.fields:
                form.add_error(None, error.message)  # "nothing was recorded", above the lines
        else:
            messages.success(
                request,
                _("Count recorded for %(n)s SKUs at %(location)s.")
                % {"n": len(results), "location": data["location"].code},
            )
    return render(request, "inventory/count_entry.html", {"form": form, "results": results})


# A replenishment may move every SKU of a store: the list shows a transfer's first lines and
# how many more there are (its page shows them all), with its units summed in the database.
LINES_LISTED = 6


def _listed(transfers):
    """The transfers as a list, each with `units` (summed in the database), `first_lines` (its
    first LINES_LISTED lines by SKU, one query for all) and `more_lines`."""
    listed = list(
        transfers.prefetch_related(None).annotate(
            units=Sum("lines__quantity"), line_count=Count("lines")
        )
    )
    first = defaultdict(list)
    lines = (
        TransferLine.objects.filter(transfer_id__in=[t.pk for t in listed])
        .select_related("variant")
        .annotate(
            rank=Window(
                RowNumber(), partition_by=F("transfer_id"), order_by=F("variant__sku").asc()
            )
        )
        .filter(rank__lte=LINES_LISTED)
        .order_by("transfer_id", "rank")
    )
    for line in lines:
        first[line.transfer_id].append(line)
    for transfer in listed:
        transfer.first_lines = first[transfer.pk]
        transfer.more_lines = max(transfer.line_count - LINES_LISTED, 0)
    return listed


@staff_member_required
@_perm("view_transfer")
def transfers(request):
    form = TransferForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("inventory.add_transfer"):
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            found = variants_by_code([code for code, _units in data["lines"]])
            unknown = [code for code, _units in data["lines"] if code not in found]
            if unknown:
                form.add_error(
                    "lines",
                    _("No variant has this SKU or barcode: %(codes)s")
                    % {"codes": ", ".join(unknown)},
                )
            else:
                try:
                    transfer = services.create_transfer(
                        from_location=data["from_location"],
                        to_location=data["to_location"],
                        lines=[
                            services.TransferLineInput(variant=found[code], quantity=units)
                            for code, units in data["lines"]
                        ],
                        reference=data.get("reference", ""),
                    )
                except DomainError as error:
                    _add_transfer_error(form, error)
                else:
                    messages.success(request, _("Transfer %(id)s requested.") % {"id": transfer.pk})
                    return redirect("inventory:transfers")
    open_transfers = _listed(selectors.open_transfers())
    recent = _listed(
        selectors.transfers().filter(
            status__in=[TransferStatus.RECEIVED, TransferStatus.CANCELLED]
        )[:20]
    )
    return render(
        request,
        "inventory/transfers.html",
        {
            "form": form,
            "open_transfers": open_transfers,
            "recent": recent,
        },
    )


def _add_transfer_error(form, error: DomainError) -> None:
    """The service names API fields (`from`, `to`, `lines.3.quantity`); show each refusal
    beside the form field it belongs to."""
    names = {"from": "from_location", "to": "to_location"}
    placed = False
    for name, texts in error.fields.items():
        field = names.get(name) or ("lines" if name.startswith("lines") else None)
        if field:
            form.add_error(field, error.message if field == "lines" else texts)
            placed = True
    if not placed:
        form.add_error(None, error.message)


@staff_member_required
@_perm("view_transfer")
def transfer_detail(request, pk):
    """One transfer's lines, with a receipt to record (units received and damaged per line)
    while it is in transit."""
    transfer = selectors.transfer_detail(pk)
    if transfer is None:
        raise Http404
    lines = list(transfer.lines.all())
    errors = []
    if request.method == "POST":
        if not request.user.has_perm("inventory.change_transfer"):
            raise PermissionDenied
        receipt = []
        for line in lines:
            values = {}
            for key in ("received", "damaged"):
                raw = (request.POST.get(f"{key}-{line.pk}") or "0").strip() or "0"
                value = normalise_digits(raw)
                if not (value.isascii() and value.isdigit()) or len(value) > 7:
                    errors.append(
                        _("%(sku)s: units are whole numbers from 0.") % {"sku": line.variant.sku}
                    )
                    value = "0"
                values[key] = int(value)
            receipt.append(services.ReceiptLineInput(sku=line.variant.sku, **values))
        if not errors:
            try:
                services.receive_units(transfer.pk, receipt)
            except DomainError as error:
                errors.append(error.message)
            else:
                messages.success(request, _("Transfer %(id)s received.") % {"id": transfer.pk})
                return redirect("inventory:transfer-detail", pk=transfer.pk)
    return render(
        request,
        "inventory/transfer_detail.html",
        {"transfer": transfer, "lines": lines, "errors": errors},
    )


@staff_member_required
@_perm("view_transfer")
def transfer_pick_list(request, pk):
    """A page to print: what to take off the shelves at the source, SKU by SKU."""
    transfer = selectors.transfer_detail(pk)
    if transfer is None:
        raise Http404
    return render(
        request,
        "inventory/transfer_pick_list.html",
        {"transfer": transfer, "lines": list(transfer.lines.all())},
    )


def _add_error(form, error: DomainError) -> None:
    """Show a service's refusal next to the fields it names, or above the form."""
    named = {name: texts for name, texts in error.fields.items() if name in form.fields}
    for name, texts in named.items():
        form.add_error(name, texts)
    if not named:
        form.add_error(None, error.message)


@staff_member_required
@_perm("change_transfer")
@require_POST
def transfer_action(request, pk, action):
    operations = {"ship": services.ship, "receive": services.receive, "cancel": services.cancel}
    if action not in operations:
        raise Http404
    try:
        operations[action](pk)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        # Whole sentences, not a joined word: "received" alone is also a field label.
        labels = {
            "ship": _("Transfer %(id)s shipped."),
            "receive": _("Transfer %(id)s received."),
            "cancel": _("Transfer %(id)s cancelled."),
        }
        messages.success(request, labels[action] % {"id": pk})
    return redirect("inventory:transfers")


@staff_member_required
@_perm("view_stocklevel")
def alerts(request):
    levels = selectors.low_stock(limit=None)
    page = Paginator(levels, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "inventory/alerts.html", {"page": page})


def low_stock_panel_context(request):
    return {
        "levels": list(selectors.low_stock(limit=8)),
        "count": selectors.low_stock_count(),
    }
