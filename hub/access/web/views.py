"""The access pages: a patient's record (with the break-the-glass form when it is closed to the clinician)
and the site administrators' review of emergency accesses. Thin: each reads through the rules or calls one
service; a refused action becomes a message on the page."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fhir_gateway import services as fhir
from fhir_gateway.errors import FhirError
from hub.access import break_glass
from hub.access.constants import ReviewStatus
from hub.access.grants import open_grants
from hub.access.patients import patient_visible
from hub.accounts.fhir import actor_of
from hub.api_errors import DomainError


def _record(user, fhir_id: str) -> list[dict]:
    """The patient's compartment as ``user`` may read it (``$everything``: the gateway's rules, audited)."""
    try:
        bundle = fhir.patient_everything(
            fhir_id=fhir_id, params=[("_count", "200")], actor=actor_of(user), base_url=settings.FEDERATION_HUB_BASE_URL
        )
    except FhirError:
        return []
    return [e["resource"] for e in bundle.get("entry") or [] if isinstance(e.get("resource"), dict)]


@login_required
def patient_record(request, patient_id: str):
    """A patient's record if the user may see it; else, for an emergency clinician, the form to break the
    glass (shown alike whether or not the patient exists); else nothing (404)."""
    patient_ref = f"Patient/{patient_id}"
    user = request.user
    if request.method == "POST":
        if not break_glass.break_glass_allowed(user):
            raise Http404(_("No such patient."))
        try:
            break_glass.break_glass_open(user=user, patient_ref=patient_ref, reason=request.POST.get("reason", ""))
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.warning(request, _("Emergency access opened. It is recorded and will be reviewed."))
        return redirect("access-web:patient", patient_id=patient_id)
    if patient_visible(user, patient_ref):
        resources = _record(user, patient_id)
        patient = next((r for r in resources if r.get("resourceType") == "Patient" and r.get("id") == patient_id), {})
        emergency = open_grants(user).filter(patient_ref=patient_ref, reason="break_glass").order_by("-expires_at")
        context = {
            "patient_ref": patient_ref,
            "patient": patient,
            "records": [r for r in resources if r is not patient],
            "emergency": emergency.first(),
        }
        return render(request, "access/patient.html", context)
    if not break_glass.break_glass_allowed(user):
        raise Http404(_("No such patient."))
    context = {"patient_ref": patient_ref, "minutes": break_glass.break_glass_minutes()}
    return render(request, "access/break_glass.html", context)


@login_required
def reviews(request):
    """Emergency accesses to the site's patients, for its administrators to confirm or report."""
    try:
        grants = break_glass.break_glass_reviews(user=request.user, status=request.GET.get("status", ""))
    except DomainError as exc:
        return render(request, "access/forbidden.html", {"message": exc.message}, status=exc.status)
    context = {"grants": grants[:200], "statuses": ReviewStatus.choices, "status": request.GET.get("status", "")}
    return render(request, "access/reviews.html", context)


@login_required
@require_POST
def review(request, grant_id: int):
    try:
        break_glass.break_glass_review(
            user=request.user,
            grant_id=grant_id,
            decision=request.POST.get("decision", ""),
            note=request.POST.get("note", ""),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Review recorded."))
    return redirect("access-web:reviews")
