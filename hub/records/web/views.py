"""The record's own endpoints: reveal a patient's identifiers, one record as the record shows it, a record's file.

Thin: each asks a selector or a service (which ask hub.access and read through the gateway as the user,
audited); whatever the user may not see is a 404, the same as what does not exist.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from hub.api_errors import NotFoundError
from hub.records import selectors, services
from hub.records.terms import clinical_word

# Files served inline (a browser shows them); anything else is a download.
INLINE_TYPES = (
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/gif",
    "text/plain",
    "application/dicom",
)


@login_required
@require_POST
def reveal(request, patient_id: str):
    """The patient's identifiers in full, asked for by pressing "show" (audited)."""
    patient_ref = f"Patient/{patient_id}"
    try:
        identifiers = services.identifiers_reveal(user=request.user, patient_ref=patient_ref)
    except NotFoundError as exc:
        return JsonResponse({"error": exc.code, "detail": exc.message}, status=404)
    response = JsonResponse({"patient": patient_ref, "identifiers": identifiers})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def item(request, resource_type: str, fhir_id: str):
    """One record as the record shows it: a page of its own (what a request's attachment links to), or with
    ``X-Fragment: record`` the fragment alone."""
    record = selectors.record_item_or_none(user=request.user, reference=f"{resource_type}/{fhir_id}")
    if record is None:
        raise Http404(_("No such record."))
    context = {"record": record, "ref": f"{resource_type}/{fhir_id}", "kind": clinical_word(resource_type)}
    if request.headers.get("X-Fragment") == "record":  # a page that shows it in place asks for the fragment only
        return render(request, "records/_item.html", context)
    return render(request, "records/item_page.html", context)


@login_required
@require_GET
def content(request, resource_type: str, fhir_id: str, index: int):
    """A record's file (a document's PDF, an image, a DICOM instance), read as the user."""
    found = selectors.record_content_or_none(user=request.user, reference=f"{resource_type}/{fhir_id}", index=index)
    if found is None:
        raise Http404(_("No such file."))
    body, content_type, title = found
    inline = content_type in INLINE_TYPES
    response = HttpResponse(body, content_type=content_type if inline else "application/octet-stream")
    response["Content-Disposition"] = "inline" if inline else "attachment"
    response["Cache-Control"] = "private, max-age=600"
    response["X-Content-Type-Options"] = "nosniff"
    if content_type != "application/pdf":  # a sandbox would stop the browser's PDF viewer
        response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


@login_required
@require_GET
def instance(request, fhir_id: str, index: int):
    """One DICOM instance of a study, fetched from the site's DICOMweb server (WADO-RS) through the hub."""
    found = selectors.study_instance_or_none(user=request.user, study_ref=f"ImagingStudy/{fhir_id}", index=index)
    if found is None:
        raise Http404(_("No such file."))
    response = HttpResponse(found, content_type="application/dicom")
    response["Cache-Control"] = "private, max-age=600"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response
