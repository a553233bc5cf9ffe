"""Structural validation of one resource against its R4B model (http://hl7.org/fhir/R4/validation.html)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pydantic
from django.utils.translation import gettext as _
from fhir.resources import R4B

from fhir_gateway.errors import FhirError

ID_PATTERN = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
MAX_ISSUES = 50


# A resource model is a class deriving from Resource or DomainResource in its own module. Reading the
# modules' text finds them without importing all 140 models (seconds of pydantic schema building).
_RESOURCE_CLASS = re.compile(r"^class (\w+)\((?:domainresource\.DomainResource|resource\.Resource)\):", re.M)


@cache
def resource_types() -> tuple[str, ...]:
    """Every resource type the R4B models know, sorted (the storable types)."""
    names = set()
    for module in Path(R4B.__file__).parent.glob("*.py"):
        names.update(_RESOURCE_CLASS.findall(module.read_text(encoding="utf-8")))
    return tuple(sorted(names - {"Resource", "DomainResource"}))


@cache
def _type_set() -> frozenset[str]:
    return frozenset(resource_types())


def is_resource_type(name: str) -> bool:
    return name in _type_set()


@cache
def required_elements(resource_type: str) -> frozenset[str]:
    """The JSON names of ``resource_type``'s top-level elements with a minimum cardinality of 1 or more.

    From the R4B model's field definitions (the R4 StructureDefinitions' ``min``): a required field, a
    primitive marked ``element_required``, or every variant of a required choice (``medication[x]``).
    Unknown types have none. For ``_summary`` (http://hl7.org/fhir/R4/search.html#summary).
    """
    if not is_resource_type(resource_type):
        return frozenset()
    names = set()
    for key, field in R4B.get_fhir_model_class(resource_type).model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if not extra.get("element_property"):
            continue
        if field.is_required() or extra.get("element_required") or extra.get("one_of_many_required"):
            names.add(field.alias or key)
    return frozenset(names)


def _expression(resource_type: str, loc: tuple) -> str:
    path = resource_type
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(part, str) and part and "[" not in part and " " not in part:
            path += "." + part.rstrip("_")
    return path


def resource_check(resource: object, *, expected_type: str | None = None) -> str:
    """Raise a 400 ``FhirError`` (one issue per problem, with element paths) unless ``resource`` is valid.

    Returns the resource type. The content itself is stored as sent (plus ``meta``), not as re-serialised.
    """
    if not isinstance(resource, dict):
        raise FhirError(400, _("The body must be a JSON object holding a FHIR resource"), code="structure")
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str) or not resource_type:
        raise FhirError(400, _("The resource has no resourceType"), code="required", expression=["resourceType"])
    if not is_resource_type(resource_type):
        raise FhirError(
            400,
            _("Unknown resource type %(type)r") % {"type": resource_type},
            code="not-supported",
            expression=["resourceType"],
        )
    if expected_type is not None and resource_type != expected_type:
        raise FhirError(
            400,
            _("resourceType %(type)r does not match the URL's type %(expected)r")
            % {"type": resource_type, "expected": expected_type},
            code="invalid",
            expression=["resourceType"],
        )
    resource_id = resource.get("id")
    if resource_id is not None and (not isinstance(resource_id, str) or not ID_PATTERN.match(resource_id)):
        raise FhirError(
            400, _("The resource id is not a valid FHIR id"), code="value", expression=[f"{resource_type}.id"]
        )
    model = R4B.get_fhir_model_class(resource_type)
    try:
        model.model_validate(resource)
    except pydantic.ValidationError as error:
        issues = [
            {
                "severity": "error",
                "code": "structure" if item["type"] == "extra_forbidden" else "value",
                "diagnostics": f"{_expression(resource_type, item['loc'])}: {item['msg']}",
                "expression": [_expression(resource_type, item["loc"])],
            }
            for item in error.errors(include_url=False)[:MAX_ISSUES]
        ]
        raise FhirError(400, _("The resource is not valid FHIR R4"), issues=issues) from None
    except (ValueError, TypeError) as error:  # raised by some validators outside pydantic's wrapping
        raise FhirError(
            400, _("The resource is not valid FHIR R4: %(error)s") % {"error": error}, code="value"
        ) from None
    return resource_type
