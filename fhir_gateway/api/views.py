"""FHIR REST views: parse, call one service, render (http://hl7.org/fhir/R4/http.html)."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.utils.translation import gettext as _

from fhir_gateway import capability, services
from fhir_gateway.api.handler import base_url, fhir_view, id_check
from fhir_gateway.api.negotiation import (
    FORM,
    body_bytes,
    body_json,
    not_modified,
    prefer,
    pretty,
    render,
    version_headers,
)
from fhir_gateway.errors import FhirError
from fhir_gateway.search.bundle import shape

READ_PARAMS = frozenset({"_format", "_pretty", "_summary", "_elements"})
OK_OUTCOME = {"resourceType": "OperationOutcome", "issue": [{"severity": "information", "code": "informational"}]}


def _params(request) -> list[tuple[str, str]]:
    return [(name, value) for name, values in request.GET.lists() for value in values]


def _criteria(request) -> str | None:
    """Search criteria in the query string, leaving out the format parameters."""
    params = [(name, value) for name, value in _params(request) if name not in READ_PARAMS]
    return urlencode(params) if params else None


def _strict(request) -> bool:
    return prefer(request, "handling") == "strict"


def _write_response(request, result: services.WriteResult):
    headers = {}
    if result.version_id:
        headers["ETag"] = f'W/"{result.version_id}"'
    if result.location:
        headers["Location"] = f"{base_url(request)}/{result.location}"
    if result.last_updated:
        headers.update(version_headers(result.version_id, datetime.fromisoformat(result.last_updated)))
    wanted = prefer(request, "return") or "representation"
    if result.resource is None or wanted == "minimal":
        return render(request, None, status=result.status, headers=headers)
    if wanted == "operationoutcome":
        outcome = {
            **OK_OUTCOME,
            "issue": [{**OK_OUTCOME["issue"][0], "diagnostics": f"{result.status} {result.location}"}],
        }
        return render(request, outcome, status=result.status, headers=headers)
    return render(request, result.text or result.resource, status=result.status, headers=headers)


@fhir_view(("GET", "POST"))
def base(request):
    actor = request.fhir_actor
    if request.method == "POST":
        bundle = body_json(request)
        response = services.bundle_process(
            bundle=bundle, actor=actor, base_url=base_url(request), prefer=prefer(request, "return") or "minimal"
        )
        return render(request, response)
    bundle = services.resource_search(
        resource_type=None,
        params=_params(request),
        actor=actor,
        base_url=base_url(request),
        strict=_strict(request),
        raw=not pretty(request),
    )
    return render(request, bundle)


@fhir_view(("GET",), public=True)
def metadata(request):
    return render(request, capability.capability_statement(base_url=base_url(request)))


def _history(request, resource_type=None, fhir_id=None):
    bundle = services.resource_history(
        resource_type=resource_type,
        fhir_id=fhir_id,
        actor=request.fhir_actor,
        params=_params(request),
        base_url=base_url(request),
    )
    return render(request, bundle)


@fhir_view(("GET",))
def system_history(request):
    return _history(request)


@fhir_view(("GET",))
def type_history(request, resource_type):
    return _history(request, resource_type)


@fhir_view(("GET",))
def instance_history(request, resource_type, fhir_id):
    id_check(fhir_id)
    return _history(request, resource_type, fhir_id)


@fhir_view(("GET", "POST", "PUT", "DELETE"))
def type_root(request, resource_type):
    services.type_check(resource_type)
    actor = request.fhir_actor
    query = _criteria(request)
    if request.method == "GET":
        return _search(request, resource_type, _params(request))
    if request.method == "POST":
        resource = body_json(request)
        if isinstance(resource, dict) and resource.get("resourceType") != resource_type:
            raise FhirError(400, _("resourceType does not match the URL"), expression=["resourceType"])
        # Conditional create: the If-None-Exist header, or (as fhirpy and Aidbox send it) the query string.
        criteria = request.headers.get("If-None-Exist") or _criteria(request)
        result = services.resource_create(resource=resource, actor=actor, if_none_exist=criteria)
        return _write_response(request, result)
    if not query:
        raise FhirError(
            400, _("%(method)s on a type needs search criteria") % {"method": request.method}, code="invalid"
        )
    if request.method == "PUT":
        result = services.resource_conditional_update(
            resource_type=resource_type,
            query=query,
            resource=body_json(request),
            actor=actor,
            if_match=request.headers.get("If-Match"),
        )
        return _write_response(request, result)
    result = services.resource_conditional_delete(resource_type=resource_type, query=query, actor=actor)
    return _write_response(request, result)


def _search(request, resource_type, params):
    bundle = services.resource_search(
        resource_type=resource_type,
        params=params,
        actor=request.fhir_actor,
        base_url=base_url(request),
        strict=_strict(request),
        raw=not pretty(request),  # indented output needs the resources parsed
    )
    return render(request, bundle)


@fhir_view(("POST",))
def type_search(request, resource_type):
    services.type_check(resource_type)
    content_type = request.META.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
    if content_type and content_type != FORM:
        raise FhirError(415, _("POST _search takes application/x-www-form-urlencoded"), code="not-supported")
    body_bytes(request, limit=getattr(settings, "FHIR_SEARCH_MAX_BODY_BYTES", 64 * 1024))  # 413 past it
    params = _params(request) + [(name, value) for name, values in request.POST.lists() for value in values]
    return _search(request, resource_type, params)


def _not_modified(request, stored) -> bool:
    return not_modified(stored, request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since"))


def _read(request, resource_type, fhir_id):
    stored, content = services.resource_read_stored(
        resource_type=resource_type, fhir_id=fhir_id, actor=request.fhir_actor
    )
    headers = version_headers(stored.version_id, stored.last_updated)
    if _not_modified(request, stored):
        return render(request, None, status=304, headers=headers)
    summary, elements = request.GET.get("_summary"), request.GET.get("_elements")
    if summary not in (None, "true", "false", "text", "data"):
        raise FhirError(400, _("_summary must be true, false, text or data"), code="invalid", expression=["_summary"])
    if summary in ("true", "text", "data") or elements:
        # The same shaping as search results (http://hl7.org/fhir/R4/search.html#summary).
        names = [name.strip() for name in elements.split(",") if name.strip()] if elements else None
        return render(request, shape(content, summary, names), headers=headers)
    return render(request, stored.text, headers=headers)


@fhir_view(("GET", "PUT", "PATCH", "DELETE", "POST"))
def instance(request, resource_type, fhir_id):
    if fhir_id.startswith("$"):
        return _operation(request, resource_type, None, fhir_id)
    id_check(fhir_id)
    if request.method == "POST":
        raise FhirError(
            405,
            _("POST goes to the type, not to an id"),
            code="not-supported",
            headers={"Allow": "GET, PUT, PATCH, DELETE"},
        )
    services.type_check(resource_type)
    actor = request.fhir_actor
    if_match = request.headers.get("If-Match")
    if request.method == "GET":
        return _read(request, resource_type, fhir_id)
    if request.method == "PUT":
        resource = body_json(request)
        result = services.resource_update(
            resource_type=resource_type, fhir_id=fhir_id, resource=resource, actor=actor, if_match=if_match
        )
        return _write_response(request, result)
    if request.method == "PATCH":
        operations = body_json(request, patch=True)
        result = services.resource_patch(
            resource_type=resource_type, fhir_id=fhir_id, patch=operations, actor=actor, if_match=if_match
        )
        return _write_response(request, result)
    result = services.resource_delete(resource_type=resource_type, fhir_id=fhir_id, actor=actor, if_match=if_match)
    return _write_response(request, result)


@fhir_view(("GET",))
def vread(request, resource_type, fhir_id, version_id):
    id_check(fhir_id)
    stored, _content = services.resource_vread_stored(
        resource_type=resource_type, fhir_id=fhir_id, version_id=version_id, actor=request.fhir_actor
    )
    return render(request, stored.text, headers=version_headers(stored.version_id, stored.last_updated))


@fhir_view(("GET", "POST"))
def instance_operation(request, resource_type, fhir_id, operation):
    id_check(fhir_id)
    return _operation(request, resource_type, fhir_id, operation)


def _operation(request, resource_type, fhir_id, operation):
    services.type_check(resource_type)
    actor = request.fhir_actor
    if operation == "$validate" and (request.method == "POST" or fhir_id):
        resource, mode, profile = None, request.GET.get("mode"), request.GET.get("profile")
        if request.method == "POST":
            resource = body_json(request)
            if (
                isinstance(resource, dict)
                and resource.get("resourceType") == "Parameters"
                and resource_type != "Parameters"
            ):
                resource, mode, profile = _validate_parameters(resource, mode, profile)
        outcome = services.resource_validate(
            resource=resource, actor=actor, resource_type=resource_type, fhir_id=fhir_id, mode=mode, profile=profile
        )
        failed = any(issue.get("severity") in ("error", "fatal") for issue in outcome["issue"])
        return render(request, outcome, status=400 if failed else 200)
    if operation == "$everything" and resource_type == "Patient" and fhir_id and request.method == "GET":
        bundle = services.patient_everything(
            fhir_id=fhir_id, params=_params(request), actor=actor, base_url=base_url(request)
        )
        return render(request, bundle)
    raise FhirError(
        404,
        _("Operation %(operation)s is not supported on %(type)s with %(method)s")
        % {"operation": operation, "type": resource_type, "method": request.method},
        code="not-supported",
    )


def _validate_parameters(
    body: dict, mode: str | None, profile: str | None
) -> tuple[dict | None, str | None, str | None]:
    resource = None
    for parameter in body.get("parameter") or []:
        if not isinstance(parameter, dict):
            continue
        if parameter.get("name") == "resource":
            resource = parameter.get("resource")
        elif parameter.get("name") == "mode":
            mode = parameter.get("valueCode") or mode
        elif parameter.get("name") == "profile":
            profile = parameter.get("valueUri") or parameter.get("valueCanonical") or profile
    return resource, mode, profile


@fhir_view(("GET", "POST", "PUT", "PATCH", "DELETE"))
def unknown(request, rest):
    raise FhirError(404, _("No FHIR endpoint at %(path)r") % {"path": rest}, code="not-found")
