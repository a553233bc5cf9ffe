from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from hub.accounts.pins import signing_pin_is_set, signing_pin_set
from hub.api_errors import DomainError

_API_PREFIXES = ("/api/", "/fhir", "/healthz")


def _wants_json(request) -> bool:
    return request.path.startswith(_API_PREFIXES) or "json" in request.headers.get("Accept", "")


class SigningPinForm(forms.Form):
    password = forms.CharField(
        label=_lazy("Your password"), widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    pin = forms.CharField(
        label=_lazy("New signing PIN (6 digits)"),
        widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "new-password"}),
    )
    pin_again = forms.CharField(
        label=_lazy("The PIN again"),
        widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "new-password"}),
    )


@login_required
def profile(request):
    """The person's profile: who they are, and the PIN they sign opinions with (clinicians)."""
    form = SigningPinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if not request.user.check_password(data["password"]):
            form.add_error("password", _("The password is not right."))
        elif data["pin"] != data["pin_again"]:
            form.add_error("pin_again", _("The two PINs differ."))
        else:
            try:
                signing_pin_set(user=request.user, pin=data["pin"])
            except DomainError as exc:
                form.add_error("pin", exc.message)
            else:
                messages.success(request, _("Your signing PIN was set."))
                return redirect("web:profile")
    return render(request, "web/profile.html", {"form": form, "pin_set": signing_pin_is_set(request.user)})


@login_required
def home(request):
    return render(request, "web/home.html", {"user": request.user})


def not_found(request, exception=None):
    if request.path.startswith("/fhir"):
        body = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "not-found", "diagnostics": _("No such endpoint.")}],
        }
        return JsonResponse(body, status=404, content_type="application/fhir+json")
    if _wants_json(request):
        return JsonResponse({"error": "not_found", "detail": _("No such endpoint.")}, status=404)
    return render(request, "web/error.html", {"status": 404, "message": _("Page not found.")}, status=404)


def server_error(request):
    import sys

    from hub.api_errors import database_unavailable

    if database_unavailable(sys.exc_info()[1]):  # Django calls this while handling the exception
        return _unavailable(request)
    if request.path.startswith("/fhir"):
        body = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "fatal", "code": "exception", "diagnostics": _("Internal error.")}],
        }
        return JsonResponse(body, status=500, content_type="application/fhir+json")
    if _wants_json(request):
        return JsonResponse({"error": "server_error", "detail": _("Internal error.")}, status=500)
    return render(request, "web/error.html", {"status": 500, "message": _("Internal error.")}, status=500)


def _unavailable(request):
    """The database is unreachable: 503 with Retry-After, in the form the caller reads (never a 500)."""
    message = _("The database is not reachable at the moment; try again shortly.")
    headers = {"Retry-After": "5"}
    if request.path.startswith("/fhir"):
        body = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "transient", "diagnostics": message}],
        }
        return JsonResponse(body, status=503, content_type="application/fhir+json", headers=headers)
    if _wants_json(request):
        return JsonResponse({"error": "unavailable", "detail": message}, status=503, headers=headers)
    # A plain page: rendering the site's template could need the database (the session, the user).
    return HttpResponse(f"<!doctype html><title>503</title><p>{message}</p>", status=503, headers=headers)
