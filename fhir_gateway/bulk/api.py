"""``$export`` kick-off, status and files over HTTP (https://hl7.org/fhir/uv/bulkdata/STU2/export.html)."""

from __future__ import annotations

from urllib.parse import parse_qsl

import orjson
from django.http import FileResponse, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from fhir_gateway.api.handler import actor_resolve, base_url, fhir_view
from fhir_gateway.api.negotiation import render
from fhir_gateway.bulk import services
from fhir_gateway.bulk.storage import export_storage
from fhir_gateway.errors import FhirError, Unauthorized


def _params(request) -> list[tuple[str, str]]:
    """Kick-off parameters from the query (GET) or a ``Parameters`` body (POST)."""
    params = list(parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True))
    if request.method == "POST" and request.body:
        try:
            body = orjson.loads(request.body)
        except orjson.JSONDecodeError:
            raise FhirError(400, _("The body is not JSON"), code="invalid") from None
        if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
            raise FhirError(400, _("A POST kick-off carries a Parameters resource"), code="invalid")
        for parameter in body.get("parameter") or []:
            if not isinstance(parameter, dict) or not isinstance(parameter.get("name"), str):
                raise FhirError(400, _("Each parameter has a name"), code="invalid")
            value = next((v for k, v in parameter.items() if k.startswith("value")), None)
            if not isinstance(value, str):
                raise FhirError(
                    400, _("Parameter %(name)s needs a string value") % {"name": parameter["name"]}, code="invalid"
                )
            params.append((parameter["name"], value))
    return params


def _kickoff(request, level: str, group_id: str | None = None):
    job = services.export_kickoff(
        actor=request.fhir_actor,
        level=level,
        params=_params(request),
        prefer=request.headers.get("Prefer", ""),
        request_url=request.build_absolute_uri(),
        group_id=group_id,
    )
    location = f"{base_url(request)}/$export-poll-status/{job.uid}"
    return render(request, None, status=202, headers={"Content-Location": location})


@fhir_view(("GET", "POST"))
def system_export(request):
    return _kickoff(request, "system")


@fhir_view(("GET", "POST"))
def patient_export(request):
    return _kickoff(request, "patient")


@fhir_view(("GET", "POST"))
def group_export(request, fhir_id: str):
    return _kickoff(request, "group", fhir_id)


@fhir_view(("GET", "DELETE"))
def export_status(request, uid: str):
    if request.method == "DELETE":
        services.export_cancel(actor=request.fhir_actor, uid=uid)
        return render(request, None, status=202)
    status, headers, body = services.export_status(actor=request.fhir_actor, uid=uid, base_url=base_url(request))
    response = render(request, body, status=status, headers=headers)
    if body is not None:
        response["Content-Type"] = "application/json"  # the manifest is plain JSON (Bulk Data Access)
    return response


@csrf_exempt
def export_file(request, uid: str, name: str):
    """An NDJSON file, streamed; only to the requester (errors as OperationOutcome)."""
    try:
        if request.method != "GET":
            raise FhirError(405, _("Only GET"), code="not-supported", headers={"Allow": "GET"})
        actor = actor_resolve(request)
        if not actor.is_authenticated:
            raise Unauthorized(_("Authentication is required"))
        found = services.export_file(actor=actor, uid=uid, name=name)
        handle = export_storage().open(found.name, "rb")
    except FhirError as error:
        response = HttpResponse(
            orjson.dumps(error.outcome()), status=error.status, content_type="application/fhir+json"
        )
        for header, value in error.headers.items():
            response[header] = value
        return response
    response = FileResponse(handle, content_type=services.NDJSON)
    response["Content-Length"] = str(found.size)
    return response
