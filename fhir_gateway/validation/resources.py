"""The validator's entry points: every write (create, update, patch, Bundle entries, sync) calls ``resource_check``.

``resource_check`` refuses a resource with any error (400, one issue per problem); ``resource_issues``
returns everything ``$validate`` reports (errors, warnings, and what is not checked, as information).
Batch and transaction envelopes are checked by ``envelope_check`` (the Bundle's own elements and
invariants) and ``entry_check`` (one entry's ``request``, ``fullUrl``...; its resource is checked by the
write it makes).
"""

from __future__ import annotations

import dataclasses
import re
from functools import cache

from fhir_gateway.errors import FhirError
from fhir_gateway.validation import definitions
from fhir_gateway.validation.checker import Checker, Context
from fhir_gateway.validation.messages import issue, message

ID_PATTERN = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


@definitions.built_once
def checker() -> Checker:
    """The validator, built once per process (tables read, invariants compiled)."""
    return Checker(definitions.definitions())


def warm_up() -> None:
    """Build the validator now (the server's start-up), not on the first write."""
    checker()


def resource_types() -> tuple[str, ...]:
    """Every R4 resource type, sorted (the storable types)."""
    return definitions.definitions().resources


def is_resource_type(name: str) -> bool:
    return name in definitions.resource_type_set()


@cache
def required_elements(resource_type: str) -> frozenset[str]:
    """The JSON names of ``resource_type``'s top-level elements with a minimum cardinality of 1 or more
    (every variant of a required choice). Unknown types have none. For ``_summary``
    (http://hl7.org/fhir/R4/search.html#summary)."""
    if not is_resource_type(resource_type):
        return frozenset()
    tdef = definitions.definitions().types[resource_type]
    return frozenset(key for element, keys in tdef.required for key in keys if not key.startswith("_"))


def _envelope(resource: object, expected_type: str | None) -> tuple[str | None, dict | None]:
    """What must hold before the walk: a JSON object of a known type (the URL's, when given)."""
    if not isinstance(resource, dict):
        return None, issue("error", "structure", message("not-a-resource"), None, "not-a-resource")
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str) or not resource_type:
        return None, issue("error", "required", message("no-resource-type"), "resourceType", "no-resource-type")
    if not is_resource_type(resource_type):
        text = message("unknown-type", type=resource_type[:80])
        return None, issue("error", "not-supported", text, "resourceType", "unknown-type")
    if expected_type is not None and resource_type != expected_type:
        text = message("type-mismatch", type=resource_type[:80], expected=expected_type)
        return None, issue("error", "invalid", text, "resourceType", "type-mismatch")
    resource_id = resource.get("id")
    if resource_id is not None and (not isinstance(resource_id, str) or not ID_PATTERN.match(resource_id)):
        return None, issue("error", "value", message("bad-id"), f"{resource_type}.id", "bad-id")
    return resource_type, None


def resource_issues(resource: object, *, expected_type: str | None = None, full: bool = True) -> list[dict]:
    """Every issue of ``resource``: errors, and with ``full`` warnings and information too."""
    resource_type, problem = _envelope(resource, expected_type)
    if problem is not None:
        return [problem]
    context = Context(full=full)
    checker().resource(resource, resource_type, context)
    return context.issues


def resource_check(resource: object, *, expected_type: str | None = None) -> str:
    """Raise a 400 ``FhirError`` (one issue per problem, with its location) unless ``resource`` is valid R4.

    Returns the resource type. The content itself is stored as sent (plus ``meta``), not as re-serialised.
    """
    resource_type, problem = _envelope(resource, expected_type)
    if problem is not None:
        raise FhirError(400, problem["diagnostics"], issues=[problem])
    context = Context(full=False)
    checker().resource(resource, resource_type, context)
    if context.errors:
        raise FhirError(400, _summary(context.issues), issues=context.issues)
    return resource_type


def _summary(issues: list[dict]) -> str:
    first = issues[0]
    where = (first.get("expression") or [""])[0]
    return f"{where}: {first['diagnostics']}" if where else first["diagnostics"]


@definitions.built_once
def _bundle_without_invariants() -> definitions.TypeDef:
    return dataclasses.replace(checker().types["Bundle"], invariants=[])  # the checker's: its elements are complete


def envelope_check(bundle: dict) -> None:
    """The rules of a posted batch or transaction Bundle itself (its elements, ``bdl-*``); 400 if broken."""
    context = Context(full=False, shallow=True)
    context.env["resource"] = context.env["rootResource"] = bundle
    own = {key: value for key, value in bundle.items() if key != "entry"}
    checker().object(own, _bundle_without_invariants(), "Bundle", context)  # entries: entry_check, one by one
    checker().invariants(definitions.definitions().types["Bundle"].invariants, bundle, "Bundle", context)
    if context.errors:
        raise FhirError(400, _summary(context.issues), issues=context.issues)


def entry_check(index: int, entry: object) -> None:
    """One entry of a posted batch or transaction (its request, fullUrl...; not its resource)."""
    if not isinstance(entry, dict):
        return  # the Bundle parser reports it
    where = f"Bundle.entry[{index}]"
    context = Context(full=False, shallow=True)
    checker().object(entry, definitions.definitions().types["Bundle.entry"], where, context)
    if context.errors:
        raise FhirError(400, _summary(context.issues), issues=context.issues)


def profile_validate(resource: object, reference: str) -> list[dict]:
    """The issues of ``resource`` against the stored profile ``reference`` (``$validate``'s ``profile``)."""
    from fhir_gateway.validation.profiles import profile_issues, profile_load

    if not isinstance(resource, dict) or not is_resource_type(resource.get("resourceType") or ""):
        return []
    profile = profile_load(reference)
    if profile is None:
        return [
            issue("error", "not-found", message("profile-unknown", profile=reference[:200]), None, "profile-unknown")
        ]
    return profile_issues(resource, profile, reference=reference)


def ok_issue(message_id: str = "all-ok") -> dict:
    """The information issue of a validation that found nothing wrong."""
    return issue("information", "informational", message(message_id), None, message_id)
