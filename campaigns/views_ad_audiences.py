"""Staff pages of a segment's ad audiences: their last sync and errors, "sync now", and the
hashed audience as a CSV (hashes only) for a manual upload to an ad platform."""

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.db.models import Count, Prefetch
from django.http import HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from campaigns.models import AdAudience, AdAudienceSync, Segment
from campaigns.services import ad_audiences
from core.exports import csv_lines

RECENT_SYNCS = 5


@staff_member_required
@require_http_methods(["GET", "POST"])
@permission_required("campaigns.view_adaudience", raise_exception=True)
def segment_ad_audiences(request, pk):
    segment = get_object_or_404(Segment, pk=pk)
    if request.method == "POST":
        if not request.user.has_perm("campaigns.change_adaudience"):
            return HttpResponse(status=403)
        raw = request.POST.get("audience", "")
        audience = (
            AdAudience.objects.filter(pk=raw, segment=segment).first() if raw.isdigit() else None
        )
        if audience is None:
            return HttpResponseBadRequest(_("audience: choose one of this segment's audiences."))
        ad_audiences.request_sync(audience.pk, reason="staff")
        messages.success(request, _("The sync was asked for; its result shows below."))
        return redirect("campaigns:segment-ad-audiences", pk=segment.pk)
    audiences = (
        AdAudience.objects.filter(segment=segment)
        .annotate(member_count=Count("members"))
        .prefetch_related(
            Prefetch(
                "syncs",
                queryset=AdAudienceSync.objects.order_by("-started_at", "-id")[:RECENT_SYNCS],
                to_attr="recent_syncs",
            )
        )
        .order_by("platform", "id")
    )
    return render(
        request,
        "campaigns/segment_ad_audiences.html",
        {"segment": segment, "audiences": audiences},
    )


@staff_member_required
@permission_required("campaigns.view_adaudience", raise_exception=True)
def hashed_audience_csv(request, pk):
    segment = get_object_or_404(Segment, pk=pk)
    response = StreamingHttpResponse(
        csv_lines(ad_audiences.hashed_audience_rows(segment)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="segment-{segment.pk}-hashed.csv"'
    response["Cache-Control"] = "no-store"
    return response
