"""Parsing a batch/transaction Bundle's entries into requests (http://hl7.org/fhir/R4/bundle.html)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import orjson
from django.utils.translation import gettext as _

from fhir_gateway import validation
from fhir_gateway.errors import FhirError

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
# The order a transaction processes its entries in (http://hl7.org/fhir/R4/http.html#trules).
ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}


@dataclass
class Entry:
    index: int
    method: str
    resource_type: str
    fhir_id: str | None = None
    version_id: str | None = None
    query: str | None = None  # conditional criteria or search parameters
    resource: dict | None = None
    full_url: str | None = None
    if_none_exist: str | None = None
    if_match: str | None = None
    patch: list | dict | None = None

    @property
    def where(self) -> str:
        return f"Bundle.entry[{self.index}]"


def entry_error(index: int, error: FhirError) -> FhirError:
    """``error`` with the entry's position prepended to each issue."""
    where = f"Bundle.entry[{index}]"
    issues = [
        {
            **issue,
            "diagnostics": f"{where}: {issue.get('diagnostics', '')}",
            "expression": issue.get("expression") or [where],
        }
        for issue in error.issues
    ]
    return FhirError(error.status, f"{where}: {error.diagnostics}", issues=issues)


def _fail(index: int, message: str, *, status: int = 400) -> FhirError:
    return FhirError(status, f"Bundle.entry[{index}]: {message}", code="invalid", expression=[f"Bundle.entry[{index}]"])


def envelope_check(bundle: object) -> tuple[str, list]:
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise FhirError(400, _("The body must be a Bundle"), code="invalid", expression=["Bundle"])
    kind = bundle.get("type")
    if kind not in ("batch", "transaction"):
        raise FhirError(400, _("Only batch and transaction Bundles can be posted here"), expression=["Bundle.type"])
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise FhirError(400, _("Bundle.entry must be an array"), code="structure", expression=["Bundle.entry"])
    validation.envelope_check(bundle)  # the Bundle's own rules (bdl-*); each entry's in entry_parse
    return kind, entries


def entry_parse(index: int, raw: object, base_url: str) -> Entry:
    if not isinstance(raw, dict) or not isinstance(raw.get("request"), dict):
        raise _fail(index, _("each entry needs a request"))
    validation.entry_check(index, raw)
    request = raw["request"]
    method, url = request.get("method"), request.get("url")
    if method not in METHODS or not isinstance(url, str) or not url:
        raise _fail(index, _("request.method and request.url are required"))
    base = base_url.rstrip("/") + "/"
    if url.startswith(base):
        url = url[len(base) :]
    path, _sep, query = url.lstrip("/").partition("?")
    parts = path.split("/") if path else []
    if not parts or not validation.is_resource_type(parts[0]):
        raise _fail(index, _("request.url %(url)r does not name a known resource type") % {"url": url})
    entry = Entry(index, "GET" if method == "HEAD" else method, parts[0], query=query or None)
    if len(parts) >= 2 and parts[1] != "_search":
        entry.fhir_id = parts[1]
    if len(parts) == 4 and parts[2] == "_history":
        entry.version_id = parts[3]
    elif len(parts) > 2 or (len(parts) == 2 and parts[1] == "_search" and method != "GET"):
        raise _fail(index, _("request.url %(url)r is not supported in a Bundle") % {"url": url})
    entry.full_url = raw.get("fullUrl") if isinstance(raw.get("fullUrl"), str) else None
    for name in ("ifNoneExist", "ifMatch", "ifNoneMatch", "ifModifiedSince"):
        if request.get(name) is not None and not isinstance(request[name], str):
            raise _fail(index, _("request.%(name)s must be a string") % {"name": name})
    entry.if_none_exist = request.get("ifNoneExist")
    entry.if_match = request.get("ifMatch")
    resource = raw.get("resource")
    if entry.method in ("POST", "PUT"):
        if not isinstance(resource, dict):
            raise _fail(index, _("a %(method)s entry needs a resource") % {"method": entry.method})
        if resource.get("resourceType") != entry.resource_type:
            raise _fail(index, _("the resource's type differs from request.url"))
        if entry.method == "POST" and entry.fhir_id:
            raise _fail(index, _("POST goes to the type, not to an id"))
        if entry.method == "PUT" and not entry.fhir_id and not entry.query:
            raise _fail(index, _("PUT needs an id or search criteria"))
        if entry.method == "PUT" and entry.fhir_id and resource.get("id") != entry.fhir_id:
            raise _fail(index, _("the resource's id differs from request.url"))
        entry.resource = resource
    elif entry.method == "PATCH":
        entry.patch = _patch_body(index, resource)
        if not entry.fhir_id:
            raise _fail(index, _("PATCH needs an id"))
    elif entry.method == "DELETE" and not entry.fhir_id and not entry.query:
        raise _fail(index, _("DELETE needs an id or search criteria"))
    return entry


def _patch_body(index: int, resource: object) -> list | dict:
    """A FHIRPath Patch (a Parameters resource), or a JSON Patch carried in a Binary."""
    if isinstance(resource, dict) and resource.get("resourceType") == "Parameters":
        return resource
    if not isinstance(resource, dict) or resource.get("resourceType") != "Binary":
        raise _fail(index, _("a PATCH entry needs a Parameters (FHIRPath Patch) or a Binary holding a JSON Patch"))
    try:
        operations = orjson.loads(base64.b64decode(resource.get("data", ""), validate=True))
    except (binascii.Error, ValueError, TypeError):
        raise _fail(index, _("the Binary's data is not a base64 JSON Patch")) from None
    if not isinstance(operations, list):
        raise _fail(index, _("a JSON Patch must be an array"))
    return operations
