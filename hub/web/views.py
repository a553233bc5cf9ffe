from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

_API_PREFIXES = ("/api/", "/fhir", "/healthz")


def _wants_json(request) -> bool:
    return request.path.startswith(_API_PREFIXES) or "json" in request.headers.get("Accept", "")


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
    if request.path.startswith("/fhir"):
        body = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "fatal", "code": "exception", "diagnostics": _("Internal error.")}],
        }
        return JsonResponse(body, status=500, content_type="application/fhir+json")
    if _wants_json(request):
        return JsonResponse({"error": "server_error", "detail": _("Internal error.")}, status=500)
    return render(request, "web/error.html", {"status": 500, "message": _("Internal error.")}, status=500)
