"""Resources generated from the SearchParameter definitions, and an independent oracle for them.

For each resource type, ``resources(type)`` builds resources that carry a value at the path of every
parameter of the type (the element's FHIR type comes from fhirpathpy's R4 model), with values that
differ between resources k=1..3 and an almost empty resource k=0. ``oracle_nodes`` evaluates a
parameter's expression with fhirpathpy (not with the gateway's compiled extractors), and
``oracle_match`` decides a search value against those nodes in plain Python.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from fhirpathpy import evaluate as fhirpath_evaluate
from fhirpathpy.models import models

from fhir_gateway.search.definitions import SearchParam

MODEL = models["r4"]
PATH_TYPES, CHOICES = MODEL["path2Type"], MODEL["choiceTypePaths"]
LISTED = """Patient Practitioner PractitionerRole Organization Location Endpoint HealthcareService Encounter
EpisodeOfCare Observation Condition Procedure MedicationRequest MedicationStatement AllergyIntolerance Immunization
DiagnosticReport DocumentReference ImagingStudy Media ServiceRequest Task Communication CommunicationRequest
Appointment Consent Composition Device Provenance AuditEvent Subscription CarePlan""".split()
WORDS = ["alpha", "Bravo", "Zoë", "delta"]
PREFERRED = {
    "reference": ("Reference", "Canonical"),
    "date": ("DateTime", "Period", "Date", "Instant"),
    "quantity": ("Quantity", "Age", "Range"),
    "string": ("String",),
    "token": ("CodeableConcept", "Coding", "Identifier", "Boolean"),
    "uri": ("Uri", "Url", "Canonical"),
}
_RESOLVE = re.compile(r"where\(resolve\(\) is (\w+)\)")


def _value(kind: str, k: int, target: str):
    word = WORDS[k % len(WORDS)]
    year = 2015 + k
    simple = {
        "boolean": k % 2 == 1,
        "date": f"{year}-03-0{k}",
        "dateTime": f"{year}-03-0{k}T10:00:00Z",
        "instant": f"{year}-03-0{k}T10:00:00Z",
        "decimal": k + 0.5,
        "integer": k,
        "positiveInt": k,
        "unsignedInt": k,
        "uri": f"http://example.org/{word}/{k}",
        "url": f"http://example.org/{word}/{k}",
        "canonical": f"http://example.org/canonical/{k}",
        "oid": f"urn:oid:1.2.{k}",
        "uuid": f"urn:uuid:00000000-0000-0000-0000-00000000000{k}",
    }
    if kind in simple:
        return simple[kind]
    quantity = {"value": k + 0.5, "system": "http://unitsofmeasure.org", "code": "mg", "unit": "mg"}
    coding = {"system": "http://example.org/cs", "code": f"c{k}", "display": f"Display {word}"}
    complex_ = {
        "Coding": coding,
        "CodeableConcept": {"coding": [coding], "text": f"text {word}"},
        "Identifier": {"system": "http://example.org/id", "value": f"id-{k}"},
        "ContactPoint": {"system": "phone", "value": f"555-000{k}"},
        "HumanName": {"family": f"{word}son", "given": [f"{word}ina"]},
        "Address": {
            "line": [f"{k} Main St"],
            "city": f"{word}ville",
            "state": "ZJ",
            "postalCode": f"3100{k}",
            "country": "CN",
            "use": "home",
        },
        "Reference": {"reference": f"{target}/t{k}"},
        "Quantity": quantity,
        "Age": quantity,
        "Duration": quantity,
        "Distance": quantity,
        "Count": quantity,
        "SimpleQuantity": quantity,
        "Money": {"value": k + 0.5, "currency": "CNY"},
        "Period": {"start": f"{year}-04-01", "end": f"{year}-04-20"},
        "Timing": {"event": [f"{year}-05-0{k}"]},
        "Range": {"low": quantity, "high": {**quantity, "value": k + 5.5}},
        "Attachment": {"url": f"http://example.org/attachment/{k}", "contentType": "text/plain"},
    }
    return complex_.get(kind, f"{word}{k}")  # code, string, id, markdown...


def _place(resource: dict, param: SearchParam, k: int) -> None:
    path = param.paths[0]
    target = param.targets[0] if param.targets else "Patient"
    node, context = resource, path.root
    steps = list(path.steps)
    for index, step in enumerate(steps):
        last = index == len(steps) - 1
        if step[0] == "resolve_is":
            target = step[1]
            continue
        if step[0] == "where_eq":
            continue
        if step[0] == "choice":
            preferred = PREFERRED.get(param.type, ())
            kinds = sorted(
                [kind for kind in step[2] if kind not in ("SampledData", "Ratio")] or list(step[2]),
                key=lambda kind: kind not in preferred,
            )
            key, kind = step[1] + kinds[0], kinds[0]
            kind = kind[:1].lower() + kind[1:] if kind in ("DateTime", "String", "Boolean", "Integer", "Time") else kind
            child_context = kind
        else:
            key = step[1]
            child_context = f"{context}.{key}" if context else key
            kind = PATH_TYPES.get(child_context, "string")
        following = steps[index + 1] if index + 1 < len(steps) else None
        rest_is_filter = all(s[0] in ("where_eq", "resolve_is") for s in steps[index + 1 :])
        if following and following[0] == "where_eq" and rest_is_filter:
            value = (
                _value(kind, k, target)
                if not isinstance(_value(kind, k, target), dict)
                else dict(_value(kind, k, target))
            )
            value[following[1]] = following[2]
            existing = node.get(key)
            node[key] = ([*existing] if isinstance(existing, list) else [existing] if existing else []) + [value]
            return
        if last or rest_is_filter:
            if step[1] == "position" and path.root == "Location":
                node.setdefault(key, {"latitude": 30 + k, "longitude": 120 + k})
            else:
                for filter_step in steps[index + 1 :]:
                    if filter_step[0] == "resolve_is":
                        target = filter_step[1]
                node.setdefault(key, _value(kind, k, target))
            return
        child = node.setdefault(key, {})
        if isinstance(child, list):
            child = child[0]
        if not isinstance(child, dict):
            return
        node = child
        if kind and kind[:1].isupper() and kind not in ("BackboneElement", "Element"):
            context = kind
        else:
            context = MODEL["pathsDefinedElsewhere"].get(child_context, child_context)


def resources(resource_type: str, param: SearchParam) -> list[dict]:
    """An empty resource (k=0) and three (k=1..3) with different values for ``param`` only."""
    out = [{"resourceType": resource_type, "id": f"{resource_type.lower()}-0"}]
    for k in (1, 2, 3):
        resource = {"resourceType": resource_type, "id": f"{resource_type.lower()}-{k}"}
        if param.type == "composite":
            _place_composite(resource, param, k)
        else:
            _place(resource, param, k)
        out.append(resource)
    return out


def _place_composite(resource: dict, param: SearchParam, k: int) -> None:
    root = param.paths[0]
    node = resource
    for step in root.steps:
        if step[0] == "field":
            child = node.setdefault(step[1], [{}])
            node = child[0] if isinstance(child, list) else child
    for component in param.components:
        fake = SearchParam(
            code=param.code,
            type=component.type,
            url="",
            description="",
            expression=None,
            paths=tuple(_rooted(path, root.root) for path in component.paths[:1]),
        )
        context = ".".join([root.root, *(step[1] for step in root.steps)])
        _place_into(node, fake, k, context)


def _rooted(path, root: str):
    from fhir_gateway.search.fhirpath import Path

    return Path(root, path.steps)


def _place_into(node: dict, param: SearchParam, k: int, root: str) -> None:
    step = param.paths[0].steps[0]
    if step[0] == "choice":
        kind = step[2][0]
        kind = kind[:1].lower() + kind[1:] if kind in ("DateTime", "String") else kind
        node.setdefault(step[1] + step[2][0], _value(kind, k, "DocumentReference"))
    else:
        kind = PATH_TYPES.get(f"{root}.{step[1]}", "CodeableConcept")
        node.setdefault(step[1], _value(kind, k, "DocumentReference"))


def composite_pairs(param: SearchParam, resource: dict) -> list[tuple]:
    """(first node, second node) under each context node of composite ``param`` (fhirpathpy for the roots)."""
    pairs = []
    for root in fhirpath_evaluate(resource, param.expression, {}, MODEL):
        first, second = param.components
        one = root.get(first.expression)
        step = second.paths[0].steps[0]
        two = root.get(step[1] + step[2][0]) if step[0] == "choice" else root.get(step[1])
        if one is not None and two is not None:
            pairs.append((one, two))
    return pairs


def oracle_nodes(param: SearchParam, resource: dict) -> list:
    expression = _RESOLVE.sub(lambda m: f"where(reference.startsWith('{m.group(1)}/'))", param.expression or "")
    # fhirpathpy does not treat a Patient as a ``Resource`` root: name the type itself
    expression = re.sub(r"^(Resource|DomainResource)\.", f"{resource['resourceType']}.", expression)
    return fhirpath_evaluate(resource, expression, {}, MODEL)


def norm(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def first_value(kind: str, node):
    """A search value that ``node`` matches (``None`` when the node has nothing searchable)."""
    if kind == "token":
        if isinstance(node, bool):
            return "true" if node else "false"
        if isinstance(node, str | int):
            return str(node)
        if isinstance(node, dict):
            coding = (node.get("coding") or [node])[0]
            if coding.get("code"):
                return f"{coding.get('system')}|{coding['code']}" if coding.get("system") else coding["code"]
            if node.get("value") is not None and not isinstance(node["value"], int | float | Decimal):
                return str(node["value"])
    if kind == "string":
        if isinstance(node, str):
            return node[:3]
        if isinstance(node, dict):
            parts = [node.get("family"), node.get("city"), *(node.get("line") or [])]
            return next((part[:3] for part in parts if isinstance(part, str)), None)
    if kind == "date":
        text = node if isinstance(node, str) else (node.get("start") if isinstance(node, dict) else None)
        if isinstance(node, dict) and node.get("event"):
            text = node["event"][0]
        return text[:4] if isinstance(text, str) else None
    if kind == "reference" and isinstance(node, dict) and node.get("reference"):
        return node["reference"]
    if kind == "reference" and isinstance(node, str):
        return node
    if kind == "quantity" and isinstance(node, dict) and isinstance(node.get("value"), int | float | Decimal):
        return f"{node['value']}|{node.get('system', '')}|{node.get('code') or node.get('currency') or ''}"
    if kind == "quantity" and isinstance(node, dict) and isinstance(node.get("low"), dict):
        return first_value(kind, node["low"])
    if kind == "uri" and isinstance(node, str):
        return node
    if kind == "uri" and isinstance(node, dict) and node.get("url"):
        return node["url"]
    if kind == "number" and isinstance(node, int | float | Decimal):
        return str(node)
    return None


def oracle_match(kind: str, value: str, node) -> bool:
    """Does ``node`` match ``value`` (a value ``first_value`` produced) under the R4 rules."""
    if kind in ("token", "reference", "uri", "number"):
        return first_value(kind, node) == value or (
            kind == "token"
            and isinstance(node, dict)
            and any(first_value(kind, coding) == value for coding in node.get("coding") or ())
        )
    if kind == "string":
        texts = [node] if isinstance(node, str) else [v for v in _strings(node)]
        return any(norm(text).startswith(norm(value)) for text in texts)
    if kind == "date":
        if isinstance(node, str):
            return node.startswith(value)
        if isinstance(node, dict) and ("start" in node or "end" in node):
            return all(isinstance(node.get(e), str) and node[e].startswith(value) for e in ("start", "end"))
        if isinstance(node, dict):
            return any(event.startswith(value) for event in node.get("event") or ())
    if kind == "quantity":
        if isinstance(node, dict) and ("low" in node or "high" in node):
            return any(oracle_match(kind, value, node.get(b)) for b in ("low", "high") if isinstance(node.get(b), dict))
        return first_value(kind, node) == value
    return False


def _strings(node) -> list[str]:
    if not isinstance(node, dict):
        return []
    out = []
    for value in node.values():
        out.extend(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str))
    return out
