"""Core staff pages (home dashboard, channels) and the health endpoint."""

import sys

from django.contrib import messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.contrib.auth.views import LoginView
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.cache import never_cache

from core.api.errors import (
    RETRY_AFTER_SECONDS,
    api_not_found,
    api_server_error,
    failure_of,
    json_error,
    log_failure,
)
from core.charts import DashboardFilterForm, chart_csv, filter_form, wants_csv
from core.forms import StaffPreferencesForm
from core.middleware import failure_response
from core.models import StaffPreferences
from core.selectors import channel_summary, health
from core.services.preferences import set_display_preferences
from core.staff_ui import charts_for, panels_for


class StaffLoginView(LoginView):
    """The one login page of staff pages and the admin (the admin's login redirects here).
    Only staff accounts may log in; a signed-in staff member is sent on to `next`."""

    authentication_form = AdminAuthenticationForm

    @property
    def redirect_authenticated_user(self):
        return self.request.user.is_staff


@staff_member_required
def home(request):
    """Today's figures of each area, and the charts of the areas the role may see, over the
    period and channel of the URL's filter form (`?since=&until=&channel=`). `?format=csv&
    chart=<key>` downloads one chart's figures."""
    form = filter_form(DashboardFilterForm, request)
    charts = []
    if form.is_valid():
        charts = charts_for(request, {**form.cleaned_data, "days": form.days()})
        if wants_csv(request):
            chart = next((c for c in charts if c.key == request.GET.get("chart")), None)
            if chart is None:
                raise Http404(_("No such chart on this page."))
            return chart_csv(chart, f"dashboard-{chart.key}")
    return render(
        request,
        "core/home.html",
        {
            "panels": panels_for(request),
            "filter_form": form,
            "charts": [chart.context(request) for chart in charts],
            **channel_summary(),
        },
        status=400 if form.errors else 200,
    )


@staff_member_required
@permission_required("core.view_channel", raise_exception=True)
def channels(request):
    return render(request, "core/channels.html", channel_summary())


@staff_member_required
def display_preferences(request):
    """The staff member's own calendar and digits (core.l10n shows dates and numbers so)."""
    current = StaffPreferences.objects.filter(user=request.user).first()
    form = StaffPreferencesForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        set_display_preferences(
            request.user,
            calendar=form.cleaned_data["calendar"],
            digits=form.cleaned_data["digits"],
        )
        messages.success(request, _("Display preferences saved."))
        return redirect("display-preferences")
    return render(
        request,
        "core/display_preferences.html",
        {"form": form},
        status=400 if form.is_bound else 200,
    )


@never_cache
def healthz(request):
    """`/healthz` (or `/healthz?ready`, for load balancers): every check, 503 with Retry-After
    when one this deployment needs fails. `/healthz?live`, for liveness probes: the process
    answers, and touches no database, cache or broker, so a missing service never gets it
    restarted."""
    if "live" in request.GET:
        return JsonResponse({"status": "ok", "checks": {}})
    healthy, checks = health()
    if healthy:
        return JsonResponse({"status": "ok", "checks": checks})
    # A load balancer or partner polling readiness waits as long as any other 503 asks.
    return JsonResponse(
        {"status": "error", "checks": checks},
        status=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def bad_request(request, exception):
    """handler400: a request Django itself refuses before any view (too many query or form
    fields, a body past DATA_UPLOAD_MAX_MEMORY_SIZE, a malformed header). Under /api/ it is
    the API's error object, as every other 4xx there."""
    if request.path.startswith("/api/"):
        return json_error(
            "malformed_request",
            f"The request could not be read: {exception}",
            400,
        )
    return defaults.bad_request(request, exception)


def page_not_found(request, exception):
    if request.path.startswith("/api/"):
        return api_not_found(request, exception)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """handler500: what escaped a view or a middleware. A missing service or work already
    committed answer as ServiceFailureMiddleware does (503 / 202); only a bug that
    committed nothing is the 500 whose message says "not applied"."""
    exception = sys.exc_info()[1]
    failure = failure_of(request, exception) if exception is not None else None
    if failure is not None:
        log_failure(request, exception, failure)
        return failure_response(request, failure)
    if request.path.startswith("/api/"):
        return api_server_error(request)
    return defaults.server_error(request)
