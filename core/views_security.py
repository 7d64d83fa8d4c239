"""The two-factor page: enrol an authenticator app (QR code, recovery codes shown once) or
prove the second factor for this session. See core.account_security for who must."""

import base64

from django import forms
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from core.account_security import (
    confirm_authenticator,
    needs_second_factor,
    qr_code_data_uri,
    safe_next,
)

ENROL_KEY = "two_factor_enrol_key"


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text"}),
    )

    def clean_code(self):
        return "".join(self.cleaned_data["code"].split())


@staff_member_required
def two_factor(request):
    user = request.user
    if user_has_device(user, confirmed=True):
        return _verify(request, user)
    return _enrol(request, user)


def _verify(request, user):
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(user, form.cleaned_data["code"])
        if device is not None:
            otp_login(request, device)
            return redirect(safe_next(request))
        form.add_error(
            "code", _("That code is not valid. Try the current one, or a recovery code.")
        )
    return render(
        request,
        "core/two_factor.html",
        {"form": form, "mode": "verify", "next": safe_next(request), "required": True},
    )


def _enrol(request, user):
    """The key is drawn once per session and kept there until the code proves the phone has
    it: showing the page writes nothing; the device is stored when it is confirmed."""
    key = request.session.get(ENROL_KEY) or random_hex(20)
    request.session[ENROL_KEY] = key
    device = TOTPDevice(user=user, key=key, name=_("Authenticator app"), confirmed=False)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if TOTP(device.bin_key, device.step, device.t0, device.digits).verify(
            int(form.cleaned_data["code"]) if form.cleaned_data["code"].isdigit() else -1,
            tolerance=device.tolerance,
        ):
            codes = confirm_authenticator(user, device)
            request.session.pop(ENROL_KEY, None)
            otp_login(request, device)
            return render(
                request,
                "core/two_factor_recovery_codes.html",
                {"codes": codes, "next": safe_next(request)},
            )
        form.add_error(
            "code", _("That code is not valid. Check the time on your phone and try again.")
        )
    return render(
        request,
        "core/two_factor.html",
        {
            "form": form,
            "mode": "enrol",
            "next": safe_next(request),
            "required": needs_second_factor(user),
            "qr_code": qr_code_data_uri(device.config_url),
            "secret": base64.b32encode(device.bin_key).decode(),
        },
    )
