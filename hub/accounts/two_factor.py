"""Two-factor sign-in (TOTP, django-otp): required for site and hub administrators, optional for clinicians.

Signing in with the password opens a session that is not yet *verified*; until the second step (a code from
the authenticator app) every page sends the user to it, and the APIs and websockets treat the session as
unverified (403 / refused). Administrators who have no authenticator yet are sent to enrol one first.
Bearer tokens are unaffected: they are issued to accounts by an administrator, not typed in.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.middleware import OTPMiddleware as _OTPMiddleware
from django_otp.plugins.otp_totp.models import TOTPDevice

from hub.accounts.constants import Role

# Paths an unverified session may still use: the two steps themselves, signing out, the language, assets.
_NOT_ENROLLED = "hub_two_factor_not_enrolled"  # session key: this user had no authenticator when it was asked
_OPEN_PREFIXES = ("/login/", "/logout/", "/account/two-factor/", "/i18n/", "/static/", "/healthz", "/livez")


def two_factor_required(user) -> bool:
    """Administrators (superusers, staff, site administrators) must sign in with a second factor."""
    if not getattr(settings, "HUB_TWO_FACTOR_REQUIRED_FOR_ADMINS", True):
        return False
    return bool(user.is_superuser or user.is_staff or user.role == Role.SITE_ADMIN)


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def two_factor_pending(user, session) -> bool:
    """Whether this signed-in session still owes its second step."""
    persistent_id = session.get(DEVICE_ID_SESSION_KEY) if session is not None else None
    if persistent_id:
        from django_otp.models import Device

        device = Device.from_persistent_id(persistent_id, for_verify=False)
        if device is not None and device.user_id == user.pk and device.confirmed:
            return False  # verified in this session, with a device that still exists
    if two_factor_required(user):
        return True
    if session is not None and session.get(_NOT_ENROLLED) == user.pk:
        return False  # asked once per session: enrolling later applies from the next sign-in
    enrolled = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    if session is not None and not enrolled:
        session[_NOT_ENROLLED] = user.pk
    return enrolled


def next_step_url(user, next_url: str = "") -> str:
    name = "web:login-two-factor" if confirmed_device(user) else "web:two-factor"
    url = reverse(name)
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


class TwoFactorMiddleware:
    """After ``OTPMiddleware``: a session that owes its second step reaches nothing else."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return self.get_response(request)  # no session, no second step owed (and the session stays unread)
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and getattr(request, "auth_method", None) != "token"
            and not request.path.startswith(_OPEN_PREFIXES)
            and not user.is_verified()
            and two_factor_pending(user, request.session)
        ):
            return self._refuse(request, user)
        return self.get_response(request)

    def _refuse(self, request, user):
        message = _("Finish signing in with your authenticator code first.")
        if request.path.startswith("/fhir"):
            body = {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": "security", "diagnostics": message}],
            }
            return JsonResponse(body, status=403, content_type="application/fhir+json")
        if request.path.startswith(("/api/", "/federation/", "/o/", "/metrics")) or request.method != "GET":
            return JsonResponse({"error": "two_factor_required", "detail": message}, status=403)
        return redirect(next_step_url(user, request.get_full_path()))


class OTPMiddleware(_OTPMiddleware):
    """django-otp's, except that a bearer-token request reads no session (it has none, nor a second factor): its
    answer stays as cacheable as before (no ``Vary: Cookie``), and the FHIR fast path answers it alike."""

    def _verify_user_sync(self, request, user):
        if getattr(request, "auth_method", None) == "token":
            self._init_user_fields(user)
            return user
        return super()._verify_user_sync(request, user)
