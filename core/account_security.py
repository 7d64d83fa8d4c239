"""Staff accounts that hold: a second factor (TOTP, with recovery codes) for those who can
reach every customer's data, and an idle timeout for every staff session.

Who needs a second factor (`needs_second_factor`): superusers, Administrators, Support leads
and anyone allowed to erase customers (the permission behind erasure and exports of a whole
profile). With STAFF_SECOND_FACTOR on (the default when DEBUG is off), such a member who has
not proven a second factor in this session is sent to the two-factor page for every staff page
and the admin; API keys are unaffected (partners hold keys, not passwords).

Lockout after repeated failed sign-ins is django-axes' (settings AXES_*): the login form posts
through `authenticate(request=...)`, so the attempts are counted per username.
"""

import base64
import io
import re
import secrets
import time

import qrcode
import qrcode.image.svg
from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth import logout
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

ROLES_WITH_SECOND_FACTOR = ("Administrator", "Support lead")


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check for every sign-in that comes with a request (the login
    page, the admin's). Without one (Django's test client `login()`, a shell) there is no
    address or form to count and nothing to answer with a lockout page: it stands aside."""

    def authenticate(self, request=None, *args, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)


RECOVERY_CODES = 10
# The session's last activity is written at most this often (a write per request would cost
# every page a database write with database sessions).
ACTIVITY_RESOLUTION_SECONDS = 60


def needs_second_factor(user) -> bool:
    if not (user.is_authenticated and user.is_staff):
        return False
    if user.is_superuser or user.has_perm("customers.delete_customer"):
        return True
    return user.groups.filter(name__in=ROLES_WITH_SECOND_FACTOR).exists()


def is_verified(user) -> bool:
    return bool(getattr(user, "is_verified", lambda: False)())


def _exempt(path: str) -> bool:
    prefixes = [
        reverse("two-factor"),
        reverse("login"),
        reverse("logout"),
        "/i18n/",
        "/healthz",
        settings.STATIC_URL,
    ]
    return any(path.startswith(prefix) for prefix in prefixes)


class StaffSessionMiddleware:
    """After authentication and django-otp's middleware: ends idle staff sessions and sends
    those who need a second factor to prove it first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff:
            answer = self._idle(request) or self._second_factor(request, user)
            if answer is not None:
                return answer
        return self.get_response(request)

    def _idle(self, request):
        limit = settings.STAFF_IDLE_TIMEOUT_SECONDS
        if not limit:
            return None
        now = int(time.time())
        last = request.session.get("last_activity")
        if last is not None and now - int(last) > limit:
            logout(request)
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"code": "session_expired", "detail": _("Your session ended: log in again.")},
                    status=401,
                )
            return redirect(f"{reverse('login')}?next={request.get_full_path()}")
        background = re.match(settings.STAFF_IDLE_IGNORED_PATHS, request.path)
        if (last is None or now - int(last) >= ACTIVITY_RESOLUTION_SECONDS) and not background:
            request.session["last_activity"] = now
        return None

    def _second_factor(self, request, user):
        if not settings.STAFF_SECOND_FACTOR or _exempt(request.path):
            return None
        if is_verified(user) or not needs_second_factor(user):
            return None
        if request.path.startswith("/api/"):
            return JsonResponse(
                {
                    "code": "second_factor_required",
                    "detail": _("Prove your second factor on the two-factor page first."),
                },
                status=403,
            )
        return redirect(f"{reverse('two-factor')}?next={request.get_full_path()}")


def safe_next(request, default="home") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(default)


def qr_code_data_uri(text: str) -> str:
    """An SVG QR code of `text` as a data: URI (the page's CSP allows data: images)."""

    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def new_recovery_codes() -> list[str]:
    # 10 characters of base32-like text each: easy to type, 50 bits of entropy.
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return ["".join(secrets.choice(alphabet) for _ in range(10)) for _ in range(RECOVERY_CODES)]


@transaction.atomic
def confirm_authenticator(user, device) -> list[str]:
    """The staff member proved `device` (a new TOTP authenticator): it replaces any other, and
    a fresh set of recovery codes replaces the old ones. Returns the codes, shown once."""
    TOTPDevice.objects.filter(user=user).delete()
    device.confirmed = True
    device.save()
    StaticDevice.objects.filter(user=user).delete()
    recovery = StaticDevice.objects.create(user=user, name=_("Recovery codes"), confirmed=True)
    codes = new_recovery_codes()
    StaticToken.objects.bulk_create([StaticToken(device=recovery, token=code) for code in codes])
    return codes
