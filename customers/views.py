"""Staff pages of customers: search, and the customer 360 page."""

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render

from core.models import ChannelKind
from customers.links import panels_for
from customers.models import CustomerMerge
from customers.selectors import (
    consent_history,
    current_consents,
    customer_by_public_id,
    merge_candidates_of,
    search_customers,
    timeline_channel_kinds,
    timeline_for,
)

SEARCH_PAGE_SIZE = 25
TIMELINE_PAGE_SIZE = 25


@staff_member_required
@permission_required("customers.view_customer", raise_exception=True)
def search(request):
    query = request.GET.get("q", "").strip()
    page = Paginator(search_customers(query), SEARCH_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "customers/search.html", {"query": query, "page": page})


@staff_member_required
@permission_required("customers.view_customer", raise_exception=True)
def detail(request, public_id):
    customer = customer_by_public_id(public_id)
    if customer.public_id != public_id:
        # The id of a merged profile: show the profile it lives on in.
        return redirect("customers:detail", public_id=customer.public_id)
    channel = request.GET.get("channel") or ""
    if channel not in ChannelKind.values:
        channel = ""
    events = timeline_for(customer, channel=channel or None)
    used_channels = timeline_channel_kinds(customer)
    timeline = Paginator(events, TIMELINE_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "customer": customer,
        "timeline": timeline,
        "channel": channel,
        "channel_choices": [
            (value, label) for value, label in ChannelKind.choices if value in used_channels
        ],
    }
    if request.htmx and request.htmx.target == "timeline":
        return render(request, "customers/_timeline.html", context)
    context.update(
        {
            "identities": customer.identities.order_by("kind", "value"),
            "consents": current_consents(customer),
            "consent_history": consent_history(customer)[:20],
            "merges": CustomerMerge.objects.filter(survivor=customer).order_by("-created_at")[:20],
            "candidates": merge_candidates_of(customer),
            "panels": panels_for(request, customer),
        }
    )
    return render(request, "customers/detail.html", context)
