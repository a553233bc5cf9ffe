"""The federation's HTTP entry points: the push intake, ``Patient/$match`` and the sites' health.

Thin: parse, call one service, render; FHIR errors become OperationOutcomes in the gateway's handler.
"""

from __future__ import annotations

import orjson
from django.http import JsonResponse
from django.utils.translation import gettext as _

from federation.hooks import SITE_HEALTH, endpoint_allowed
from federation.identity.match_operation import patient_match
from federation.sites.health import health_of
from federation.sites.sync_config import SiteSync
from federation.sync.push import bundle_intake
from federation.sync.record_view import patient_record_view
from fhir_gateway.api.handler import base_url, fhir_view
from fhir_gateway.api.negotiation import render
from fhir_gateway.errors import FhirError


def _body(request) -> dict:
    try:
        body = orjson.loads(request.body or b"null")
    except orjson.JSONDecodeError:
        raise FhirError(400, _("The body is not valid JSON."), code="structure") from None
    if not isinstance(body, dict):
        raise FhirError(400, _("The body must be a FHIR resource."), code="structure")
    return body


@fhir_view(("POST",))
def push(request):
    """``POST /federation/fhir``: a site system's batch or transaction Bundle."""
    response = bundle_intake(bundle=_body(request), actor=request.fhir_actor, base_url=base_url(request))
    return render(request, response, status=200)


@fhir_view(("POST",))
def match(request):
    """``POST /fhir/Patient/$match`` (http://hl7.org/fhir/R4/patient-operation-match.html)."""
    bundle = patient_match(parameters=_body(request), actor=request.fhir_actor, base_url=base_url(request))
    return render(request, bundle, status=200)


@fhir_view(("GET",))
def record_view(request, patient_id: str):
    """``GET /federation/patients/<id>/record``: the live record (调阅), or the synced copy and its age."""
    view = patient_record_view(patient_id=patient_id, actor=request.fhir_actor)
    headers = {"X-Record-Source": view.source, "X-Record-Age": str(view.age_seconds())}
    return render(request, view.bundle(), status=200, headers=headers)


def sites_health(request):
    """``GET /federation/sites/health``: every site's sync state, lag and recent errors (whom the hub's rules
    allow: ``hooks.SITE_HEALTH``)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return JsonResponse({"error": "not_authenticated", "detail": _("Sign in first.")}, status=401)
    if not endpoint_allowed(request, SITE_HEALTH):
        return JsonResponse({"error": "forbidden", "detail": _("Site administrators only.")}, status=403)
    syncs = SiteSync.objects.select_related("site").order_by("site__code")
    return JsonResponse({"sites": [health_of(sync) for sync in syncs]})
