"""The second sign-in step and enrolling an authenticator app (TOTP), as pages."""

from __future__ import annotations

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from hub.accounts.two_factor import confirmed_device, two_factor_required


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return "/"


def _code(request) -> str:
    return "".join(ch for ch in request.POST.get("code", "") if ch.isdigit())[:8]


@login_required
@require_http_methods(["GET", "POST"])
def login_two_factor(request):
    """The second step: a code from the user's authenticator app (wrong codes slow down: django-otp throttles)."""
    device = confirmed_device(request.user)
    if device is None:
        return redirect("web:two-factor")
    error = ""
    if request.method == "POST":
        allowed, _detail = device.verify_is_allowed()
        if allowed and device.verify_token(_code(request)):
            otp_login(request, device)
            return redirect(_next(request))
        error = (
            _("That code is not right, or came too late. Try the current one.")
            if allowed
            else _("Too many wrong codes: wait a moment before the next try.")
        )
    return render(request, "accounts/login_two_factor.html", {"next": _next(request), "error": error}, status=200)


@login_required
@require_http_methods(["GET", "POST"])
def two_factor(request):
    """Enrol an authenticator app (a QR code to scan, then one code to confirm), or remove it (clinicians)."""
    user = request.user
    device = confirmed_device(user)
    required = two_factor_required(user)
    if device is not None:
        if request.method == "POST" and request.POST.get("action") == "remove" and not required:
            if user.is_verified():
                TOTPDevice.objects.filter(user=user).delete()
                messages.success(request, _("Two-factor sign-in is off."))
                return redirect("web:two-factor")
        return render(request, "accounts/two_factor.html", {"device": device, "required": required})
    pending = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if pending is None:
        pending = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    error = ""
    if request.method == "POST":
        if pending.verify_token(_code(request)):
            pending.confirmed = True
            pending.save(update_fields=["confirmed"])
            otp_login(request, pending)
            messages.success(request, _("Two-factor sign-in is on."))
            return redirect(_next(request))
        error = _("That code is not right. Scan the code again or type the key, then try the current code.")
    qr = segno.make(pending.config_url, error="m")
    context = {
        "qr_svg": qr.svg_inline(scale=4, title=_("Authenticator QR code")),
        "secret": _grouped(pending.config_url),
        "required": required,
        "error": error,
        "next": _next(request),
    }
    return render(request, "accounts/two_factor_enrol.html", context)


def _grouped(config_url: str) -> str:
    from urllib.parse import parse_qs, urlsplit

    secret = parse_qs(urlsplit(config_url).query).get("secret", [""])[0]
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
