"""FHIR R4 validation to the letter of the specification (http://hl7.org/fhir/R4/validation.html).

Tables generated from the HL7 R4 definitions (``data/r4.json``) drive one walk over each resource's JSON:
structure, cardinality, primitives, bindings, invariants (FHIRPath compiled once), narrative, Bundle
rules. Every write goes through ``resource_check``; ``$validate`` reports ``resource_issues``.
"""

from fhir_gateway.validation.resources import (
    ID_PATTERN,
    entry_check,
    envelope_check,
    is_resource_type,
    ok_issue,
    profile_validate,
    required_elements,
    resource_check,
    resource_issues,
    resource_types,
    warm_up,
)

__all__ = [
    "ID_PATTERN",
    "entry_check",
    "envelope_check",
    "is_resource_type",
    "ok_issue",
    "profile_validate",
    "required_elements",
    "resource_check",
    "resource_issues",
    "resource_types",
    "warm_up",
]
