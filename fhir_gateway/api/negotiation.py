"""Formats, request bodies and responses (http://hl7.org/fhir/R4/http.html#mime-type).

JSON only: ``application/fhir+json`` (and ``application/json``). Anything else asked for through
``_format`` or ``Accept`` gets 406; a body in another format gets 415; an oversized one 413.
"""

from __future__ import annotations

import orjson
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from django.utils.http import http_date, parse_http_date_safe
from django.utils.translation import gettext as _

from fhir_gateway.errors import FhirError

FHIR_JSON = "application/fhir+json"
JSON_TYPES = frozenset({"application/fhir+json", "application/json", "application/json+fhir", "json"})
ANY_TYPES = frozenset({"*/*", "application/*"})
PATCH_TYPES = frozenset({"application/json-patch+json", "application/merge-patch+json"})
FORM = "application/x-www-form-urlencoded"


def _media_types(header: str) -> list[str]:
    return [part.split(";", 1)[0].strip().lower() for part in header.split(",") if part.strip()]


def response_type(request) -> str:
    """The content type to answer with, or 406 when the client accepts no JSON."""
    requested = request.GET.get("_format")
    if requested is not None:
        if requested.strip().lower() not in JSON_TYPES:
            raise FhirError(
                406,
                _("Format %(format)r is not supported; use application/fhir+json") % {"format": requested},
                code="not-supported",
            )
        return FHIR_JSON
    accepted = accepted_type(request.headers.get("Accept", ""))
    if accepted is None:
        raise FhirError(406, _("Only application/fhir+json is served"), code="not-supported")
    return accepted


def accepted_type(accept: str) -> str | None:
    """The JSON type to answer an ``Accept`` header with, or ``None`` when it accepts no JSON."""
    accepted = _media_types(accept)
    if not accepted or any(t in JSON_TYPES or t in ANY_TYPES or t == "text/html" for t in accepted):
        return "application/json" if accepted and accepted[0] == "application/json" else FHIR_JSON
    return None


def body_bytes(request, *, limit: int | None = None) -> bytes:
    limit = limit or settings.FHIR_MAX_BODY_BYTES
    length = request.META.get("CONTENT_LENGTH") or "0"
    if length.isdigit() and int(length) > limit:
        raise FhirError(413, _("The body is larger than %(limit)s bytes") % {"limit": limit}, code="too-costly")
    try:
        body = request.body
    except RequestDataTooBig:
        raise FhirError(
            413, _("The body is larger than %(limit)s bytes") % {"limit": limit}, code="too-costly"
        ) from None
    if len(body) > limit:
        raise FhirError(413, _("The body is larger than %(limit)s bytes") % {"limit": limit}, code="too-costly")
    return body


def body_json(request, *, patch: bool = False) -> object:
    """The request's JSON body; 415 for another content type, 400 for malformed JSON."""
    content_type = _media_types(request.META.get("CONTENT_TYPE", "")) or [""]
    allowed = PATCH_TYPES | JSON_TYPES if patch else JSON_TYPES
    if content_type[0] not in allowed:
        expected = "application/json-patch+json" if patch else FHIR_JSON
        raise FhirError(
            415,
            _("Content-Type %(type)r is not supported; send %(expected)s")
            % {"type": content_type[0], "expected": expected},
            code="not-supported",
        )
    body = body_bytes(request)
    if not body.strip():
        raise FhirError(400, _("The request body is empty"), code="required")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise FhirError(400, _("The body is not valid JSON: %(error)s") % {"error": error}, code="structure") from None


def pretty(request) -> bool:
    return request.GET.get("_pretty", "").lower() == "true"


def render(
    request, payload: dict | str | bytes | None, *, status: int = 200, headers: dict | None = None
) -> HttpResponse:
    """A FHIR JSON response; ``payload`` may be stored JSON text (served as is unless ``_pretty``)."""
    content_type = getattr(request, "fhir_response_type", FHIR_JSON)
    if payload is None:
        body = b""
    elif pretty(request):
        data = orjson.loads(payload) if isinstance(payload, str | bytes) else payload
        body = orjson.dumps(data, option=orjson.OPT_INDENT_2)
    elif isinstance(payload, str):
        body = payload.encode()
    elif isinstance(payload, bytes):
        body = payload
    else:
        body = orjson.dumps(payload)
    response = HttpResponse(body, status=status, content_type=f"{content_type}; charset=utf-8")
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def version_headers(version_id: str | int, last_updated) -> dict[str, str]:
    headers = {"ETag": f'W/"{version_id}"'}
    if last_updated is not None:
        headers["Last-Modified"] = http_date(last_updated.timestamp())
    return headers


def not_modified(stored, if_none_match: str | None, if_modified_since: str | None) -> bool:
    """Conditional read (http://hl7.org/fhir/R4/http.html#cread): If-None-Match, If-Modified-Since."""
    if if_none_match is not None:
        tags = (f'W/"{stored.version_id}"', f'"{stored.version_id}"', "*")
        return any(tag.strip() in tags for tag in if_none_match.split(","))
    if not if_modified_since:
        return False
    since = parse_http_date_safe(if_modified_since)
    return since is not None and int(stored.last_updated.timestamp()) <= since


def prefer(request, name: str) -> str | None:
    """A token of the ``Prefer`` header (``return``, ``handling``), e.g. ``minimal``."""
    for part in request.headers.get("Prefer", "").split(","):
        key, _sep, value = part.strip().partition("=")
        if key.strip().lower() == name:
            return value.strip().strip('"').lower()
    return None
