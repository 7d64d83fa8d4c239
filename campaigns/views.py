"""Staff pages of campaigns (segment builder, template editor with live preview, campaign
results with A/B, journeys) and the public tracking doors (open pixel, click redirect,
one-click unsubscribe)."""

import base64
from datetime import timedelta

from csp import constants as csp
from csp.decorators import csp_update
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt

from campaigns import forms
from campaigns.errors import InvalidRules, InvalidSignature, InvalidTemplate
from campaigns.models import (
    Campaign,
    CampaignStatus,
    Journey,
    MessageTemplate,
    RunStatus,
    Segment,
)
from campaigns.segment_words import describe
from campaigns.selectors import (
    coupons_of,
    credited_referrals_of,
    loyalty_entries_of,
    loyalty_of,
    messages_of,
    reports,
)
from campaigns.services import (
    abtest,
    drafts,
    install_defaults,
    launch,
    rendering,
    segments,
    template_context,
    tracking,
)
from campaigns.services.links import read_click, read_unsubscribe
from campaigns.services.templates import save_template
from core.api.errors import DomainError
from core.models import ChannelKind
from customers.selectors import customer_by_id, newest_known_customers

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
PAGE_SIZE = 50
ATTRIBUTION_MODEL_NAMES = {
    "first_touch": gettext_lazy("First touch"),
    "last_touch": gettext_lazy("Last touch"),
    "linear": gettext_lazy("Shared equally (linear)"),
}


# --- public tracking doors -----------------------------------------------------------------


def open_pixel(request, token):
    message = tracking.message_by_token(token)
    if message is not None:
        tracking.record_open(message)
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store"
    return response


def click(request, value):
    try:
        token, url = read_click(value)
    except InvalidSignature:
        return HttpResponse(_("This link is not valid."), status=400)
    message = tracking.message_by_token(token)
    if message is not None:
        tracking.record_click(message, url)
    return HttpResponseRedirect(url)


@csrf_exempt  # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" without a CSRF token
def unsubscribe(request, value):
    try:
        token = read_unsubscribe(value)
    except InvalidSignature:
        return render(request, "campaigns/unsubscribe.html", {"invalid": True}, status=400)
    message = tracking.message_by_token(token)
    if message is None:
        return render(request, "campaigns/unsubscribe.html", {"invalid": True}, status=404)
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        tracking.unsubscribe(message, source="one-click" if one_click else "page")
        return render(request, "campaigns/unsubscribe.html", {"done": True, "message": message})
    return render(request, "campaigns/unsubscribe.html", {"message": message})


# --- staff pages ---------------------------------------------------------------------------


@staff_member_required
@permission_required("campaigns.view_campaign", raise_exception=True)
def home(request):
    campaigns = Campaign.objects.select_related("segment", "channel").order_by("-created_at")
    page = Paginator(campaigns, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "campaigns/home.html", {"page": page})


@staff_member_required
@permission_required("campaigns.view_campaign", raise_exception=True)
def campaign_detail(request, pk):
    campaign = get_object_or_404(
        Campaign.objects.select_related("segment", "channel", "coupon_pool"), pk=pk
    )
    if request.method == "POST" and request.user.has_perm("campaigns.change_campaign"):
        action = request.POST.get("action")
        try:
            if action == "send":
                launch.start_campaign(campaign)
                messages.success(request, _("Sending started."))
            elif action == "decide":
                abtest.decide_winner(campaign, force=True)
                messages.success(request, _("Winner chosen; the rest goes out with it."))
            elif action == "cancel":
                launch.cancel_campaign(campaign)
                messages.success(request, _("Campaign cancelled."))
        except DomainError as error:
            messages.error(request, error.message)
        return redirect("campaigns:campaign-detail", pk=pk)
    return render(
        request,
        "campaigns/campaign_detail.html",
        {
            "campaign": campaign,
            "results": reports.campaign_results(campaign),
            "ab": abtest.ab_comparison(campaign),
            "can_send": campaign.status in launch.NOT_STARTED,
            "testing": campaign.status == CampaignStatus.TESTING,
        },
    )


@staff_member_required
@permission_required("campaigns.view_segment", raise_exception=True)
def segment_list(request):
    return render(request, "campaigns/segment_list.html", {"segments": Segment.objects.all()})


@staff_member_required
@permission_required("campaigns.view_segment", raise_exception=True)
def segment_builder(request, pk=None):
    segment = get_object_or_404(Segment, pk=pk) if pk else None
    if request.method == "POST":
        if not request.user.has_perm("campaigns.change_segment"):
            return HttpResponse(status=403)
        form = forms.SegmentForm(request.POST, instance=segment)
        if form.is_valid():
            segment = form.save()
            messages.success(request, _("Segment saved."))
            return redirect("campaigns:segment-edit", pk=segment.pk)
    else:
        form = forms.SegmentForm(instance=segment)
    count = None
    if segment is not None:
        count = segments.count_members(segment.rules)
    return render(
        request,
        "campaigns/segment_builder.html",
        {"form": form, "segment": segment, "count": count, "rule_form": forms.RuleForm()},
    )


@staff_member_required
@permission_required("campaigns.view_segment", raise_exception=True)
def segment_count(request):
    """htmx: the live count of the rules being edited."""
    raw = request.POST.get("rules") or request.GET.get("rules") or "{}"
    try:
        rules = segments.parse_rules(raw)
        count = segments.count_members(rules)
        description = describe(rules)
        error = ""
    except InvalidRules as exc:
        count, description, error = None, "", exc.message
    return render(
        request,
        "campaigns/partials/segment_count.html",
        {"count": count, "description": description, "error": error},
    )


@staff_member_required
@permission_required("campaigns.view_messagetemplate", raise_exception=True)
def template_list(request):
    templates = MessageTemplate.objects.annotate(languages=Count("translations"))
    return render(request, "campaigns/template_list.html", {"templates": templates})


# The live preview shows the email's own HTML in a sandboxed srcdoc iframe (no script runs
# there), and such a frame inherits this page's Content-Security-Policy: the email's inline
# styles must apply, so this one page allows inline style. Script stays 'self' only.
@csp_update({"style-src": [csp.UNSAFE_INLINE]})
@staff_member_required
@permission_required("campaigns.view_messagetemplate", raise_exception=True)
def template_editor(request, pk=None):
    template = get_object_or_404(MessageTemplate, pk=pk) if pk else None
    if request.method == "POST":
        if not request.user.has_perm("campaigns.change_messagetemplate"):
            return HttpResponse(status=403)
        form = forms.TemplateForm(request.POST, instance=template)
        if form.is_valid():
            template = save_template(template, fields=form.cleaned_data)
            messages.success(request, _("Template saved."))
            return redirect("campaigns:template-edit", pk=template.pk)
        draft = _draft_template(request.POST)
    else:
        form = forms.TemplateForm(instance=template)
        draft = template
    customers = newest_known_customers(30)
    # The preview is there on opening (a saved template, or the refused form's text); htmx
    # replaces it as the marketer types.
    result, error = _preview(draft, None) if draft is not None else (None, "")
    return render(
        request,
        "campaigns/template_editor.html",
        {
            "form": form,
            "template": template,
            "customers": customers,
            "variables": template_context.variable_rows(),
            "preview": draft is not None,
            "result": result,
            "error": error,
        },
    )


def _draft_template(data):
    """An unsaved template from the editor's fields, to preview without saving."""
    return MessageTemplate(
        channel_kind=data.get("channel_kind", "email"),
        subject=data.get("subject", ""),
        html=data.get("html", ""),
        text=data.get("text", ""),
        language=data.get("language", "en"),
    )


def _preview(template, customer):
    """(rendered result, "") or (None, why the sandbox refused it)."""
    try:
        return rendering.preview(template, customer), ""
    except InvalidTemplate as exc:
        return None, str(exc)


@staff_member_required
@permission_required("campaigns.view_messagetemplate", raise_exception=True)
def template_preview(request):
    """htmx: render the template being edited for a chosen customer (or a made-up one),
    without saving; a template the sandbox refuses shows why."""
    customer = customer_by_id(request.POST.get("customer") or 0)
    result, error = _preview(_draft_template(request.POST), customer)
    return render(
        request, "campaigns/partials/template_preview.html", {"result": result, "error": error}
    )


@staff_member_required
@permission_required("campaigns.view_journey", raise_exception=True)
def journey_list(request):
    if request.method == "POST" and request.user.has_perm("campaigns.add_journey"):
        installed = install_defaults()
        messages.success(
            request,
            _("The shipped journeys and templates are installed; %(count)s brought up to date.")
            % {"count": len(installed["upgraded"])},
        )
        return redirect("campaigns:journey-list")
    journeys = Journey.objects.annotate(
        active_runs=Count("runs", filter=Q(runs__status=RunStatus.ACTIVE)),
        completed_runs=Count("runs", filter=Q(runs__status=RunStatus.COMPLETED)),
        exited_runs=Count("runs", filter=Q(runs__status=RunStatus.EXITED)),
    ).prefetch_related("steps__template", "steps__channel")
    return render(request, "campaigns/journey_list.html", {"journeys": journeys})


@staff_member_required
@permission_required("campaigns.view_campaign", raise_exception=True)
def attribution(request):
    try:
        days = min(max(int(request.GET.get("days") or 30), 1), 3650)
    except ValueError:
        days = 30
    until = timezone.now()
    since = until - timedelta(days=days)
    by_model = {
        model: reports.channel_attribution(since=since, until=until, model=model)
        for model in reports.ATTRIBUTION_MODELS
    }
    kind_names = dict(ChannelKind.choices)
    # One table per currency: revenue in rials and in dollars is never one number.
    currencies = []
    for currency in sorted({c for credit in by_model.values() for c in credit}):
        credit = {model: by_model[model].get(currency, {}) for model in by_model}
        kinds = sorted({kind for per_kind in credit.values() for kind in per_kind})
        rows = [
            {
                "kind": kind,
                "name": kind_names.get(kind, kind),
                "values": [credit[model].get(kind, 0) for model in reports.ATTRIBUTION_MODELS],
            }
            for kind in kinds
        ]
        currencies.append({"currency": currency, "rows": rows})
    return render(
        request,
        "campaigns/attribution.html",
        {
            "currencies": currencies,
            "days": days,
            "models": [ATTRIBUTION_MODEL_NAMES[model] for model in reports.ATTRIBUTION_MODELS],
            "store": reports.store_purchases_after_online_touch(since=since, until=until),
        },
    )


@staff_member_required
@permission_required("campaigns.add_campaign", raise_exception=True)
def campaign_new(request):
    """Draft a campaign with its variants and, optionally, schedule it."""
    form = forms.CampaignForm(request.POST or None)
    variants = forms.VariantFormSet(request.POST or None, prefix="variants")
    if request.method == "POST" and form.is_valid() and variants.is_valid():
        options = dict(form.cleaned_data)
        send_at = options.pop("send_at")
        in_customer_time_zone = options.pop("in_customer_time_zone")
        try:
            with transaction.atomic():
                campaign = drafts.create_campaign(**options, variants=variants.drafts)
                if send_at:
                    launch.schedule_campaign(
                        campaign, send_at, in_customer_time_zone=in_customer_time_zone
                    )
        except DomainError as error:
            for field, problems in (error.fields or {"__all__": [error.message]}).items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            if send_at:
                messages.success(request, _("Campaign scheduled."))
            else:
                messages.success(request, _("Campaign saved as a draft."))
            return redirect("campaigns:campaign-detail", pk=campaign.pk)
    return render(request, "campaigns/campaign_form.html", {"form": form, "variants": variants})


# --- registries ----------------------------------------------------------------------------


def dashboard_context(request):
    return {
        "campaigns_sending": Campaign.objects.filter(
            status__in=(CampaignStatus.SENDING, CampaignStatus.TESTING)
        ).count(),
        "campaigns_sent": Campaign.objects.filter(status=CampaignStatus.SENT).count(),
        "active_runs": Journey.objects.filter(runs__status=RunStatus.ACTIVE).count(),
    }


def customer_panel_context(request, customer):
    return {"messages": messages_of(customer), "coupons": coupons_of(customer)}


def loyalty_panel_context(request, customer):
    return {
        "summary": loyalty_of(customer),
        "entries": list(loyalty_entries_of(customer, limit=10)),
        "referrals_made": credited_referrals_of(customer),
    }
