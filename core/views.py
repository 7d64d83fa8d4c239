"""Core staff pages (home dashboard, channels) and the health endpoint."""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.contrib.auth.views import LoginView
from django.http import JsonResponse
from django.shortcuts import render
from django.views import defaults
from django.views.decorators.cache import never_cache

from core.api.errors import api_not_found, api_server_error
from core.selectors import channel_summary, health
from core.staff_ui import panels_for


class StaffLoginView(LoginView):
    """The one login page of staff pages and the admin (the admin's login redirects here).
    Only staff accounts may log in; a signed-in staff member is sent on to `next`."""

    authentication_form = AdminAuthenticationForm

    @property
    def redirect_authenticated_user(self):
        return self.request.user.is_staff


@staff_member_required
def home(request):
    return render(request, "core/home.html", {"panels": panels_for(request), **channel_summary()})


@staff_member_required
@permission_required("core.view_channel", raise_exception=True)
def channels(request):
    return render(request, "core/channels.html", channel_summary())


@never_cache
def healthz(request):
    healthy, checks = health()
    return JsonResponse(
        {"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503
    )


def page_not_found(request, exception):
    if request.path.startswith("/api/"):
        return api_not_found(request, exception)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return api_server_error(request)
    return defaults.server_error(request)
