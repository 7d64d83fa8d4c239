"""Staff pages of customers: search, the customer 360 page, merging a duplicate into it."""

from django.contrib import messages as flash
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.models import AuditAction, ChannelKind
from core.services import audit
from customers.errors import CustomerNotFound, InvalidIdentity, MergeRefused
from customers.labels import identity_kind_words
from customers.links import panels_for
from customers.models import CustomerMerge, MergeCandidate
from customers.selectors import (
    consent_history,
    current_consents,
    customer_by_public_id,
    customer_named_by,
    duplicates_to_review,
    merge_candidates_of,
    search_customers,
    stay_by_channels_used,
    timeline_channel_kinds,
    timeline_for,
)
from customers.services import merge_customers
from customers.services.merging import (
    approve_merge_candidate,
    flag_merge_candidate,
    in_survival_order,
    reject_merge_candidate,
)

SEARCH_PAGE_SIZE = 25
DUPLICATES_PAGE_SIZE = 20
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
    audit.record(AuditAction.VIEW_PROFILE, customer.public_id)
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


@staff_member_required
@permission_required("customers.view_customer", raise_exception=True)
@require_POST
def merge_duplicate(request, public_id):
    """Make this customer and a duplicate profile (a text from one number, an email from
    another address) one. As in identity resolution, the older known profile survives (an
    anonymous one never does), so ids partners already hold keep leading to the same place.
    Staff who may change customers merge at once; the others flag the pair for someone who
    may. Profiles holding different verified emails or phones merge only when the member of
    staff confirms they are one person."""
    customer = customer_by_public_id(public_id)
    named = request.POST.get("duplicate", "").strip()
    back = redirect(_back_to(request) or reverse("customers:detail", args=[customer.public_id]))
    if not named:
        flash.error(request, _("Name the duplicate by its id, email, phone or another identity."))
        return back
    try:
        duplicate = customer_named_by(named)
    except (CustomerNotFound, InvalidIdentity):
        flash.error(request, _("No customer is known by “%(named)s”.") % {"named": named})
        return back
    if duplicate.pk == customer.pk:
        flash.error(request, _("“%(named)s” already belongs to this customer.") % {"named": named})
        return back
    if customer.erased_at or duplicate.erased_at:
        flash.error(request, _("An erased profile cannot be merged."))
        return back
    reason = _("merged by %(user)s from the customer page") % {"user": request.user}
    if not request.user.has_perm("customers.change_customer"):
        flag_merge_candidate(customer, duplicate, reason=reason, source="staff")
        flash.success(
            request,
            _("%(name)s is flagged as a possible duplicate for a colleague who may merge profiles.")
            % {"name": duplicate.display_name},
        )
        return back
    try:
        survivor, loser = in_survival_order([customer, duplicate])
        merge_customers(
            survivor,
            loser,
            reason=reason,
            merged_by=request.user,
            source="staff",
            force=request.POST.get("same_person") == "on",
        )
    except MergeRefused as error:
        if error.details.get("conflicting"):
            flash.error(
                request,
                _(
                    "Both profiles hold different verified %(kinds)s. Tick “They are the same "
                    "person” to merge them anyway."
                )
                % {
                    "kinds": _(", ").join(identity_kind_words(error.details["conflicting"])).lower()
                },
            )
        else:
            flash.error(request, error.message)
        return back
    flash.success(
        request,
        _(
            "%(name)s and this customer are now one profile: identities, timeline, orders "
            "and conversations are together."
        )
        % {"name": duplicate.display_name},
    )
    return back


def _back_to(request) -> str | None:
    """Where the form came from when it was not the customer page (the inbox posts it with
    `next`): only a path on this site."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


@staff_member_required
@permission_required("customers.view_mergecandidate", raise_exception=True)
def duplicates(request):
    """Profiles that the same input named but that hold different verified emails or phones,
    or that a colleague flagged: side by side, for a person to decide."""
    page = Paginator(duplicates_to_review(), DUPLICATES_PAGE_SIZE).get_page(request.GET.get("page"))
    for candidate in page:
        candidate.profiles = [candidate.customer, candidate.other]  # older first
    return render(request, "customers/duplicates.html", {"page": page})


@staff_member_required
@permission_required("customers.change_mergecandidate", raise_exception=True)
@require_POST
def decide_duplicate(request, pk, decision):
    """`decision` is "merge" (one person: the newer profile folds into the older) or
    "separate" (two people: the pair is not proposed again)."""
    candidate = get_object_or_404(MergeCandidate, pk=pk)
    try:
        if decision == "merge":
            approve_merge_candidate(candidate, decided_by=request.user)
            flash.success(
                request,
                _("%(older)s and %(newer)s are now one profile.")
                % {"older": candidate.customer.display_name, "newer": candidate.other.display_name},
            )
        else:
            reject_merge_candidate(candidate, decided_by=request.user)
            flash.success(
                request,
                _("%(older)s and %(newer)s stay two customers.")
                % {"older": candidate.customer.display_name, "newer": candidate.other.display_name},
            )
    except MergeRefused:
        flash.error(request, _("A colleague decided on this pair already."))
    return redirect("customers:duplicates")


@staff_member_required
@permission_required("customers.view_customer", raise_exception=True)
def channels_and_loyalty(request):
    """Do customers who use more channels stay longer? One row per number of channels."""
    return render(
        request,
        "customers/channels_and_loyalty.html",
        {"rows": stay_by_channels_used(active_days=90), "active_days": 90},
    )
