"""The CapabilityStatement, generated from what the gateway implements (http://hl7.org/fhir/R4/capabilitystatement.html).

Types are the R4 resource types the validator knows (all 146 concrete ones, each served alike), search
parameters come from the search engine, interactions and operations from the services that implement
them; other apps add what they serve through ``hooks.capability_contributors`` (the federation: its
``Patient/$match`` and the SMART ``security``). Nothing here is a hand-kept list of features.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from functools import cache, lru_cache

from fhir_gateway import hooks, services, validation
from fhir_gateway.search import engine

# Each interaction code with the service implementing it; one missing from services is not announced.
TYPE_INTERACTIONS = {
    "read": "resource_read",
    "vread": "resource_vread",
    "update": "resource_update",
    "patch": "resource_patch",
    "delete": "resource_delete",
    "history-instance": "resource_history",
    "history-type": "resource_history",
    "create": "resource_create",
    "search-type": "resource_search",
}
SYSTEM_INTERACTIONS = {
    "transaction": "bundle_process",
    "batch": "bundle_process",
    "search-system": "resource_search",
    "history-system": "resource_history",
}
OPERATIONS = {
    # name: (definition, service, types or None for every type)
    "validate": ("http://hl7.org/fhir/OperationDefinition/Resource-validate", "resource_validate", None),
    "everything": ("http://hl7.org/fhir/OperationDefinition/Patient-everything", "patient_everything", {"Patient"}),
    "export": ("http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export", None, {"Patient"}),
}
# Bulk Data Access (fhir_gateway.bulk): system-level and Group-level $export.
SYSTEM_OPERATIONS = [{"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"}]
GROUP_EXPORT = {"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"}
STARTED = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _implemented(table: dict[str, str]) -> list[dict]:
    return [{"code": code} for code, function in table.items() if callable(getattr(services, function, None))]


def _resource(resource_type: str) -> dict:
    provider = hooks.virtual_types.get(resource_type)
    if provider is not None:  # served read-only by another app
        entry = {"type": resource_type, "interaction": [{"code": "read"}, {"code": "vread"}, {"code": "search-type"}]}
        if getattr(provider, "search_parameters", None):
            entry["searchParam"] = [dict(parameter) for parameter in provider.search_parameters]
        entry["operation"] = [{"name": "validate", "definition": OPERATIONS["validate"][0]}]  # takes any type
        return entry
    entry = {
        "type": resource_type,
        "interaction": _implemented(TYPE_INTERACTIONS),
        "versioning": "versioned-update",
        "readHistory": True,
        "updateCreate": True,
        "conditionalCreate": True,
        "conditionalRead": "full-support",
        "conditionalUpdate": True,
        "conditionalDelete": "single",
        "referencePolicy": ["literal", "logical"],
    }
    parameters = [
        {key: value for key, value in parameter.items() if key in ("name", "definition", "type", "documentation")}
        for parameter in engine.supported_parameters(resource_type)
    ]
    if parameters:
        entry["searchParam"] = parameters
    operations = [
        {"name": name, "definition": definition}
        for name, (definition, function, types) in OPERATIONS.items()
        if (function is None or callable(getattr(services, function, None)))
        and (types is None or resource_type in types)
    ]
    if resource_type == "Group":
        operations.append(dict(GROUP_EXPORT))
    if operations:
        entry["operation"] = operations
    return entry


@cache
def _rest() -> dict:
    return {
        "mode": "server",
        "resource": [_resource(name) for name in validation.resource_types()],
        "interaction": _implemented(SYSTEM_INTERACTIONS),
        "operation": [dict(operation) for operation in SYSTEM_OPERATIONS],
    }


def capability_statement(*, base_url: str) -> dict:
    return copy.deepcopy(_statement(base_url))


@lru_cache(maxsize=16)
def _statement(base_url: str) -> dict:
    rest = copy.deepcopy(_rest())
    for contributor in hooks.capability_contributors:
        contributor(rest, base_url=base_url)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": STARTED,
        "publisher": "Alliance Hub",
        "kind": "instance",
        "software": {"name": "Alliance Hub FHIR gateway"},
        "implementation": {"description": "Alliance Hub FHIR R4 endpoint", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        # JSON Patch, JSON Merge Patch, and FHIRPath Patch (a Parameters resource, as FHIR JSON)
        "patchFormat": ["application/json-patch+json", "application/merge-patch+json", "application/fhir+json"],
        "rest": [rest],
    }
